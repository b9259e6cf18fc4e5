"""Tables, the UTC timestamp type and schema migrations.

How the schema evolves (see docs/state.md):

* `SCHEMA_VERSION` is the version the tables below describe. A fresh database gets the current
  tables in one `create_all` and is stamped with `SCHEMA_VERSION` directly.
* An existing database at version N < `SCHEMA_VERSION` gets `MIGRATIONS[N + 1]`, ...,
  `MIGRATIONS[SCHEMA_VERSION]` applied in order, in the same transaction as the version bump.
* To change the schema: edit the tables below, bump `SCHEMA_VERSION`, and add the function
  that brings a database from the previous version to the new one (`ALTER TABLE ...`, written
  so it runs on SQLite and PostgreSQL) to `MIGRATIONS`.
* Migrations run under a lock (a PostgreSQL advisory lock, SQLite's `BEGIN IMMEDIATE`) so
  replicas starting together migrate once. A database newer than the code is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

SCHEMA_VERSION = 3
# Any constant works; it only has to be the same in every replica (PostgreSQL advisory lock key).
MIGRATION_LOCK_KEY = 0x6D7963746C  # "myctl"


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, stored as UTC on every backend.

    SQLite has no time zones (it would drop the offset silently), so values are converted to
    UTC before they are stored; naive values are refused rather than guessed.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the state store stores UTC only")
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


metadata = sa.MetaData()


def _asked_table(name: str, id_type: sa.String, who: str, *own: sa.schema.SchemaItem) -> sa.Table:
    """A table of asked command lines, runs and approval requests alike (`records.Stored`): the
    id, who asked for which command line where, its state, its `own` columns, and where its
    Slack message is (NULL until it was posted). `who` names the asker's column."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", id_type, primary_key=True),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("argv", sa.JSON, nullable=False),
        sa.Column(who, sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        *own,
        sa.Column("message_channel", sa.String(64)),
        sa.Column("message_ts", sa.String(32)),
    )


def _counted_table(name: str, *own: sa.schema.SchemaItem) -> sa.Table:
    """A table of things that happened (audit events, handled webhook deliveries), one row each,
    keyed by a number the database counts up: nothing refers to these rows by their id."""
    return sa.Table(
        name, metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True), *own
    )


schema_version = sa.Table(
    "myctl_schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1: a single row
    sa.Column("version", sa.Integer, nullable=False),
)

runs = _asked_table(
    "myctl_runs",
    sa.String(36),  # a uuid4
    "user_id",
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("owner", sa.String(255), nullable=False, server_default=""),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("exit_code", sa.Integer),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("details", sa.JSON),
    sa.Column("permalink", sa.Text),
    # The owner replica's last heartbeat while the run is "running" (commands/state/heartbeats.py);
    # NULL until the first one, when `started_at` stands in for it.
    sa.Column("heartbeat_at", UTCDateTime),
    sa.Index("ix_myctl_runs_started_at", "started_at"),
    sa.Index("ix_myctl_runs_state", "state"),
)

approvals = _asked_table(
    "myctl_approvals",
    sa.String(64),  # secrets.token_urlsafe(32) is 43 characters
    "requester",
    sa.Column("plan_text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", UTCDateTime),
    sa.Column("claimed_at", UTCDateTime),
    sa.Index("ix_myctl_approvals_state_expires", "state", "expires_at"),
)

# One row per approve vote; the unique key makes "the same person clicked twice" count once.
approval_votes = sa.Table(
    "myctl_approval_votes",
    metadata,
    sa.Column(
        "approval_id",
        sa.String(64),
        sa.ForeignKey("myctl_approvals.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("approval_id", "actor", name="uq_myctl_approval_votes_actor"),
)

events = _counted_table(
    "myctl_audit_events",
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_myctl_audit_events_at", "at"),
)

# Registry webhook deliveries already handled (commands/state/deliveries.py): the unique key
# makes a retried or replayed delivery lose the insert, on every replica sharing the database.
hook_deliveries = _counted_table(
    "myctl_hook_deliveries",
    sa.Column("trigger_name", sa.String(64), nullable=False),
    sa.Column("delivery_id", sa.String(255), nullable=False),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("trigger_name", "delivery_id", name="uq_myctl_hook_deliveries_id"),
    sa.Index("ix_myctl_hook_deliveries_claimed_at", "claimed_at"),
)


def _v2(conn: sa.Connection) -> None:
    """Version 2 adds `myctl_hook_deliveries` (a new table: plain CREATE on both backends)."""
    hook_deliveries.create(conn, checkfirst=True)


def _v3(conn: sa.Connection) -> None:
    """Version 3 adds `myctl_runs.heartbeat_at` (nullable: existing rows need no value)."""
    if "heartbeat_at" in {col["name"] for col in sa.inspect(conn).get_columns(runs.name)}:
        return  # a database created from these tables at an older stamp already has it
    column = runs.c.heartbeat_at.type.compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE {runs.name} ADD COLUMN heartbeat_at {column}"))


# MIGRATIONS[n] brings a database from version n - 1 to n. Version 1 is the first schema.
MIGRATIONS: dict[int, Callable[[sa.Connection], None]] = {2: _v2, 3: _v3}


class SchemaTooNew(Exception):
    def __init__(self, found: int) -> None:
        super().__init__(
            f"the state database has schema version {found}, newer than this myctl understands "
            f"({SCHEMA_VERSION}); upgrade myctl"
        )


def migrate(conn: sa.Connection) -> int:
    """Create or migrate the schema inside the caller's transaction; return the version."""
    if conn.dialect.name == "postgresql":
        # Released at commit. Replicas starting together queue here instead of racing DDL.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    inspector = sa.inspect(conn)
    if not inspector.has_table(schema_version.name):
        metadata.create_all(conn, checkfirst=True)
        conn.execute(schema_version.insert().values(id=1, version=SCHEMA_VERSION))
        return SCHEMA_VERSION
    found = conn.execute(sa.select(schema_version.c.version)).scalar_one()
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(found)
    for version in range(found + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn)
        conn.execute(schema_version.update().values(version=version))
    return SCHEMA_VERSION
