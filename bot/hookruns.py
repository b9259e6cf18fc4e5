"""Registry-hook runs, the Slack side: a coalesced push becomes a run of the one pipeline.

bot/hooks/ decides what a delivery means and when a burst is over, without Slack; this module
is where that meets the bot: the state store claims deliveries and keeps the audit trail, the
job runner runs, and each run goes through bot/runs/run.py (`source="hook"`) in the trigger's
channel, or, with `approval: true`, through the approval gate (bot/approvals/request.py) first.

A hook run is the command a person would type (docs/triggers.md):

    orchestrate --image REPO:TAG@sha256:DIGEST --wait [-n NS …] [--pin-digest] [--dry-run]

The pushed digest in `--image` is the expected digest; `-n` is the trigger's `namespaces`
within the global scope; `--dry-run` for `action: notify`; `--pin-digest` only where the trigger
sets `pin_digest: true`. The run's "user" is `trigger:NAME` (bot/rendering/blocks.py `who`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot import commandline
from bot import services as services_mod
from bot.approvals import request
from bot.hooks import coalesce, handler, ratelimit, route, runner
from bot.hooks import metrics as hook_metrics
from bot.rendering import blocks, outcomes
from bot.runs import delivery, run
from commands.state import deliveries
from commands.values import errors, settings, triggers

log = logging.getLogger(__name__)


@dataclass
class HookRuns:
    """What the app holds for registry hooks: the endpoints and the driver of their runs."""

    hooks: route.Hooks
    driver: runner.Driver
    coalescer: coalesce.Coalescer

    @property
    def metrics(self) -> hook_metrics.HookMetrics:
        return self.hooks.metrics

    def stop(self) -> None:
        self.driver.stop()


def user_of(trigger: triggers.Trigger) -> str:
    return blocks.TRIGGER_USER_PREFIX + trigger.name


def build(
    services: services_mod.Services,
    configured: Sequence[triggers.Trigger],
    secrets: Mapping[str, str],
) -> HookRuns:
    """The endpoints of `configured` and a started run driver (stopped by `HookRuns.stop`)."""
    coalescer = coalesce.Coalescer(services.clock)
    counters = hook_metrics.HookMetrics()
    by_name = {trigger.name: trigger for trigger in configured}

    def launch(due: coalesce.Run) -> bool:
        trigger = by_name[due.trigger]

        def job() -> None:
            code = errors.EXIT_FAILED
            try:
                code = start(services, trigger, due)
            finally:
                counters.run_finished(trigger.name, code)
                coalescer.finished(due)
                driver.wake()  # a follow-up queued behind this run may start now

        return services.runner.try_submit(job) is not None

    driver = runner.Driver(coalescer, launch)

    def claim(trigger: str, key: str, keep: dt.timedelta) -> bool:
        return deliveries.claim_delivery(
            services.store, trigger=trigger, delivery_id=key, now=services.clock.now(), keep=keep
        )

    def has_room() -> bool:
        # A draining replica (graceful stop, bot/jobs.py) answers 503 + Retry-After: the
        # registry retries, and another replica takes the delivery.
        if services.runner.draining:
            return False
        return services.runner.depth + driver.waiting < services.runner.capacity

    def audit(trigger: triggers.Trigger, response: handler.Response) -> None:
        try:
            services.store.record_event(
                "hook.delivery",
                actor=user_of(trigger),
                channel=trigger.channel,
                details=response.audit_details(trigger),
            )
        except errors.MyctlError as exc:
            log.warning("could not audit a delivery to %s: %s", trigger.name, exc)

    hooks = route.Hooks(
        configured,
        secrets,
        services=handler.Services(
            claim_delivery=claim,
            coalescer=coalescer,
            limiter=ratelimit.RateLimiter(services.clock),
            has_room=has_room,
        ),
        counters=counters,
        audit=audit,
        on_accepted=driver.wake,
    )
    return HookRuns(hooks, driver.start(), coalescer)


def argv_for(
    trigger: triggers.Trigger, due: coalesce.Run, global_namespaces: Sequence[str]
) -> list[str]:
    """The command line of the run `due` of `trigger`; UsageError when its scope is empty."""
    argv = ["orchestrate", "--image", due.reference, "--wait"]
    if trigger.namespaces:
        # Narrower than the global scope, never wider: a namespace outside it is dropped.
        chosen = [
            ns for ns in trigger.namespaces if not global_namespaces or ns in global_namespaces
        ]
        if not chosen:
            raise errors.UsageError(
                f"trigger {trigger.name}: none of its namespaces is in the configured scope"
            )
        for namespace in chosen:
            argv += ["-n", namespace]
    if trigger.pin_digest and due.digest:
        argv.append("--pin-digest")
    if trigger.action is triggers.Action.NOTIFY:
        argv.append("--dry-run")
    return argv


def start(services: services_mod.Services, trigger: triggers.Trigger, due: coalesce.Run) -> int:
    """Run (or ask approval for) `due` in the trigger's channel; its exit code."""
    user = user_of(trigger)
    talk = services.delivery(channel=trigger.channel, user=user, response_url=None)
    argv = [due.reference]
    try:
        argv = argv_for(trigger, due, services.base_settings().scope.namespaces)
        inv = commandline.parse(argv)
        config = commandline.settings_for(inv, services.environ)
    except errors.MyctlError as exc:
        talk.start(outcomes.final_error(argv, user, exc))
        return exc.exit_code
    if trigger.approval and not inv.options.dry_run:  # a dry run changes nothing: as for /myctl
        return _ask(services, inv, config, talk)
    job = run.engine_job(inv, config, user=user, engines=services.engines, source="hook")
    return services.run(job, talk)


def _ask(
    services: services_mod.Services,
    inv: commandline.Invocation,
    config: settings.Settings,
    talk: delivery.Delivery,
) -> int:
    """The Approve/Cancel plan in the trigger's channel; the click runs it (approvals/clicks.py).

    A trigger has no requester who could read an ephemeral answer: "nobody can approve" is
    posted in the channel instead."""
    approvals = config.slack.approvals
    if not (approvals.approver_users or approvals.approver_usergroups):
        talk.start(outcomes.no_approvers(inv.command))
        return errors.EXIT_USAGE
    return request.request_approval(services, inv, config, talk)
