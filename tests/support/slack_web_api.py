"""The emulator's Web API methods and the workspace state they change: messages (updated in
place by chat.update), ephemerals, DMs, uploaded files, and the response_url endpoint.

Each method takes the request's parameters and returns the body of a successful answer, or
raises ``SlackError`` as Slack answers (see slack_blocks.py). Authentication, fault injection
and recording happen around it, in ``SlackEmulator`` (tests/support/slack_emulator.py).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from tests.support import slack_blocks, slack_records

JSON = slack_records.JSON
Reply = slack_records.Reply

# Slack accepts at most five posts to one response_url.
MAX_RESPONSE_URL_USES = 5


class Workspace(Protocol):
    """What the methods read from the emulator: scenario knobs tests set, and its addresses."""

    usergroups: dict[str, list[str]]
    users: dict[str, JSON]
    channels_not_joined: set[str]
    channels_not_found: set[str]

    @property
    def base_url(self) -> str: ...

    def socket_connection_url(self) -> str: ...


class WebApi:
    """The Web API methods; ``lock`` is the emulator's condition (see SocketModeServer)."""

    def __init__(
        self,
        workspace: Workspace,
        lock: threading.Condition,
        record_violation: Callable[[slack_records.Violation], None],
    ) -> None:
        self._workspace = workspace
        self._lock = lock
        self._record_violation = record_violation
        # Read by the emulator under the lock.
        self.messages: dict[tuple[str, str], slack_records.Message] = {}
        self.ephemerals: list[JSON] = []
        self.files: dict[str, slack_records.UploadedFile] = {}
        self.responses: list[tuple[str, JSON]] = []
        self._response_urls: dict[str, int] = {}
        self._dms: dict[str, str] = {}
        self._ts_seq = itertools.count(1)

    # ---------------------------------------------------------------- Web API methods

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts_seq):06d}"

    def _resolve_channel(self, params: JSON, key: str = "channel") -> str:
        channel = str(params.get(key) or "")
        if not channel:
            raise slack_blocks.SlackError("channel_not_found")
        if channel in self._workspace.channels_not_found:
            raise slack_blocks.SlackError("channel_not_found", violation=False)
        if channel in self._workspace.channels_not_joined:
            raise slack_blocks.SlackError("not_in_channel", violation=False)
        if channel[0] in "UW":  # posting to a user ID lands in the DM with them
            channel = self._dm_for(channel)
        return channel

    def _dm_for(self, user: str) -> str:
        with self._lock:
            return self._dms.setdefault(user, f"D{len(self._dms) + 1:08d}")

    def _auth_test(self, params: JSON) -> JSON:
        return {
            "url": "https://test.slack.com/",
            "team": "Test Team",
            "user": "myctl",
            "team_id": slack_records.TEAM_ID,
            "user_id": slack_records.BOT_USER_ID,
            "bot_id": slack_records.BOT_ID,
            "is_enterprise_install": False,
        }

    def _message_json(self, m: slack_records.Message) -> JSON:
        return {
            "type": "message",
            "user": slack_records.BOT_USER_ID,
            "bot_id": slack_records.BOT_ID,
            "app_id": slack_records.APP_ID,
            "text": m.text,
            "blocks": m.blocks,
            "ts": m.ts,
        }

    def _chat_post_message(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params)
        text, blocks, attachments = slack_blocks.validate_message(params)
        thread_ts = params.get("thread_ts") or None
        ts = self._new_ts()
        m = slack_records.Message(channel, ts, text, blocks, attachments, thread_ts, time.time())
        with self._lock:
            self.messages[(channel, ts)] = m
        return {"channel": channel, "ts": ts, "message": self._message_json(m)}

    def _chat_update(self, params: JSON) -> JSON:
        channel = str(params.get("channel") or "")
        if not channel:
            raise slack_blocks.SlackError("channel_not_found")
        ts = str(params.get("ts") or "")
        with self._lock:
            m = self.messages.get((channel, ts))
        if m is None:
            raise slack_blocks.SlackError("message_not_found")
        text, blocks, attachments = slack_blocks.validate_message(params)
        with self._lock:
            m.history.append({"text": m.text, "blocks": m.blocks})
            # Slack keeps the old blocks when an update only sends text, and vice versa.
            if "text" in params:
                m.text = text
            if "blocks" in params:
                m.blocks = blocks
            if "attachments" in params:
                m.attachments = attachments
            m.updated_at.append(time.time())
        return {"channel": channel, "ts": ts, "text": m.text, "message": self._message_json(m)}

    def _chat_post_ephemeral(self, params: JSON) -> JSON:
        channel = self._resolve_channel(params)
        user = str(params.get("user") or "")
        if not user:
            raise slack_blocks.SlackError("user_not_in_channel")
        text, blocks, _ = slack_blocks.validate_message(params)
        ts = self._new_ts()
        with self._lock:
            self.ephemerals.append(
                {"channel": channel, "user": user, "text": text, "blocks": blocks, "ts": ts}
            )
        return {"message_ts": ts}

    def _chat_get_permalink(self, params: JSON) -> JSON:
        channel, ts = str(params.get("channel") or ""), str(params.get("message_ts") or "")
        with self._lock:
            known = (channel, ts) in self.messages
        if not known:
            raise slack_blocks.SlackError("message_not_found")
        link = f"https://test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _conversations_open(self, params: JSON) -> JSON:
        if params.get("channel"):
            return {"channel": {"id": params["channel"]}}
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise slack_blocks.SlackError("users_list_not_supplied")
        channel_id = self._dm_for(users[0]) if len(users) == 1 else f"G{'_'.join(sorted(users))}"
        return {"channel": {"id": channel_id, "is_im": len(users) == 1}}

    def _users_info(self, params: JSON) -> JSON:
        user = str(params.get("user") or "")
        if user in self._workspace.users:
            return {"user": self._workspace.users[user]}
        if not user or user[0] not in "UW":
            raise slack_blocks.SlackError("user_not_found", violation=False)
        name = user.lower()
        profile = {"real_name": f"User {user}", "display_name": name}
        return {
            "user": {
                "id": user,
                "team_id": slack_records.TEAM_ID,
                "name": name,
                "real_name": profile["real_name"],
                "deleted": False,
                "is_bot": False,
                "tz": "UTC",
                "profile": profile,
            }
        }

    def _usergroups_users_list(self, params: JSON) -> JSON:
        group = str(params.get("usergroup") or "")
        if group not in self._workspace.usergroups:
            raise slack_blocks.SlackError("no_such_subteam", violation=False)
        return {"users": list(self._workspace.usergroups[group])}

    def _files_get_upload_url(self, params: JSON) -> JSON:
        filename = str(params.get("filename") or "")
        try:
            length = int(params.get("length") or 0)
        except ValueError as exc:
            raise slack_blocks.SlackError("invalid_arguments") from exc
        if not filename or length <= 0:
            raise slack_blocks.SlackError("invalid_arguments")
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        with self._lock:
            self.files[file_id] = slack_records.UploadedFile(file_id, filename, length)
        return {"upload_url": f"{self._workspace.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: JSON) -> JSON:
        entries = slack_blocks.decode_json_field(params, "files")
        if not isinstance(entries, list) or not entries:
            raise slack_blocks.SlackError("invalid_arguments")
        channel = None
        if params.get("channel_id"):
            channel = self._resolve_channel(params, "channel_id")
        done = []
        with self._lock:
            for entry in entries:
                f = self.files.get(str(entry.get("id")))
                if f is None or f.content is None:
                    raise slack_blocks.SlackError("file_not_found")
                f = replace(
                    f,
                    title=entry.get("title") or f.filename,
                    channel_id=channel,
                    initial_comment=params.get("initial_comment"),
                    thread_ts=params.get("thread_ts"),
                    completed=True,
                )
                self.files[f.id] = f
                done.append({"id": f.id, "name": f.filename, "title": f.title, "size": f.length})
        return {"files": done}

    def _apps_connections_open(self, params: JSON) -> JSON:
        return {"url": self._workspace.socket_connection_url()}

    # ---------------------------------------------------------------- upload & response_url

    def upload(self, file_id: str, raw: bytes) -> Reply:
        """The upload URL from files.getUploadURLExternal: store the content."""
        with self._lock:
            f = self.files.get(file_id)
            if f is None:
                return 404, {"ok": False, "error": "file_not_found"}, {}
            if len(raw) != f.length:
                self._record_violation(
                    slack_records.Violation(
                        "upload_url", "length_mismatch", f"{len(raw)} != {f.length}"
                    )
                )
            self.files[file_id] = replace(f, content=raw)
            return 200, {"ok": True}, {}

    def new_response_url(self) -> str:
        """A response_url as Slack puts in slash-command and interactive payloads."""
        url_id = uuid.uuid4().hex
        with self._lock:
            self._response_urls[url_id] = 0
        return f"{self._workspace.base_url}/response/{url_id}"

    def post_to_response_url(self, url_id: str, body: Any) -> Reply:
        """Check a post to a response_url like Slack; an accepted one is kept in responses."""
        with self._lock:
            uses = self._response_urls.get(url_id)
            error, status = None, 200
            if uses is None:
                error, status = "no_service", 404
            elif uses >= MAX_RESPONSE_URL_USES:
                error, status = "used_url", 404
            elif not isinstance(body, dict) or "_raw" in body:
                error, status = "invalid_payload", 400
            else:
                try:
                    slack_blocks.validate_message(
                        body, require_content=not body.get("delete_original")
                    )
                except slack_blocks.SlackError as err:
                    error, status = err.error, 400
            if error is None:
                # Only accepted posts use up the URL.
                self._response_urls[url_id] = (uses or 0) + 1
                self.responses.append((url_id, body))
                return 200, {"ok": True}, {}
            self._record_violation(slack_records.Violation("response_url", error))
            return status, {"ok": False, "error": error}, {}


METHODS: dict[str, Callable[[WebApi, JSON], JSON]] = {
    "auth.test": WebApi._auth_test,
    "chat.postMessage": WebApi._chat_post_message,
    "chat.update": WebApi._chat_update,
    "chat.postEphemeral": WebApi._chat_post_ephemeral,
    "chat.getPermalink": WebApi._chat_get_permalink,
    "conversations.open": WebApi._conversations_open,
    "users.info": WebApi._users_info,
    "usergroups.users.list": WebApi._usergroups_users_list,
    "files.getUploadURLExternal": WebApi._files_get_upload_url,
    "files.completeUploadExternal": WebApi._files_complete_upload,
    "apps.connections.open": WebApi._apps_connections_open,
}
