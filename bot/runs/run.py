"""One run: recorded in the audit trail, shown as a live message, run, finished with its outcome.

This is the one pipeline every flow uses (docs/architecture.md): a slash command, an approved
request (in the request's own message, through `Delivery.resume`) and a scheduled report each
describe their work as a `Job` and call `run`. The order is fixed: the trail first, so whoever
sees the outcome in Slack can find it in the trail too; a trail that is down is logged and the
run goes on (commands/state/trail.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot import commandline, logs
from bot import metrics as metrics_mod
from bot.rendering import blocks, outcomes, waves
from bot.runs import delivery, progress
from bot.runs import engines as engines_mod
from commands.engine import context
from commands.state import rollbacks
from commands.state import trail as trail_mod
from commands.values import clock as clock_mod
from commands.values import errors, events, results, settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    summary: str  # the trail's line
    final: blocks.Rendered | None = None  # the run's last message (live runs)
    details: dict[str, Any] | None = None


Work = Callable[[events.Reporter], Outcome]


@dataclass(frozen=True)
class Job:
    """What to run, whoever asked for it."""

    command: str
    argv: tuple[str, ...]
    source: str  # the trail's source: slack | schedule (and hook, once registry hooks land)
    work: Work
    dry_run: bool = False
    # A live run posts a progress message first and ends it with the outcome. A job that is
    # not live shows itself (a report posts one message): its errors go back to the caller,
    # after the trail has recorded them, as there is no message to show them in.
    live: bool = True


class CanaryPause(Protocol):
    """Slack's Continue / Stop after a good canary (bot/approvals/canary.py)."""

    def gate(self, report: events.Reporter) -> context.CanaryGate:
        """The engine's gate, showing its buttons through the run's progress `report`."""
        ...

    def notes(self) -> tuple[str, ...]:
        """What was decided, for the final message (nothing when it was never asked)."""
        ...


# Called with the finished run's id, its message and its final rendering; returns the final
# rendering to show (bot/approvals/offer.py adds the Roll back button).
Finishing = Callable[[str, delivery.Delivery, blocks.Rendered], blocks.Rendered]


@dataclass(frozen=True)
class Pipeline:
    """What every run needs, built once by the app."""

    trail: trail_mod.Trail
    slack: delivery.Slack
    clock: clock_mod.Clock
    progress_interval: float = 1.0
    finishing: Finishing | None = None
    metrics: metrics_mod.Metrics | None = None  # step durations, Kubernetes errors


def engine_job(
    inv: commandline.Invocation,
    config: settings.Settings,
    *,
    user: str,
    engines: engines_mod.Engines,
    source: str = "slack",
    history: rollbacks.RunHistory | None = None,
    canary: CanaryPause | None = None,
) -> Job:
    """A job that runs `inv` on `engines` and renders its result for `user`. `history` (the
    state store) is what `rollback` reads; `canary` pauses after a good canary."""

    def work(report: events.Reporter) -> Outcome:
        gate = canary.gate(report) if canary else context.always_continue
        result = engines.execute(inv, config, report=report, gate=gate, history=history)
        notes = (*(canary.notes() if canary else ()), *_undoes(result, history))
        final = outcomes.final(inv.argv, user, result, notes)
        return Outcome(result.exit_code, result.summary(), final, result.to_json())

    return Job(inv.command, inv.argv, source, work, dry_run=inv.options.dry_run)


def run(pipeline: Pipeline, job: Job, talk: delivery.Delivery) -> int:
    """Run `job` for `talk.user` in `talk`; return its exit code."""
    trail = pipeline.trail
    run_id = trail.start(
        command=job.command,
        argv=job.argv,
        user=talk.user,
        channel=talk.channel,
        source=job.source,
        dry_run=job.dry_run,
    )
    if run_id is None and job.command in commandline.MUTATING_COMMANDS and not job.dry_run:
        talk.ephemeral(outcomes.final_unaudited(job.argv, talk.user))  # never a change unaudited
        return errors.EXIT_FAILED
    logs.bind_run(run_id=run_id, command=job.command, user=talk.user, channel=talk.channel)
    log.info("run started: %s (%s)", job.command, job.source)
    observe: events.Reporter = events.discard
    if pipeline.metrics is not None:
        observe = pipeline.metrics.step_timer(pipeline.clock.monotonic)
    live: progress.SlackProgress | None = None
    if job.live:
        live = progress.SlackProgress(
            lambda rendered: talk.update(rendered) if talk.updatable else None,
            argv=job.argv,
            user=talk.user,
            clock=pipeline.clock,
            interval=pipeline.progress_interval,
            observe=observe,
        )
        live.begin(talk.update if talk.started else talk.start)
        _link(pipeline, run_id, talk)
    try:
        outcome = job.work(live or observe)
    except Exception as exc:
        if pipeline.metrics is not None and isinstance(exc, errors.ClusterError):
            pipeline.metrics.kube_error(type(exc).__name__)
        if live is None:
            line = blocks.command_line((job.command, *job.argv)).removeprefix("myctl ")
            trail.finish(run_id, errors.EXIT_FAILED, f"{line} failed: {exc}")
            raise
        outcome = _failed(job, talk.user, exc)
    finally:
        if live is not None:
            live.close()
    trail.finish(run_id, outcome.exit_code, outcome.summary, outcome.details)
    logs.bind_outcome(outcome.exit_code)
    log.info("run finished: exit %d", outcome.exit_code)
    if outcome.final is not None:
        talk.finish(_finishing(pipeline, run_id, talk, outcome.final))
    return outcome.exit_code


def _finishing(
    pipeline: Pipeline, run_id: str | None, talk: delivery.Delivery, final: blocks.Rendered
) -> blocks.Rendered:
    if pipeline.finishing is None or run_id is None:
        return final
    try:
        return pipeline.finishing(run_id, talk, final)
    except Exception as exc:
        # Only an extra (the Roll back button): the outcome itself must still be shown.
        log.warning("could not finish the final message: %s", type(exc).__name__)
        return final


def _undoes(result: commandline.Result, history: rollbacks.RunHistory | None) -> tuple[str, ...]:
    """A rollback's link to the run it undoes (its permalink, when the store has it)."""
    if not isinstance(result, results.RollbackResult) or not result.undoes:
        return ()
    try:
        undone = history.get_run(result.undoes) if history is not None else None
    except errors.MyctlError:
        undone = None
    return (waves.undoes(undone, result.undoes),)


def _failed(job: Job, user: str, exc: Exception) -> Outcome:
    if isinstance(exc, errors.MyctlError):
        return Outcome(exc.exit_code, str(exc), outcomes.final_error(job.argv, user, exc))
    log.error("run of %s crashed", job.command, exc_info=exc)
    return Outcome(errors.EXIT_FAILED, "internal error", outcomes.final_crash(job.argv, user))


def _link(pipeline: Pipeline, run_id: str | None, talk: delivery.Delivery) -> None:
    conversation, ts = talk.conversation, talk.ts
    if run_id is None or not (conversation and ts):
        return
    permalink = pipeline.slack.permalink(conversation, ts)
    pipeline.trail.link(run_id, channel=conversation, ts=ts, permalink=permalink)
