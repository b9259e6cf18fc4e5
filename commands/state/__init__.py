"""State adapter: the SQL state store (runs audit trail, approvals, audit events).

The only package that imports SQLAlchemy. SQLite by default (one replica), PostgreSQL for
several replicas sharing one database; every transition that must happen once (approve,
claim, expire) is a conditional UPDATE whose row count says who won, never a read-then-write
in Python. Nothing here knows about Slack, click or Kubernetes: callers pass plain strings.

database.py builds the SQLAlchemy engine; store.py is the store; trail.py records runs for every
front door (CLI, Slack, schedules), best effort.
"""
