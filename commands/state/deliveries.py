"""Registry webhook deliveries handled once, across retries, replays and replicas.

`claim_delivery` is one `INSERT … ON CONFLICT` on the unique key (trigger, delivery id): of any
number of concurrent claims of one delivery, on any number of replicas sharing the database,
exactly one inserts the row and wins; the others conflict and lose. PostgreSQL makes a
concurrent inserter of the same key wait for the first transaction and then sees its row;
SQLite serializes writers (`BEGIN IMMEDIATE`, commands/state/engine.py). Both dialects
spell the upsert the same way, so there is no read-then-write in Python.

Rows are kept `RETENTION` and pruned by later claims. A delivery id seen longer ago than that
counts as new again (the conflicting row is re-stamped), so pruning is only housekeeping and
never decides an outcome.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from commands.state import schema
from commands.state import store as store_mod

D = schema.hook_deliveries

# 72 hours, beyond the 24 h design minimum: GitHub offers a delivery for redelivery for three
# days, and a registry that retries for a day after an outage must not roll out twice.
RETENTION = dt.timedelta(hours=72)
# Rows removed per claim at most: bounded work on the request path, and still far more than
# deliveries arrive, so the table never grows past a few days of traffic.
PRUNE_BATCH = 100
_MAX_ID = 255  # the column width; longer ids are hashed, not truncated (no false duplicates)


def claim_delivery(
    store: store_mod.StateStore,
    *,
    trigger: str,
    delivery_id: str,
    now: dt.datetime,
    keep: dt.timedelta = RETENTION,
) -> bool:
    """True if this call is the first to handle `delivery_id` for `trigger` within `keep`.

    `keep` (at most RETENTION) is how long a claim counts: shorter for ids that may recur
    legitimately (bot/hooks/delivery.py). Also prunes up to PRUNE_BATCH rows older than
    RETENTION in the same short transaction. Raises `StateError` when the database fails.
    """
    # A function beside the store rather than a StateStore method: one module per kind of row.
    with store.transaction() as conn:
        won = claim(conn, trigger=trigger, delivery_id=delivery_id, now=now, keep=keep)
        prune(conn, before=now - RETENTION)
    return won


def claim(
    conn: sa.Connection,
    *,
    trigger: str,
    delivery_id: str,
    now: dt.datetime,
    keep: dt.timedelta = RETENTION,
) -> bool:
    if now.tzinfo is None:
        raise ValueError("naive datetime: deliveries are claimed in UTC")
    keep = min(keep, RETENTION)
    key = delivery_id if len(delivery_id) <= _MAX_ID else _hashed(delivery_id)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(D).values(trigger_name=trigger, delivery_id=key, claimed_at=now)
    upsert = insert.on_conflict_do_update(
        index_elements=[D.c.trigger_name, D.c.delivery_id],
        set_={"claimed_at": now},
        # Only a row older than the retention may be taken over; a fresh one means "seen".
        where=D.c.claimed_at < now - keep,
    )
    # RETURNING, not rowcount: with an upsert, drivers disagree on what rowcount counts.
    return conn.execute(upsert.returning(D.c.id)).first() is not None


def prune(conn: sa.Connection, *, before: dt.datetime, limit: int = PRUNE_BATCH) -> int:
    """Delete up to `limit` rows claimed before `before`; returns how many went.

    `SKIP LOCKED` (PostgreSQL; SQLite has a single writer anyway) lets replicas pruning at the
    same moment take disjoint rows instead of waiting on, or deadlocking with, each other.
    """
    stale = list(
        conn.execute(
            sa.select(D.c.id)
            .where(D.c.claimed_at < before)
            .order_by(D.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    if not stale:
        return 0
    conn.execute(D.delete().where(D.c.id.in_(stale)))
    return len(stale)


def count(store: store_mod.StateStore, *, trigger: str | None = None) -> int:
    """Rows currently kept (for tests and the metrics endpoint)."""
    query = sa.select(sa.func.count()).select_from(D)
    if trigger is not None:
        query = query.where(D.c.trigger_name == trigger)
    with store.transaction() as conn:
        return int(conn.execute(query).scalar_one())


def _hashed(delivery_id: str) -> str:
    return "sha256:" + hashlib.sha256(delivery_id.encode("utf-8")).hexdigest()
