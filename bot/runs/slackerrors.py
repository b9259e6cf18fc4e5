"""What a Slack Web API error means for a run: the channel is closed to the bot, Slack itself is
failing for a while, or the request was wrong (our bug, raised). Values only, no calls."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

# The bot may not post there (private channel, DM, not invited): fall back to response_url.
CANNOT_POST = frozenset({"not_in_channel", "channel_not_found"})
# Slack's own failures (https://api.slack.com/methods/chat.postMessage, "Errors").
_SLACK_FAILING = frozenset({"internal_error", "fatal_error", "service_unavailable", "ratelimited"})


def error_code(exc: SlackApiError) -> str:
    try:
        return str(exc.response["error"])
    except (KeyError, TypeError):
        return "unknown"


def transient(exc: SlackApiError) -> bool:
    """Slack failing, not the request: HTTP 5xx, or 429 past the client's retries."""
    status = getattr(exc.response, "status_code", 0) or 0
    return status >= 500 or status == 429 or error_code(exc) in _SLACK_FAILING
