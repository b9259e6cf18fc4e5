"""One parsed `/myctl` request, on the job runner: authorize → audit a refusal → the approval
gate, a bot command, or a run. Every path tells the requester the outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot import access, commandline
from bot import services as services_mod
from bot.approvals import canary, request
from bot.conversation import botcommands
from bot.rendering import outcomes
from bot.runs import delivery
from commands.values import errors, settings

log = logging.getLogger(__name__)

Wanted = commandline.Invocation | botcommands.BotCommand


def route(services: services_mod.Services, wanted: Wanted, body: Mapping[str, Any]) -> None:
    user = str(body.get("user_id") or "")
    channel = str(body.get("channel_id") or "")
    talk = services.delivery(
        channel=channel, user=user, response_url=str(body.get("response_url") or "") or None
    )
    code = _guarded(lambda: _route(services, wanted, talk), wanted.command, talk)
    services.metrics.command_finished(wanted.command, code)


def _route(services: services_mod.Services, wanted: Wanted, talk: delivery.Delivery) -> int:
    if isinstance(wanted, commandline.Invocation):
        config = commandline.settings_for(wanted, services.environ)
        argv = list(wanted.argv)
    else:
        config = services.base_settings()
        argv = [wanted.command, *wanted.args]
    decision = access.authorize(
        wanted.command, config.slack, services.resolver, user=talk.user, channel=talk.channel
    )
    if not decision.allowed:
        return _refuse(services, wanted.command, argv, decision.reason, talk)
    if isinstance(wanted, botcommands.BotCommand):
        return botcommands.run(services, wanted, talk)
    if request.needs_approval(wanted, config.slack.approvals):
        return request.request_approval(services, wanted, config, talk)
    return _run(services, wanted, config, talk)


def _run(
    services: services_mod.Services,
    inv: commandline.Invocation,
    config: settings.Settings,
    talk: delivery.Delivery,
) -> int:
    return services.run(canary.engine_job(services, inv, config, talk, user=talk.user), talk)


def _refuse(
    services: services_mod.Services,
    command: str,
    argv: list[str],
    reason: str,
    talk: delivery.Delivery,
) -> int:
    log.info("refused %s for %s in %s: %s", command, talk.user, talk.channel, reason)
    # Audit first, then answer: a test (or an auditor) that sees the answer sees the record.
    try:
        services.store.record_event(
            "authorization.refused",
            actor=talk.user,
            channel=talk.channel,
            details={"command": command, "argv": argv, "reason": reason, "exit_code": 2},
        )
    except errors.MyctlError as exc:
        log.warning("could not audit the refusal: %s", exc)
    talk.ephemeral(outcomes.refused(command, reason))
    return errors.EXIT_USAGE


def _guarded(job: Callable[[], int], command: str, talk: delivery.Delivery) -> int:
    """The one error guard: errors that no run message shows become an ephemeral answer."""
    try:
        return job()
    except errors.MyctlError as exc:
        talk.ephemeral(outcomes.usage_error(str(exc)))
        return exc.exit_code
    except Exception:
        log.exception("%s crashed", command)
        talk.ephemeral(outcomes.final_crash([command], talk.user))
        return errors.EXIT_FAILED
