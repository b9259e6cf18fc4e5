"""Building the SQLAlchemy engine for SQLite or PostgreSQL.

SQLite is made safe for a multi-threaded bot and for a CLI running next to it:
WAL (readers do not block the writer), a busy timeout (a writer waits for the lock instead of
failing with "database is locked"), and every transaction opened with `BEGIN IMMEDIATE`, which
takes the write lock up front. Without that, a transaction that read first and writes second
can fail with SQLITE_BUSY even with a busy timeout, when another writer got in between.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, pool

# Milliseconds a SQLite writer waits for the lock. Thirty seconds outlasts any transaction here
# (each is a handful of statements) by orders of magnitude, even on a slow disk.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(parsed)
    # pool_pre_ping: a connection dropped by a PostgreSQL restart or failover is replaced
    # transparently instead of failing the next Slack click.
    return sa.create_engine(parsed, pool_pre_ping=True)


def _sqlite(parsed: sa.URL) -> sa.Engine:
    memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {
        "pool_pre_ping": True,
        "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    }
    if memory:
        # One shared connection, or every pooled connection would see its own empty database.
        # Suitable for single-threaded tests only.
        kwargs["poolclass"] = pool.StaticPool
    engine = sa.create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver level, so that the `begin` hook below decides how
        # transactions start (pysqlite would otherwise defer BEGIN until the first write).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                # NORMAL is durable across application crashes in WAL mode; only a power loss
                # may lose the last transactions, which is acceptable for an audit trail.
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
