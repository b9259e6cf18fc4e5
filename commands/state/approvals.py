"""Approval requests in SQL: every state change is one conditional UPDATE and its row count.

Under PostgreSQL's READ COMMITTED a conditional UPDATE that waited for another transaction's
row lock re-checks its WHERE clause against the committed row, so of N concurrent
`pending → approved` updates exactly one matches. SQLite serializes writers (`BEGIN
IMMEDIATE`), which gives the same answer. Called by `store.StateStore` inside a transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa

from commands.state import records, schema

T = schema.approvals
V = schema.approval_votes

# 32 random bytes, URL-safe: unguessable, and far below Slack's 2000-character button value.
ID_BYTES = 32


def create(conn: sa.Connection, new: records.NewApproval, *, now: dt.datetime) -> str:
    approval_id = secrets.token_urlsafe(ID_BYTES)
    conn.execute(
        T.insert().values(
            id=approval_id,
            command=new.command,
            argv=list(new.argv),
            requester=new.user,
            channel=new.channel,
            state="pending",
            plan_text=new.plan_text,
            created_at=now,
            expires_at=new.expires_at,
        )
    )
    return approval_id


def get(conn: sa.Connection, approval_id: str) -> records.ApprovalRecord | None:
    row = conn.execute(sa.select(T).where(T.c.id == approval_id)).mappings().first()
    return None if row is None else _record(conn, row)


def list_pending(conn: sa.Connection) -> list[records.ApprovalRecord]:
    rows = conn.execute(
        sa.select(T).where(T.c.state == "pending").order_by(T.c.created_at)
    ).mappings()
    return [_record(conn, row) for row in rows]


def set_message(conn: sa.Connection, approval_id: str, channel: str, ts: str) -> None:
    conn.execute(
        T.update().where(T.c.id == approval_id).values(message_channel=channel, message_ts=ts)
    )


def decide_single(
    conn: sa.Connection,
    approval_id: str,
    *,
    to_state: str,
    actor: str,
    now: dt.datetime,
) -> bool:
    """pending & unexpired → `to_state` in one statement; True if this call did it."""
    result = conn.execute(
        T.update()
        .where(T.c.id == approval_id, T.c.state == "pending", T.c.expires_at > now)
        .values(state=to_state, decided_by=actor, decided_at=now)
    )
    return result.rowcount == 1


def lock_pending(conn: sa.Connection, approval_id: str, now: dt.datetime) -> bool:
    """Lock the request row for the rest of the transaction if it still accepts votes.

    Counting votes and flipping the state must not interleave between two voters, or two
    concurrent second votes could each count only themselves and neither would approve.
    `FOR UPDATE` serializes them on PostgreSQL; SQLite already serializes all writers.
    """
    row = conn.execute(
        sa.select(T.c.id)
        .where(T.c.id == approval_id, T.c.state == "pending", T.c.expires_at > now)
        .with_for_update()
    ).first()
    return row is not None


def add_vote(conn: sa.Connection, approval_id: str, actor: str, now: dt.datetime) -> bool:
    """Record `actor`'s approve vote; False when it was already counted."""
    exists = conn.execute(
        sa.select(V.c.actor).where(V.c.approval_id == approval_id, V.c.actor == actor)
    ).first()
    if exists is not None:
        return False
    conn.execute(V.insert().values(approval_id=approval_id, actor=actor, at=now))
    return True


def count_votes(conn: sa.Connection, approval_id: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(V).where(V.c.approval_id == approval_id)
        ).scalar_one()
    )


def claim(conn: sa.Connection, approval_id: str, now: dt.datetime) -> bool:
    result = conn.execute(
        T.update()
        .where(T.c.id == approval_id, T.c.state == "approved")
        .values(state="executing", claimed_at=now)
    )
    return result.rowcount == 1


def due(conn: sa.Connection, now: dt.datetime) -> list[str]:
    rows = conn.execute(
        sa.select(T.c.id).where(T.c.state == "pending", T.c.expires_at <= now)
    ).scalars()
    return list(rows)


def expire_one(conn: sa.Connection, approval_id: str, now: dt.datetime) -> bool:
    result = conn.execute(
        T.update()
        .where(T.c.id == approval_id, T.c.state == "pending", T.c.expires_at <= now)
        .values(state="expired", decided_at=now)
    )
    return result.rowcount == 1


def _record(conn: sa.Connection, row: sa.RowMapping) -> records.ApprovalRecord:
    voters = conn.execute(
        sa.select(V.c.actor).where(V.c.approval_id == row["id"]).order_by(V.c.at, V.c.actor)
    ).scalars()
    return records.from_row(
        records.ApprovalRecord,
        row,
        argv=argv_tuple(row["argv"]),
        user=row["requester"],
        approvers=tuple(voters),
    )


def argv_tuple(value: Any) -> tuple[str, ...]:
    """A stored JSON argv as the tuple our records hold (also for runs, in store.py)."""
    return tuple(str(part) for part in value or ())
