"""Every Slack Web API call the bot makes, counted in the error metric, and one run's messages.

`Slack` wraps the app's one WebClient: posting, updating, ephemeral answers, DMs, files and
permalinks all go through it, so `myctl_bot_slack_api_errors_total` sees every failure.

`Delivery` is one run's conversation with the requester: its message is posted in the channel,
else sent through the command's response_url, else as a DM. The bot cannot post in channels it
was not invited to (`not_in_channel`) nor in private ones or DMs it cannot see
(`channel_not_found`); the user must still learn the outcome. response_url accepts only five
posts, so in that mode progress is not updated: only start and outcome.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot import metrics
from bot.rendering import outcomes
from bot.rendering.blocks import Attachment, Rendered
from bot.runs import slackerrors

log = logging.getLogger(__name__)

CANNOT_POST = slackerrors.CANNOT_POST
error_code = slackerrors.error_code


class Slack:
    """The bot's Web API calls. Errors are counted, then raised: the caller decides."""

    def __init__(self, client: WebClient, metrics_: metrics.Metrics) -> None:
        self.client = client
        self.metrics = metrics_

    def _counted(self, method: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except SlackApiError as exc:
            self.metrics.slack_error(method, error_code(exc))
            raise

    def _api(self, method: str, **kwargs: Any) -> Any:
        return self._counted(method, lambda: self.client.api_call(method, json=kwargs))

    def post(self, channel: str, rendered: Rendered) -> tuple[str, str]:
        """Post a message; (its channel, its ts)."""
        response = self._api(
            "chat.postMessage", channel=channel, text=rendered.text, blocks=rendered.blocks
        )
        return str(response["channel"]), str(response["ts"])

    def update(self, channel: str, ts: str, rendered: Rendered) -> None:
        self._api("chat.update", channel=channel, ts=ts, text=rendered.text, blocks=rendered.blocks)

    def update_quietly(self, channel: str | None, ts: str | None, rendered: Rendered) -> bool:
        """Rewrite a message that may be gone; a failure is logged, never raised."""
        if not (channel and ts):
            return False
        try:
            self.update(channel, ts, rendered)
        except SlackApiError as exc:
            log.warning("could not update message %s in %s: %s", ts, channel, error_code(exc))
            return False
        return True

    def ephemeral(self, channel: str, user: str, rendered: Rendered) -> None:
        self._api(
            "chat.postEphemeral",
            channel=channel,
            user=user,
            text=rendered.text,
            blocks=rendered.blocks,
        )

    def open_dm(self, user: str) -> str:
        response = self._api("conversations.open", users=user)
        return str(response["channel"]["id"])

    def upload(self, channel: str, attachment: Attachment, thread_ts: str | None) -> None:
        self._counted(
            "files.upload",
            lambda: self.client.files_upload_v2(
                channel=channel,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title,
                thread_ts=thread_ts,
            ),
        )

    def auth_test(self) -> None:
        """The token check (readiness)."""
        self._counted("auth.test", self.client.auth_test)

    def group_members(self, group: str) -> list[str]:
        """The user ids in a Slack user group (access rules naming groups)."""
        response = self._counted(
            "usergroups.users.list", lambda: self.client.usergroups_users_list(usergroup=group)
        )
        return list(response["users"])

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = self._counted(
                "chat.getPermalink",
                lambda: self.client.chat_getPermalink(channel=channel, message_ts=ts),
            )
            return str(response["permalink"])
        except (SlackApiError, KeyError) as exc:
            log.info("no permalink for %s in %s: %s", ts, channel, type(exc).__name__)
            return None

    def respond(
        self, response_url: str, rendered: Rendered, *, replace: bool, ephemeral: bool
    ) -> bool:
        """Post through a command's response_url; False when it did not arrive."""
        try:
            response = WebhookClient(response_url).send(
                text=rendered.text,
                blocks=rendered.blocks,
                response_type="ephemeral" if ephemeral else "in_channel",
                replace_original=replace,
            )
        except OSError as exc:
            log.warning("response_url post failed: %s", type(exc).__name__)
            self.metrics.slack_error("response_url", type(exc).__name__)
            return False
        if response.status_code != 200:
            self.metrics.slack_error("response_url", str(response.status_code))
            return False
        return True

    def delivery(self, *, channel: str, user: str, response_url: str | None = None) -> Delivery:
        return Delivery(self, channel=channel, user=user, response_url=response_url)


class Target(enum.Enum):
    CHANNEL = "channel"
    RESPONSE_URL = "response_url"
    DM = "dm"
    NONE = "none"  # every route failed; logged


class Delivery:
    """One run's conversation with the requester. Not thread-safe: the caller serializes."""

    def __init__(
        self, slack: Slack, *, channel: str, user: str, response_url: str | None = None
    ) -> None:
        self._slack = slack
        self.channel = channel
        self.user = user
        self._response_url = response_url
        self._target = Target.NONE
        self._ts: str | None = None  # the message being updated (channel or DM)
        self._dm: str | None = None

    def resume(self, channel: str, ts: str) -> Delivery:
        """Continue in a message that already exists (an approval request becomes its run's
        progress message): later updates rewrite it instead of posting a new one."""
        self.channel, self._ts, self._target = channel, ts, Target.CHANNEL
        return self

    @property
    def target(self) -> Target:
        return self._target

    @property
    def ts(self) -> str | None:
        return self._ts

    @property
    def started(self) -> bool:
        """Whether the run has a message somewhere (posted, resumed or sent by response_url)."""
        return self._target is not Target.NONE

    @property
    def updatable(self) -> bool:
        """Whether progress updates are worth sending (not on a response_url budget)."""
        return self._target in (Target.CHANNEL, Target.DM)

    @property
    def conversation(self) -> str | None:
        return self.channel if self._target is Target.CHANNEL else self._dm

    def _open_dm(self) -> str:
        if self._dm is None:
            self._dm = self._slack.open_dm(self.user)
        return self._dm

    def _respond(self, rendered: Rendered, *, replace: bool) -> bool:
        if not self._response_url:
            return False
        return self._slack.respond(self._response_url, rendered, replace=replace, ephemeral=True)

    # ------------------------------------------------------------------ the run's message
    def start(self, rendered: Rendered) -> None:
        """Post the run's message where the user can see it."""
        try:
            _, self._ts = self._slack.post(self.channel, rendered)
            self._target = Target.CHANNEL
            return
        except SlackApiError as exc:
            if slackerrors.transient(exc):  # no ts: finish() posts the outcome afresh
                log.warning("progress not posted (%s); the outcome will be", error_code(exc))
                self._target = Target.CHANNEL
                return
            if error_code(exc) not in CANNOT_POST:
                raise
        log.info("cannot post in %s; falling back to response_url", self.channel)
        if self._respond(rendered, replace=False):
            self._target = Target.RESPONSE_URL
            return
        self._start_dm(rendered)

    def _start_dm(self, rendered: Rendered) -> None:
        try:
            dm = self._open_dm()
            note = outcomes.fallback_note(self.channel)
            _, self._ts = self._slack.post(
                dm, Rendered(f"{rendered.text}\n{note}", rendered.blocks)
            )
            self._target = Target.DM
        except SlackApiError:
            log.error("could not reach user %s by channel, response_url or DM", self.user)
            self._target = Target.NONE

    def update(self, rendered: Rendered) -> None:
        """Rewrite the run's message in place (progress, then the outcome)."""
        if self._target is Target.RESPONSE_URL:
            if not self._respond(rendered, replace=True):
                self._start_dm(rendered)  # the user must learn the outcome somehow
            return
        conversation = self.conversation
        if conversation is None or self._ts is None:
            return
        try:
            self._slack.update(conversation, self._ts, rendered)
        except SlackApiError as exc:
            # The 429 retry is the client's job (RateLimitErrorRetryHandler); anything left is
            # reported and dropped for progress, and retried as a new post for the outcome.
            log.warning("chat.update failed: %s", error_code(exc))
            raise

    def finish(self, rendered: Rendered) -> None:
        """The outcome: must arrive, so a failed update becomes a fresh post, then a DM."""
        try:
            if self._ts is not None or self._target is not Target.CHANNEL:  # else never posted
                self.update(rendered)
                if self._target is not Target.NONE:
                    self._attach(rendered)
                    return
        except SlackApiError:
            pass
        if self._target is Target.CHANNEL:
            try:
                _, self._ts = self._slack.post(self.channel, rendered)
                self._attach(rendered)
                return
            except SlackApiError:
                if self._respond(rendered, replace=False):  # Slack's API down, its webhooks not
                    return
        self._start_dm(rendered)
        if self._target is Target.DM:
            self._attach(rendered)

    def _attach(self, rendered: Rendered) -> None:
        attachment = rendered.attachment
        if attachment is None:
            return
        channel = self.conversation if self._target is not Target.RESPONSE_URL else None
        try:
            channel = channel or self._open_dm()
            thread = self._ts if channel == self.conversation else None
            self._slack.upload(channel, attachment, thread)
        except SlackApiError as exc:
            log.warning("could not attach the full list: %s", error_code(exc))

    # ------------------------------------------------------------------ one-off answers
    def ephemeral(self, rendered: Rendered) -> None:
        """An answer only the requester sees (refusals, approvals not configured)."""
        if self._respond(rendered, replace=False):
            return
        try:
            self._slack.ephemeral(self.channel, self.user, rendered)
        except SlackApiError:
            self._start_dm(rendered)
