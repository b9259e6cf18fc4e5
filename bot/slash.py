"""`/myctl <command> [args]`: parse and ack in the listener, run on the job runner.

The listener (bolt's thread) only parses and acks — a usage error, help, or "busy" is the ack
itself — so it stays fast whatever is running. Everything that may wait (Slack, Kubernetes,
user-group lookups, the state store) happens in the job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot import access, audit, botcommands, delivery, gate, messages, progress, quirks, runs
from bot import services as services_mod
from commands.cli import dispatch, invocation, parser
from commands.engine import rebuild
from commands.engine.context import Engine
from commands.values import errors, settings

log = logging.getLogger(__name__)

# Global options that name files or credentials on the bot's host: a chat user must not pick
# the bot's kubeconfig, context or configuration file.
HOST_OPTIONS = ("--kubeconfig", "--context", "--config")
NOT_FROM_SLACK = frozenset({"completion"})

Ack = Callable[..., None]

# Kept here too: the app and older callers name them as slash.Services / slash.ClusterConnection.
ClusterConnection = services_mod.ClusterConnection
Services = services_mod.Services
Parsed = invocation.Invocation | botcommands.BotCommand | messages.Rendered


def _ephemeral(rendered: messages.Rendered) -> dict[str, Any]:
    return {"text": rendered.text, "blocks": rendered.blocks, "response_type": "ephemeral"}


def _command_of(argv: list[str]) -> str:
    """The subcommand's name, or "" (global options may come first)."""
    return next((a for a in argv if a in parser.cli.commands), "")


def _parse(text: str) -> Parsed:
    """The invocation to run, or the answer to give instead (help or a usage error)."""
    try:
        argv = quirks.to_argv(text)
    except errors.UsageError as exc:
        return messages.usage_error(str(exc), parser.usage_text())
    if argv and argv[0] in botcommands.COMMANDS:
        try:
            return botcommands.parse(argv)
        except errors.UsageError as exc:
            return messages.usage_error(str(exc))
    if not argv or argv[0] == "help":
        return messages.usage(parser.usage_text(argv[1] if len(argv) > 1 else None))
    if "-h" in argv or "--help" in argv:
        return messages.usage(parser.usage_text(_command_of(argv) or None))
    for option in HOST_OPTIONS:
        if any(a == option or a.startswith(option + "=") for a in argv):
            return messages.usage_error(f"{option} cannot be used from Slack")
    command = _command_of(argv)
    if command in NOT_FROM_SLACK:
        return messages.usage_error(f"`{command}` is for terminals only", parser.usage_text())
    try:
        return parser.parse(argv)
    except errors.UsageError as exc:
        return messages.usage_error(str(exc), parser.usage_text(command or None))


def handle(services: Services, ack: Ack, body: Mapping[str, Any], received: float) -> None:
    """The bolt listener for `/myctl`. `received` is when the request arrived (monotonic)."""
    parsed = _parse(str(body.get("text") or ""))
    if isinstance(parsed, messages.Rendered):
        ack(**_ephemeral(parsed))
        is_error = parsed.text.startswith(messages.emoji(errors.EXIT_USAGE))
        services.metrics.command_finished(
            "usage" if is_error else "help", errors.EXIT_USAGE if is_error else errors.EXIT_OK
        )
    else:
        inv = parsed
        submitted = services.runner.try_submit(lambda: run_job(services, inv, body))
        if submitted is None:
            ack(**_ephemeral(messages.busy(services.runner.depth)))
            services.metrics.command_finished(inv.command, errors.EXIT_FAILED)
        else:
            ack()
    services.metrics.ack_observed(services.clock.monotonic() - received)


def run_job(
    services: Services,
    inv: invocation.Invocation | botcommands.BotCommand,
    body: Mapping[str, Any],
) -> None:
    """Authorize, gate, run. Every path tells the requester the outcome."""
    user = str(body.get("user_id") or "")
    channel = str(body.get("channel_id") or "")
    talk = delivery.Delivery(
        services.client,
        services.metrics,
        channel=channel,
        user=user,
        response_url=str(body.get("response_url") or "") or None,
    )
    argv = list(inv.argv) if isinstance(inv, invocation.Invocation) else [inv.command, *inv.args]
    try:
        config = (
            invocation.settings_for(inv, services.environ)
            if isinstance(inv, invocation.Invocation)
            else services.base_settings()
        )
    except errors.MyctlError as exc:
        talk.ephemeral(messages.usage_error(str(exc)))
        services.metrics.command_finished(inv.command, exc.exit_code)
        return
    decision = access.authorize(
        inv.command, config.slack, services.resolver, user=user, channel=channel
    )
    if not decision.allowed:
        log.info("refused %s for %s in %s: %s", inv.command, user, channel, decision.reason)
        # Audit first, then answer: a test (or an auditor) that sees the answer sees the record.
        if services.store is not None:
            try:
                audit.record_refusal(
                    services.store,
                    command=inv.command,
                    argv=argv,
                    user=user,
                    channel=channel,
                    reason=decision.reason,
                )
            except errors.MyctlError as exc:
                log.warning("could not audit the refusal: %s", exc)
        talk.ephemeral(messages.refused(inv.command, decision.reason))
        services.metrics.command_finished(inv.command, errors.EXIT_USAGE)
        return
    if isinstance(inv, botcommands.BotCommand):
        code = _guarded(lambda: botcommands.run(services, inv, talk), inv.command, talk)
    elif gate.needs_approval(inv, config.slack.approvals):
        code = _guarded(
            lambda: gate.request_approval(services, inv, config, talk), inv.command, talk
        )
    else:
        code = execute_run(services, inv, config, talk, approved=True)
    services.metrics.command_finished(inv.command, code)


def _guarded(job: Callable[[], int], command: str, talk: delivery.Delivery) -> int:
    """Errors of a job that has no run message of its own become an ephemeral answer."""
    try:
        return job()
    except errors.MyctlError as exc:
        talk.ephemeral(messages.usage_error(str(exc)))
        return exc.exit_code
    except Exception:
        log.exception("%s crashed", command)
        talk.ephemeral(messages.final_crash([command], talk.user))
        return errors.EXIT_FAILED


def execute_run(
    services: Services,
    inv: invocation.Invocation,
    config: settings.Settings,
    talk: delivery.Delivery,
    *,
    approved: bool,
) -> int:
    """Run `inv` with a live progress message in `talk`; return the exit code.

    `approved` answers the engine's rebuild confirmation: Slack never prompts, so a rebuild
    writes only when the run was approved (or configuration does not require approval).
    An approval flow calls this after the decision, with the `talk` that holds its message.
    Every run is in the audit trail: recorded before it starts, finished with its outcome.
    """
    run_id = runs.start(services, inv, talk)
    reporter = progress.SlackProgress(
        lambda rendered: talk.update(rendered) if talk.updatable else None,
        argv=inv.argv,
        user=talk.user,
        clock=services.clock,
        interval=services.progress_interval,
    )
    if talk.ts is None:
        talk.start(reporter.started())
    else:
        talk.update(reporter.started())
    reporter.throttle.mark_sent()
    runs.link_message(services, run_id, talk)

    def confirm(_plan: rebuild.Plan) -> bool:
        return approved

    details: dict[str, Any] | None = None
    try:
        if inv.command == "version":
            result: dispatch.Result = dispatch.version()
        else:
            engine = Engine(
                cluster=services.cluster.get(),
                settings=config,
                clock=services.clock,
                report=reporter,
                dry_run=inv.options.dry_run,
            )
            result = dispatch.execute(inv, engine, confirm)
        final = messages.final(inv.argv, talk.user, result)
        code, summary, details = result.exit_code, result.summary(), result.to_json()
    except errors.MyctlError as exc:
        final, code = messages.final_error(inv.argv, talk.user, exc), exc.exit_code
        summary = str(exc)
    except Exception:
        log.exception("run of %s crashed", inv.command)
        final, code = messages.final_crash(inv.argv, talk.user), errors.EXIT_FAILED
        summary = "internal error"
    finally:
        reporter.close()
    # The audit trail first: whoever sees the outcome in Slack can find it in the trail too
    # (`runs.finish` logs and swallows store errors, so the user still gets the outcome).
    runs.finish(services, run_id, code, summary, details)
    talk.finish(final)
    return code
