"""`StateStore`: the one entry point to the state database (runs, approvals, audit events).

Thread-safe (one SQLAlchemy engine, one short transaction per call) and safe across processes
and replicas sharing one database. Every audit write also emits one JSON log line
(`auditlog.emit`, logger `myctl.audit`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from commands.state import approval_store, approvals, auditlog, database, records, schema
from commands.values import clock as clocks
from commands.values import errors

R = schema.runs
E = schema.events

# `history` shows at most this many runs: one line each still fits Slack's block limits.
MAX_HISTORY = 100


class StateError(errors.MyctlError):
    """The state database cannot be used (unreachable, schema too new, bad URL)."""

    exit_code = errors.EXIT_USAGE


class StateStore(approval_store.ApprovalStore, contextlib.AbstractContextManager["StateStore"]):
    """Runs and audit events here; approval requests and decisions in `approval_store`.

    A context manager (`with StateStore(url) as store:`) that closes the store on leaving."""

    def __init__(self, url: str, *, clock: clocks.Clock | None = None) -> None:
        self._clock: clocks.Clock = clock or clocks.SystemClock()
        try:
            self._engine = database.create(url)
            # Rendered without the password: this is what logs and errors may show.
            self.url = self._engine.url.render_as_string(hide_password=True)
            with self._engine.begin() as conn:
                self.schema_version = schema.migrate(conn)
        except schema.SchemaTooNew as exc:
            raise StateError(str(exc)) from exc
        except (sa_exc.SQLAlchemyError, ValueError) as exc:
            raise StateError(f"state database unusable: {_describe(exc)}") from exc

    def close(self) -> None:
        self._engine.dispose()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({self.url!r})"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One short transaction, committed on leaving; a database error becomes `StateError`.

        Public for the state package's own modules that add SQL of their kind beside the store
        (deliveries.py, heartbeats.py); nothing outside commands/state writes SQL."""
        try:
            with self._engine.begin() as conn:
                yield conn
        except sa_exc.SQLAlchemyError as exc:
            raise StateError(f"state database error: {_describe(exc)}") from exc

    # ------------------------------------------------------------------ runs

    def start_run(self, new: records.NewRun) -> str:
        run_id = str(uuid.uuid4())
        now = self._clock.now()
        # What the row and the audit line both record (the row names the user `user_id`).
        asked = {
            "command": new.command,
            "argv": auditlog.redact_argv(new.argv),
            "channel": new.channel,
            "source": new.source,
            "dry_run": new.dry_run,
            "permalink": new.permalink,
        }
        with self.transaction() as conn:
            conn.execute(
                R.insert().values(
                    id=run_id,
                    user_id=new.user,
                    state="running",
                    owner=new.owner,
                    started_at=now,
                    summary="",
                    message_channel=new.channel if new.message_ts else None,
                    message_ts=new.message_ts,
                    **asked,
                )
            )
        auditlog.emit("run.started", now, run_id=run_id, user=new.user, **asked)
        return run_id

    def finish_run(
        self, run_id: str, *, exit_code: int, summary: str, details: dict[str, Any] | None = None
    ) -> None:
        now = self._clock.now()
        safe_details = auditlog.redact(details) if details is not None else None
        with self.transaction() as conn:
            conn.execute(
                R.update()
                .where(R.c.id == run_id)
                .values(
                    state="finished",
                    finished_at=now,
                    exit_code=exit_code,
                    summary=summary,
                    details=safe_details,
                )
            )
            row = conn.execute(sa.select(R).where(R.c.id == run_id)).mappings().first()
        record = run_record(row) if row is not None else None
        auditlog.emit(
            "run.finished",
            now,
            run_id=run_id,
            command=record.command if record else None,
            user=record.user if record else None,
            channel=record.channel if record else None,
            exit_code=exit_code,
            summary=summary,
            permalink=record.permalink if record else None,
        )

    def set_run_message(
        self, run_id: str, *, channel: str, message_ts: str, permalink: str | None
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                R.update()
                .where(R.c.id == run_id)
                .values(message_channel=channel, message_ts=message_ts, permalink=permalink)
            )

    def get_run(self, run_id: str) -> records.RunRecord | None:
        with self.transaction() as conn:
            row = conn.execute(sa.select(R).where(R.c.id == run_id)).mappings().first()
        return None if row is None else run_record(row)

    def mark_interrupted(self, owner: str | None = None) -> list[records.RunRecord]:
        """Runs left "running" by a process that died become "interrupted"; returns them.

        `owner=None` takes every running run: right for one replica, called once at start
        before any new run. With several replicas pass the stable id of this replica (e.g. a
        StatefulSet pod name) so a starting replica never touches runs of a live one.
        """
        condition = R.c.state == "running"
        if owner is not None:
            condition = sa.and_(condition, R.c.owner == owner)
        return self.interrupt_where(condition, self._clock.now(), reason="restart")

    def interrupt_where(
        self, condition: Any, now: dt.datetime, *, reason: str
    ) -> list[records.RunRecord]:
        """Running runs matching `condition` (a SQL expression on the runs table) become
        "interrupted", each by a conditional UPDATE so a run that finished in between, or that
        another replica marked, is left alone; returns those THIS call marked, audited."""
        interrupted: list[records.RunRecord] = []
        with self.transaction() as conn:
            ids = list(conn.execute(sa.select(R.c.id).where(condition)).scalars())
            for run_id in ids:
                done = conn.execute(
                    R.update()
                    .where(R.c.id == run_id, R.c.state == "running", condition)
                    .values(state="interrupted", finished_at=now)
                )
                if done.rowcount == 1:
                    row = conn.execute(sa.select(R).where(R.c.id == run_id)).mappings().one()
                    interrupted.append(run_record(row))
        for run in interrupted:
            auditlog.emit(
                "run.interrupted",
                now,
                run_id=run.id,
                command=run.command,
                user=run.user,
                channel=run.channel,
                permalink=run.permalink,
                reason=reason,
                owner=run.owner,
            )
        return interrupted

    def runs_since(self, since: dt.datetime) -> list[records.RunRecord]:
        """Runs started at or after `since`, oldest first."""
        with self.transaction() as conn:
            rows = conn.execute(
                sa.select(R).where(R.c.started_at >= since).order_by(R.c.started_at, R.c.id)
            ).mappings()
            return [run_record(row) for row in rows]

    def latest_runs(self, limit: int) -> list[records.RunRecord]:
        """The `limit` most recent runs, newest first."""
        with self.transaction() as conn:
            rows = conn.execute(
                sa.select(R).order_by(R.c.started_at.desc(), R.c.id).limit(max(limit, 0))
            ).mappings()
            return [run_record(row) for row in rows]

    def history(self, limit: int) -> list[records.RunRecord]:
        """`/myctl history [N]`: the latest runs, newest first, N clamped to 1..MAX_HISTORY."""
        return self.latest_runs(min(max(limit, 1), MAX_HISTORY))

    # ------------------------------------------------------------------ audit events

    def record_event(self, kind: str, *, actor: str, channel: str, details: dict[str, Any]) -> None:
        now = self._clock.now()
        safe = auditlog.redact(details)
        with self.transaction() as conn:
            conn.execute(
                E.insert().values(kind=kind, actor=actor, channel=channel, at=now, details=safe)
            )
        auditlog.emit(kind, now, actor=actor, channel=channel, details=safe)

    def events_since(self, since: dt.datetime) -> list[records.AuditEvent]:
        """Audit events (not runs) at or after `since`, oldest first."""
        with self.transaction() as conn:
            rows = conn.execute(
                sa.select(E).where(E.c.at >= since).order_by(E.c.at, E.c.id)
            ).mappings()
            return [
                records.AuditEvent(
                    id=row["id"],
                    kind=row["kind"],
                    actor=row["actor"],
                    channel=row["channel"],
                    at=row["at"],
                    details=dict(row["details"] or {}),
                )
                for row in rows
            ]


def run_record(row: sa.RowMapping) -> records.RunRecord:
    return records.from_row(
        records.RunRecord,
        row,
        argv=approvals.argv_tuple(row["argv"]),
        user=row["user_id"],
        dry_run=bool(row["dry_run"]),
        summary=row["summary"] or "",
        owner=row["owner"] or "",
        details=dict(row["details"]) if row["details"] is not None else None,
    )


def _describe(exc: BaseException) -> str:
    """The driver's one-line reason, without SQL text or bound parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return auditlog.redact(text[0]) if text else type(exc).__name__
