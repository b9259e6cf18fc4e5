"""Fakes of our own ports for the schedule tests: a run store and an in-memory Lease."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import threading
from dataclasses import dataclass
from typing import Any

from commands.kube import lease
from commands.state import records


@dataclass
class FakeRunStore:
    """Implements the StateStore calls the scheduler and the report make."""

    runs: list[records.RunRecord] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, command: str, exit_code: int | None, at: dt.datetime, **kw: Any) -> None:
        state = kw.pop("state", "finished" if exit_code is not None else "running")
        with self._lock:
            self.runs.append(
                records.RunRecord(
                    id=str(next(self._ids)),
                    command=command,
                    argv=(command,),
                    user=kw.pop("user", "U123"),
                    channel="C1",
                    source=kw.pop("source", "slack"),
                    dry_run=False,
                    state=state,
                    started_at=at,
                    finished_at=at if exit_code is not None else None,
                    exit_code=exit_code,
                    summary=kw.pop("summary", ""),
                    message_ts=None,
                    permalink=None,
                )
            )

    def runs_since(self, since: dt.datetime) -> list[records.RunRecord]:
        with self._lock:
            return [r for r in self.runs if r.started_at >= since]

    def start_run(self, new: records.NewRun) -> str:
        now = dt.datetime.now(dt.UTC)
        run_id = str(next(self._ids))
        # Every field of a NewRun is a RunRecord field of the same name, as in the store.
        asked = {**dataclasses.asdict(new), "argv": tuple(new.argv)}
        with self._lock:
            self.runs.append(
                records.RunRecord(
                    id=run_id,
                    state="running",
                    started_at=now,
                    finished_at=None,
                    exit_code=None,
                    summary="",
                    **asked,
                )
            )
        return run_id

    def finish_run(self, run_id: str, *, exit_code: int, summary: str, **_: Any) -> None:
        with self._lock:
            self.runs = [
                dataclasses.replace(r, state="finished", exit_code=exit_code, summary=summary)
                if r.id == run_id
                else r
                for r in self.runs
            ]


class MemoryLease:
    """A Lease with resourceVersion semantics; `fail` makes every call raise (API down)."""

    def __init__(self) -> None:
        self.record: lease.LeaseRecord | None = None
        self._rv = itertools.count(1)
        self.fail = False

    def _check(self) -> None:
        if self.fail:
            from commands.values import errors

            raise errors.ServerError("the API server is unreachable (test)")

    def get(self) -> lease.LeaseRecord | None:
        self._check()
        return self.record

    def create(self, record: lease.LeaseRecord) -> lease.LeaseRecord:
        self._check()
        if self.record is not None:
            raise lease.LeaseConflict("exists")
        self.record = dataclasses.replace(record, resource_version=str(next(self._rv)))
        return self.record

    def replace(self, record: lease.LeaseRecord) -> lease.LeaseRecord:
        self._check()
        if self.record is None or self.record.resource_version != record.resource_version:
            raise lease.LeaseConflict("changed")
        self.record = dataclasses.replace(record, resource_version=str(next(self._rv)))
        return self.record
