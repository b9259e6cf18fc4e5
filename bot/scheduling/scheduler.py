"""Scheduled reports: APScheduler 3 jobs in the state database, run only by the Lease holder.

How exactly-once holds with several replicas:
- every replica campaigns for one Lease (commands/kube/lease.py); only the holder starts a
  `BackgroundScheduler`, and it shuts it down before its lease can expire for anyone else;
- the jobs live in the shared state database (SQLAlchemyJobStore), so a new leader continues
  from the next run time the old one stored, instead of recomputing it and posting again;
- a job checks `elector.is_leader` before posting, so a leader cut off from the API server
  stops posting at its renew deadline even if the scheduler thread has not been stopped yet.

Missed ticks: `coalesce=True` turns any number of missed runs into one, and
`misfire_grace_time` decides whether that one still runs (a bot down at 09:00 and back at
09:03 posts once; back at 10:00 it posts nothing and waits for the next tick). That only works
if the stored next run time survives a restart, so jobs whose trigger is unchanged are kept as
they are at start; `replace_existing=True` is used only when a schedule changed.

Jobs are pickled into the database, so the job function (bot/scheduling/__init__.py) takes only
the schedule's name and finds the live objects in registry.py, which `leader.campaign` fills.

This module is the scheduler's lifecycle and leader gating. What a tick posts is posting.py (one
run of bot/runs/run.py); cron validation and tick arithmetic are triggers.py.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from apscheduler import events
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.rendering.schedules import ScheduleInfo
from bot.runs import delivery, run
from bot.scheduling import posting, registry, triggers
from commands.kube import lease
from commands.state import database, trail
from commands.state import store as store_mod
from commands.values import clock as clock_mod
from commands.values import errors, settings

log = logging.getLogger(__name__)

# A textual reference, which is what gets pickled: kept stable across releases (bot/scheduling
# defines it), so jobs stored by an older bot keep their next run time.
JOB_FUNC = "bot.scheduling:run_scheduled_report"
TABLENAME = "myctl_apscheduler_jobs"
# Seconds a tick may be late and still post. Five minutes covers a rolling update of the bot or
# a leader handover (15 s) with room to spare; a morning report hours late is noise, not news.
DEFAULT_MISFIRE_GRACE = 300.0


@dataclass(frozen=True)
class Options:
    misfire_grace_seconds: float = DEFAULT_MISFIRE_GRACE
    lease_timing: lease.LeaseTiming = dataclasses.field(default_factory=lease.LeaseTiming)
    lease_name: str = lease.DEFAULT_LEASE_NAME
    tablename: str = TABLENAME
    # Development and tests: fire every N seconds instead of the cron expression.
    every_seconds: float | None = None
    # Posting is I/O bound and schedules are few; two workers let one slow post not delay another.
    workers: int = 2


class Schedules:
    """The schedules of one bot process. `start_scheduler`/`stop_scheduler` follow the lease."""

    def __init__(
        self,
        config: settings.Settings,
        slack: delivery.Slack,
        gather: posting.Gather,
        *,
        state_url: str,
        store: store_mod.StateStore,
        options: Options | None = None,
        identity: str | None = None,
        clock: clock_mod.Clock | None = None,
    ) -> None:
        self.options = options or Options()
        self.triggers = triggers.build_triggers(config.schedules, self.options.every_seconds)
        self.settings = config
        self.gather = gather
        self.store = store
        self.state_url = state_url
        self.identity = identity or default_identity()
        self.clock: clock_mod.Clock = clock or clock_mod.SystemClock()
        self.pipeline = run.Pipeline(
            trail.Trail(store, owner=self.identity), slack, self.clock, metrics=slack.metrics
        )
        self.elector: lease.LeaderElector | None = None
        self._lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None
        # (schedule, run time) of ticks that ran or were skipped as too late, newest last: for
        # logs, metrics and tests (bounded: a schedule fires at most once a minute).
        self.executed: collections.deque[tuple[str, dt.datetime]] = collections.deque(maxlen=500)
        self.missed: collections.deque[tuple[str, dt.datetime]] = collections.deque(maxlen=500)

    # ------------------------------------------------------------------ leadership
    def start_scheduler(self) -> None:
        """on_started_leading: load the stored jobs, reconcile them with the configuration."""
        with self._lock:
            if self._scheduler is not None:
                return
            store = SQLAlchemyJobStore(
                engine=database.create(self.state_url), tablename=self.options.tablename
            )
            scheduler = BackgroundScheduler(
                jobstores={"default": store},
                executors={"default": ThreadPoolExecutor(self.options.workers)},
                job_defaults={
                    "coalesce": True,
                    "misfire_grace_time": int(self.options.misfire_grace_seconds),
                    "max_instances": 1,
                },
                timezone=dt.UTC,
            )
            scheduler.add_listener(
                self._on_event, events.EVENT_JOB_EXECUTED | events.EVENT_JOB_MISSED
            )
            # Paused until reconciled, so a stale job of a removed schedule cannot fire first.
            scheduler.start(paused=True)
            try:
                self._reconcile(scheduler)
            except Exception:
                scheduler.shutdown(wait=False)
                raise
            registry.register(self)  # the pickled jobs find this process's clients through it
            scheduler.resume()
            self._scheduler = scheduler
            log.info("%s runs the scheduler (%d schedules)", self.identity, len(self.triggers))

    def stop_scheduler(self) -> None:
        """on_stopped_leading: stop at once (a post already in flight finishes)."""
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            # APScheduler 3 wakes its thread on shutdown and runs one last pass over the due
            # jobs after the executor is gone: the submit fails, yet the job's next run time is
            # advanced in the shared store, so a due tick would be lost for the next leader.
            # Detaching the job store first leaves that last pass nothing to touch.
            scheduler.pause()
            scheduler.remove_jobstore("default")
            scheduler.shutdown(wait=False)
            log.info("%s stopped the scheduler", self.identity)

    @property
    def scheduler(self) -> BackgroundScheduler | None:
        """The running scheduler on the leader, None elsewhere (tests drive jobs through it)."""
        return self._scheduler

    def stop(self) -> None:
        """Clean shutdown: stop leading (which stops the scheduler) and release the lease."""
        if self.elector is not None:
            self.elector.stop(release=True)
        self.stop_scheduler()
        registry.unregister(self)

    # ------------------------------------------------------------------ queries
    def list_schedules(self) -> list[ScheduleInfo]:
        """`/myctl schedule list`. On the leader the stored next run time is authoritative (it
        may be a pending misfire); elsewhere it is computed from the trigger."""
        now = self.clock.now()
        scheduler = self._scheduler
        found: list[ScheduleInfo] = []
        for schedule in self.settings.schedules:
            job = scheduler.get_job(schedule.name) if scheduler is not None else None
            next_run = (
                job.next_run_time
                if job is not None
                else self.triggers[schedule.name].get_next_fire_time(None, now)
            )
            found.append(triggers.info(schedule, next_run))
        return found

    def schedule(self, name: str) -> settings.Schedule:
        for schedule in self.settings.schedules:
            if schedule.name == name:
                return schedule
        known = ", ".join(s.name for s in self.settings.schedules) or "none configured"
        raise errors.UsageError(f"unknown schedule {name!r} (known: {known})")

    # ------------------------------------------------------------------ posting
    def run_scheduled(self, name: str) -> posting.Posted | None:
        """The job body: post schedule `name` to its channel, if we still lead."""
        if self.elector is not None and not self.elector.is_leader:
            log.warning("%s skipped %s: no longer the leader", self.identity, name)
            return None
        schedule = self.schedule(name)
        now = self.clock.now()
        tick = self.last_tick(name, now) or now
        return self._post(schedule, schedule.channel, "schedule", tick=tick)

    def post_report_now(self, name: str, channel_or_user: str, *, user: str = "") -> posting.Posted:
        """`/myctl report NAME`: post one now to the caller (a channel ID, or a user ID for a
        DM). Any replica may do this; it does not touch the scheduler."""
        schedule = self.schedule(name)
        return self._post(schedule, channel_or_user, user or "schedule", tick=None)

    def last_tick(self, name: str, now: dt.datetime) -> dt.datetime | None:
        """The latest fire time at or before `now` (the tick being run, with coalescing)."""
        return triggers.previous_fire(self.triggers[name], now + dt.timedelta(microseconds=1))

    def _post(
        self, schedule: settings.Schedule, channel: str, user: str, *, tick: dt.datetime | None
    ) -> posting.Posted:
        anchor = tick or self.clock.now()
        since = triggers.previous_fire(self.triggers[schedule.name], anchor)
        return posting.post(
            self.pipeline,
            schedule,
            channel,
            user,
            tick=tick,
            since=since or anchor - dt.timedelta(days=1),
            gather=self.gather,
            runs=self.store,
        )

    # ------------------------------------------------------------------ internals
    def _on_event(self, event: Any) -> None:
        if event.code == events.EVENT_JOB_MISSED:
            log.warning("report %s: the %s tick is past the grace time; skipped", event.job_id,
                        event.scheduled_run_time)  # fmt: skip
            self.missed.append((event.job_id, event.scheduled_run_time))
        else:
            self.executed.append((event.job_id, event.scheduled_run_time))

    def _reconcile(self, scheduler: BackgroundScheduler) -> None:
        grace = int(self.options.misfire_grace_seconds)
        for name, trigger in self.triggers.items():
            job = scheduler.get_job(name)
            if (
                job is not None
                and repr(job.trigger) == repr(trigger)
                and job.func_ref == JOB_FUNC
                and tuple(job.args) == (name,)
            ):
                if job.misfire_grace_time != grace:
                    job.modify(misfire_grace_time=grace, coalesce=True)
                continue  # unchanged: keep its stored next run time (see the module docstring)
            scheduler.add_job(
                JOB_FUNC,
                trigger,
                args=(name,),
                id=name,
                name=f"report {name}",
                replace_existing=True,
                misfire_grace_time=grace,
                coalesce=True,
                max_instances=1,
            )
        for job in scheduler.get_jobs():
            if job.id not in self.triggers:
                job.remove()  # a schedule removed from the configuration


def default_identity() -> str:
    """Pod name (HOSTNAME in Kubernetes) plus a random suffix, so that a restarted container
    with the same name never mistakes the old process's lease for its own."""
    host = os.environ.get("HOSTNAME") or socket.gethostname()
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
