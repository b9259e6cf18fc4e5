"""`/myctl <command> [args]`: parse and ack in the listener, run on the job runner.

The listener (bolt's thread) only parses and acks — a usage error, help, or "busy" is the ack
itself — so it stays fast whatever is running. Everything that may wait (Slack, Kubernetes,
user-group lookups) happens in the job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from bot import access, delivery, gate, jobs, messages, metrics, progress, quirks
from commands.cli import dispatch, invocation, parser
from commands.engine import rebuild
from commands.engine.context import Engine
from commands.kube import port
from commands.values import clock as clock_mod
from commands.values import errors, settings

log = logging.getLogger(__name__)

# Global options that name files or credentials on the bot's host: a chat user must not pick
# the bot's kubeconfig, context or configuration file.
HOST_OPTIONS = ("--kubeconfig", "--context", "--config")
NOT_FROM_SLACK = frozenset({"completion"})

Ack = Callable[..., None]


class ClusterConnection:
    """One cluster connection for the whole app, made on first use (and retried after a
    failure, so the bot starts even when the API server is briefly down)."""

    def __init__(self, connect: Callable[[], port.Cluster]) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._cluster: port.Cluster | None = None

    def get(self) -> port.Cluster:
        with self._lock:
            if self._cluster is None:
                self._cluster = self._connect()
            return self._cluster


@dataclass
class Services:
    """Everything a run needs, built once by the app."""

    client: WebClient
    cluster: ClusterConnection
    runner: jobs.JobRunner
    resolver: access.GroupResolver
    metrics: metrics.Metrics
    environ: Mapping[str, str] = field(default_factory=dict)  # MYCTL_CONFIG for settings_for
    clock: clock_mod.Clock = field(default_factory=clock_mod.SystemClock)
    progress_interval: float = 1.0


def _ephemeral(rendered: messages.Rendered) -> dict[str, Any]:
    return {"text": rendered.text, "blocks": rendered.blocks, "response_type": "ephemeral"}


def _command_of(argv: list[str]) -> str:
    """The subcommand's name, or "" (global options may come first)."""
    return next((a for a in argv if a in parser.cli.commands), "")


def _parse(text: str) -> invocation.Invocation | messages.Rendered:
    """The invocation to run, or the answer to give instead (help or a usage error)."""
    try:
        argv = quirks.to_argv(text)
    except errors.UsageError as exc:
        return messages.usage_error(str(exc), parser.usage_text())
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


def run_job(services: Services, inv: invocation.Invocation, body: Mapping[str, Any]) -> None:
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
    try:
        config = invocation.settings_for(inv, services.environ)
    except errors.MyctlError as exc:
        talk.ephemeral(messages.usage_error(str(exc)))
        services.metrics.command_finished(inv.command, exc.exit_code)
        return
    decision = access.authorize(
        inv.command, config.slack, services.resolver, user=user, channel=channel
    )
    if not decision.allowed:
        log.info("refused %s for %s in %s: %s", inv.command, user, channel, decision.reason)
        talk.ephemeral(messages.refused(inv.command, decision.reason))
        services.metrics.command_finished(inv.command, errors.EXIT_USAGE)
        return
    if gate.needs_approval(inv, config.slack.approvals):
        code = gate.request_approval(inv, config, talk)
        services.metrics.command_finished(inv.command, code)
        return
    code = execute_run(services, inv, config, talk, approved=True)
    services.metrics.command_finished(inv.command, code)


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
    """
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

    def confirm(_plan: rebuild.Plan) -> bool:
        return approved

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
        code = result.exit_code
    except errors.MyctlError as exc:
        final, code = messages.final_error(inv.argv, talk.user, exc), exc.exit_code
    except Exception:
        log.exception("run of %s crashed", inv.command)
        final, code = messages.final_crash(inv.argv, talk.user), errors.EXIT_FAILED
    finally:
        reporter.close()
    talk.finish(final)
    return code
