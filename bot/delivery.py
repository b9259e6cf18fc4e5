"""Where one run's messages go: the channel, else the command's response_url, else a DM.

The bot cannot post in channels it was not invited to (`not_in_channel`) nor in private ones or
DMs it cannot see (`channel_not_found`); the user must still learn the outcome. response_url
accepts only five posts, so in that mode progress is not updated: only start and outcome.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot import messages, metrics

log = logging.getLogger(__name__)

CANNOT_POST = frozenset({"not_in_channel", "channel_not_found"})


class Target(enum.Enum):
    CHANNEL = "channel"
    RESPONSE_URL = "response_url"
    DM = "dm"
    NONE = "none"  # every route failed; logged


def _error(exc: SlackApiError) -> str:
    try:
        return str(exc.response["error"])
    except (KeyError, TypeError):
        return "unknown"


class Delivery:
    """One run's conversation with the requester. Not thread-safe: the caller serializes."""

    def __init__(
        self,
        client: WebClient,
        metrics_: metrics.Metrics,
        *,
        channel: str,
        user: str,
        response_url: str | None,
    ) -> None:
        self._client = client
        self._metrics = metrics_
        self.channel = channel
        self.user = user
        self._response_url = response_url
        self.target = Target.NONE
        self.ts: str | None = None  # the message being updated (channel or DM)
        self._dm: str | None = None

    @property
    def updatable(self) -> bool:
        """Whether progress updates are worth sending (not on a response_url budget)."""
        return self.target in (Target.CHANNEL, Target.DM)

    @property
    def conversation(self) -> str | None:
        return self.channel if self.target is Target.CHANNEL else self._dm

    # ------------------------------------------------------------------ Web API calls
    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return self._client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            self._metrics.slack_error(method, _error(exc))
            raise

    def _post(self, channel: str, rendered: messages.Rendered) -> str:
        response = self._call(
            "chat.postMessage", channel=channel, text=rendered.text, blocks=rendered.blocks
        )
        return str(response["ts"])

    def _open_dm(self) -> str:
        if self._dm is None:
            response = self._call("conversations.open", users=self.user)
            self._dm = str(response["channel"]["id"])
        return self._dm

    def _respond(self, rendered: messages.Rendered, *, replace: bool, ephemeral: bool) -> bool:
        if not self._response_url:
            return False
        try:
            response = WebhookClient(self._response_url).send(
                text=rendered.text,
                blocks=rendered.blocks,
                response_type="ephemeral" if ephemeral else "in_channel",
                replace_original=replace,
            )
        except OSError as exc:
            log.warning("response_url post failed: %s", type(exc).__name__)
            self._metrics.slack_error("response_url", type(exc).__name__)
            return False
        if response.status_code != 200:
            self._metrics.slack_error("response_url", str(response.status_code))
            return False
        return True

    # ------------------------------------------------------------------ the run's message
    def start(self, rendered: messages.Rendered) -> None:
        """Post the run's message where the user can see it."""
        try:
            self.ts = self._post(self.channel, rendered)
            self.target = Target.CHANNEL
            return
        except SlackApiError as exc:
            if _error(exc) not in CANNOT_POST:
                raise
        log.info("cannot post in %s; falling back to response_url", self.channel)
        if self._respond(rendered, replace=False, ephemeral=True):
            self.target = Target.RESPONSE_URL
            return
        self._start_dm(rendered)

    def _start_dm(self, rendered: messages.Rendered) -> None:
        try:
            dm = self._open_dm()
            note = messages.fallback_note(self.channel)
            self.ts = self._post(dm, messages.Rendered(f"{rendered.text}\n{note}", rendered.blocks))
            self.target = Target.DM
        except SlackApiError:
            log.error("could not reach user %s by channel, response_url or DM", self.user)
            self.target = Target.NONE

    def update(self, rendered: messages.Rendered) -> None:
        """Rewrite the run's message in place (progress, then the outcome)."""
        if self.target is Target.RESPONSE_URL:
            if not self._respond(rendered, replace=True, ephemeral=True):
                self._start_dm(rendered)  # the user must learn the outcome somehow
            return
        conversation = self.conversation
        if conversation is None or self.ts is None:
            return
        try:
            self._call(
                "chat.update",
                channel=conversation,
                ts=self.ts,
                text=rendered.text,
                blocks=rendered.blocks,
            )
        except SlackApiError as exc:
            # The 429 retry is the client's job (RateLimitErrorRetryHandler); anything left is
            # reported and dropped for progress, and retried as a new post for the outcome.
            log.warning("chat.update failed: %s", _error(exc))
            raise

    def finish(self, rendered: messages.Rendered) -> None:
        """The outcome: must arrive, so a failed update becomes a fresh post, then a DM."""
        try:
            self.update(rendered)
            if self.target is not Target.NONE:
                self._attach(rendered)
                return
        except SlackApiError:
            pass
        if self.target is Target.CHANNEL:
            try:
                self.ts = self._post(self.channel, rendered)
                self._attach(rendered)
                return
            except SlackApiError:
                pass
        self._start_dm(rendered)
        if self.target is Target.DM:
            self._attach(rendered)

    def _attach(self, rendered: messages.Rendered) -> None:
        attachment = rendered.attachment
        if attachment is None:
            return
        channel = self.conversation if self.target is not Target.RESPONSE_URL else None
        try:
            channel = channel or self._open_dm()
            self._client.files_upload_v2(
                channel=channel,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title,
                thread_ts=self.ts if channel == self.conversation else None,
            )
        except SlackApiError as exc:
            self._metrics.slack_error("files.upload", _error(exc))
            log.warning("could not attach the full list: %s", _error(exc))

    # ------------------------------------------------------------------ one-off answers
    def ephemeral(self, rendered: messages.Rendered) -> None:
        """An answer only the requester sees (refusals, approvals not configured)."""
        if self._respond(rendered, replace=False, ephemeral=True):
            return
        try:
            self._call(
                "chat.postEphemeral",
                channel=self.channel,
                user=self.user,
                text=rendered.text,
                blocks=rendered.blocks,
            )
        except SlackApiError:
            self._start_dm(rendered)
