"""Run heartbeats: no run stays "running" after the replica that owned it died.

Every live bot replica stamps `heartbeat_at` on its own running runs every few seconds (one
UPDATE for all of them). Any live replica sweeps: a bot run (non-empty owner) still "running"
whose heartbeat — or, before the first one, its start — is older than the cutoff is marked
"interrupted", conditionally, so of several replicas sweeping at once exactly one marks each
run (and updates its message). Runs from a terminal (owner "") have no heartbeat and are
never swept: a `myctl restart --wait` may legitimately run for many minutes.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from commands.state import records, schema
from commands.state import store as store_mod

R = schema.runs
# Functions on the store's public transaction rather than StateStore methods, as
# commands/state/deliveries.py does: one module per concern, and store.py stays small.


def beat(store: store_mod.StateStore, owner: str, now: dt.datetime) -> int:
    """Stamp `owner`'s running runs as alive at `now`; returns how many."""
    with store.transaction() as conn:
        done = conn.execute(
            R.update().where(R.c.owner == owner, R.c.state == "running").values(heartbeat_at=now)
        )
        return int(done.rowcount or 0)


def mark_stale(
    store: store_mod.StateStore, *, before: dt.datetime, now: dt.datetime
) -> list[records.RunRecord]:
    """Bot runs whose owner last beat before `before` become "interrupted"; returns those THIS
    call marked (each one exactly once across replicas)."""
    last_seen = sa.func.coalesce(R.c.heartbeat_at, R.c.started_at)
    stale = sa.and_(R.c.state == "running", R.c.owner != "", last_seen < before)
    # Conditional on still being stale: a run that finished or beat since is left alone.
    return store.interrupt_where(stale, now, reason="stale")
