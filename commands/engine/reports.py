"""Scheduled-report data: cache health, images, rollouts and activity, gathered from an Engine.

Pure engine: no Slack, no scheduler (bot/rendering/reports.py renders a `Report`). One live
scan of the workloads in scope feeds both the rollouts and the images sections, so a report
costs one paginated list per kind however many sections it has. Images come from that
live scan rather than from the cache: the report should show what runs now, and the cache
section already says whether the cache agrees.

A section that cannot be gathered (API down, RBAC) becomes a `SectionError` and the report is
still produced: a morning post that says "could not read the cluster" beats no post.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from commands.engine import cachedoc, check, rebuild, rollout
from commands.engine.context import Engine
from commands.values import config, errors, results, workloads


class Overall(enum.Enum):
    HEALTHY = "healthy"
    ATTENTION = "attention"  # something a person should look at (stale cache, stuck rollout)
    ERROR = "error"  # a section could not be gathered, or a rollout failed outright


# ---------------------------------------------------------------- activity source (state store)
class RunLike(Protocol):
    """What the report reads of a `commands.state` RunRecord."""

    @property
    def command(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def state(self) -> str: ...  # running | finished | interrupted
    @property
    def started_at(self) -> dt.datetime: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def summary(self) -> str: ...


class RunSource(Protocol):
    def runs_since(self, since: dt.datetime) -> Sequence[RunLike]: ...


# ---------------------------------------------------------------- sections
@dataclass(frozen=True)
class CacheHealth:
    valid: bool
    reason: str  # why it is not valid; "" when valid
    stats: results.CacheStats
    unknown: bool = False  # the cache could not be read at all

    @property
    def overall(self) -> Overall:
        if self.unknown:
            return Overall.ERROR
        return Overall.HEALTHY if self.valid else Overall.ATTENTION


@dataclass(frozen=True)
class ImageUse:
    image: str
    workloads: tuple[workloads.WorkloadRef, ...]


@dataclass(frozen=True)
class Images:
    """Every image in scope, most widely used first (ties by name, for stable output)."""

    images: tuple[ImageUse, ...]
    workloads: int  # distinct workloads scanned

    def top(self, count: int) -> tuple[ImageUse, ...]:
        return self.images[:count]


@dataclass(frozen=True)
class RolloutProblem:
    ref: workloads.WorkloadRef
    state: rollout.State
    message: str  # kubectl's rollout-status wording
    unavailable: int  # replicas (pods for DaemonSets) not available


@dataclass(frozen=True)
class Rollouts:
    checked: int
    problems: tuple[RolloutProblem, ...]  # failed first, then in progress, then by ref

    @property
    def overall(self) -> Overall:
        if any(p.state is rollout.State.FAILED for p in self.problems):
            return Overall.ERROR
        return Overall.ATTENTION if self.problems else Overall.HEALTHY


@dataclass(frozen=True)
class CommandCount:
    command: str
    exit_code: int | None  # None: still running or interrupted
    count: int


@dataclass(frozen=True)
class RunLine:
    command: str
    user: str
    source: str
    started_at: dt.datetime
    exit_code: int | None
    state: str
    summary: str


@dataclass(frozen=True)
class Activity:
    since: dt.datetime
    total: int
    counts: tuple[CommandCount, ...]  # by command, then exit code
    failures: tuple[RunLine, ...]  # non-zero exit or interrupted, newest first

    @property
    def overall(self) -> Overall:
        return Overall.ATTENTION if self.failures else Overall.HEALTHY


@dataclass(frozen=True)
class SectionError:
    kind: str  # one of config.REPORT_KINDS
    message: str


@dataclass(frozen=True)
class Report:
    name: str  # the schedule's name
    generated_at: dt.datetime
    scope: str  # Scope.describe()
    kinds: tuple[str, ...]
    cache: CacheHealth | None = None
    images: Images | None = None
    rollouts: Rollouts | None = None
    activity: Activity | None = None
    errors: tuple[SectionError, ...] = ()

    @property
    def overall(self) -> Overall:
        states = [Overall.ERROR] if self.errors else []
        states += [s.overall for s in (self.cache, self.rollouts, self.activity) if s is not None]
        if Overall.ERROR in states:
            return Overall.ERROR
        return Overall.ATTENTION if Overall.ATTENTION in states else Overall.HEALTHY


# ---------------------------------------------------------------- gathering
def gather(
    engine: Engine,
    name: str,
    kinds: Iterable[str] = config.REPORT_KINDS,
    *,
    runs: RunSource | None = None,
    since: dt.datetime | None = None,
) -> Report:
    """Gather the requested sections. `since` bounds activity (default: the last 24 hours)."""
    return with_activity(from_cluster(engine, name, kinds), runs, since)


def from_cluster(engine: Engine, name: str, kinds: Iterable[str] = config.REPORT_KINDS) -> Report:
    """Every requested section but activity: what the cluster says (the CPU work, a scan of the
    scope; the bot runs it in an engine process). Activity is added by `with_activity`."""
    wanted = tuple(kind for kind in config.REPORT_KINDS if kind in set(kinds))
    unknown = set(kinds) - set(config.REPORT_KINDS)
    if unknown:
        raise errors.UsageError(f"unknown report kinds: {', '.join(sorted(unknown))}")
    health: CacheHealth | None = None
    used: Images | None = None
    stuck: Rollouts | None = None
    problems: list[SectionError] = []
    if "cache" in wanted:
        health = cache_health(engine)
    if "images" in wanted or "rollouts" in wanted:
        try:
            scanned = list(rebuild.scan(engine))
        except errors.MyctlError as exc:
            problems += [SectionError(k, str(exc)) for k in ("images", "rollouts") if k in wanted]
        else:
            if "images" in wanted:
                used = images(scanned, engine)
            if "rollouts" in wanted:
                stuck = rollouts(scanned)
    return Report(
        name=name,
        generated_at=engine.clock.now(),
        scope=engine.settings.scope.describe(),
        kinds=wanted,
        cache=health,
        images=used,
        rollouts=stuck,
        errors=tuple(problems),
    )


def with_activity(
    report: Report, runs: RunSource | None, since: dt.datetime | None = None
) -> Report:
    """`report` with its activity section (the audit trail's runs since `since`, default the
    24 hours before it was generated), when it asks for one."""
    if "activity" not in report.kinds:
        return report
    start = since or report.generated_at - dt.timedelta(days=1)
    try:
        if runs is None:
            raise errors.MyctlError("no state store is configured")
        return replace(report, activity=activity(runs.runs_since(start), start))
    except errors.MyctlError as exc:
        problem = SectionError("activity", str(exc))
        return replace(report, errors=(*report.errors, problem))


def cache_health(engine: Engine) -> CacheHealth:
    verdict = check.inspect(engine).result
    return CacheHealth(verdict.valid, verdict.reason, verdict.stats, verdict.unknown)


def images(scanned: Sequence[workloads.Workload], engine: Engine) -> Images:
    # cachedoc.build normalizes references exactly as the cache does, so both agree on names.
    document = cachedoc.build(scanned, engine.settings.scope, "")
    uses = [
        ImageUse(image, tuple(entry.ref for entry in entries))
        for image, entries in document.images.items()
    ]
    uses.sort(key=lambda use: (-len(use.workloads), use.image))
    return Images(tuple(uses), len({w.ref for w in scanned}))


def rollouts(scanned: Sequence[workloads.Workload]) -> Rollouts:
    found: list[RolloutProblem] = []
    for workload in scanned:
        status = rollout.status(workload)
        unavailable = _unavailable(workload)
        if status.state is rollout.State.COMPLETE and not unavailable:
            continue
        message = status.message
        if status.state is rollout.State.COMPLETE:
            message = f"{unavailable} unavailable replicas"
        found.append(RolloutProblem(workload.ref, status.state, message, unavailable))
    order = {rollout.State.FAILED: 0, rollout.State.IN_PROGRESS: 1, rollout.State.COMPLETE: 2}
    found.sort(key=lambda p: (order[p.state], p.ref))
    return Rollouts(len(scanned), tuple(found))


def activity(runs: Sequence[RunLike], since: dt.datetime) -> Activity:
    counts: dict[tuple[str, int | None], int] = {}
    failures: list[RunLine] = []
    for run in runs:
        key = (run.command, run.exit_code)
        counts[key] = counts.get(key, 0) + 1
        if run.state == "interrupted" or (run.exit_code not in (None, errors.EXIT_OK)):
            failures.append(
                RunLine(
                    run.command,
                    run.user,
                    run.source,
                    run.started_at,
                    run.exit_code,
                    run.state,
                    run.summary,
                )
            )
    failures.sort(key=lambda line: line.started_at, reverse=True)
    ordered = sorted(counts.items(), key=lambda item: (item[0][0], _code_order(item[0][1])))
    return Activity(
        since=since,
        total=len(runs),
        counts=tuple(CommandCount(cmd, code, n) for (cmd, code), n in ordered),
        failures=tuple(failures),
    )


def _unavailable(workload: workloads.Workload) -> int:
    facts = workload.rollout
    if facts.unavailable:
        return facts.unavailable
    # The API omits zero counts, and not every kind reports unavailableReplicas: derive it.
    desired = facts.desired or 0
    return max(desired - facts.available, 0)


def _code_order(code: int | None) -> int:
    return -1 if code is None else code
