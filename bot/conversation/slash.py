"""`/myctl <command> [args]`: the bolt listener. Parse, ack, submit — nothing else.

The listener (bolt's thread) only parses and acks — a usage error, help, or "busy" is the ack
itself — so it stays fast whatever is running. Everything that may wait (Slack, Kubernetes,
user-group lookups, the state store) happens in the job (bot/conversation/route.py). When the
front process has acked the request already (bot/transport/front.py), what the ack would have
said goes through the request's response_url instead (`answer_later`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot import services as services_mod
from bot.conversation import parse, route
from bot.rendering import blocks, outcomes
from commands.values import errors

Ack = Callable[..., None]


def _ephemeral(rendered: blocks.Rendered) -> dict[str, Any]:
    return {"text": rendered.text, "blocks": rendered.blocks, "response_type": "ephemeral"}


def answer_later(respond: Callable[..., Any]) -> Ack:
    """The ack of a request the front process answered already: only words are sent, late."""

    def ack(**answer: Any) -> None:
        if answer:
            respond(**answer)

    return ack


def handle(
    services: services_mod.Services,
    ack: Ack,
    body: Mapping[str, Any],
    acked_in: Callable[[], float],
) -> None:
    """`acked_in()` is how long the ack took, asked right after it (the ack metric)."""
    parsed = parse.parse(str(body.get("text") or ""))
    if isinstance(parsed, blocks.Rendered):
        ack(**_ephemeral(parsed))
        is_error = parsed.text.startswith(blocks.emoji(errors.EXIT_USAGE))
        services.metrics.command_finished(
            "usage" if is_error else "help", errors.EXIT_USAGE if is_error else errors.EXIT_OK
        )
    else:
        wanted = parsed
        submitted = services.runner.try_submit(lambda: route.route(services, wanted, body))
        if submitted is None:
            ack(**_ephemeral(outcomes.busy(services.runner.depth)))
            services.metrics.command_finished(wanted.command, errors.EXIT_FAILED)
        else:
            ack()
    services.metrics.ack_observed(acked_in())
