"""Values the state store takes and returns. Frozen, plain data; no SQLAlchemy here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

RunSource = Literal["slack", "cli", "schedule"]
RunState = Literal["running", "finished", "interrupted"]
# pending → approved → executing, or pending → cancelled | expired. Only `pending` accepts votes.
ApprovalState = Literal["pending", "approved", "executing", "cancelled", "expired"]
DecisionKind = Literal["approve", "cancel"]

Record = TypeVar("Record", "RunRecord", "ApprovalRecord")


@dataclass(frozen=True, kw_only=True)
class Asked:
    """Who asked for which command line, where: what a run and an approval request start from.

    Keyword-only, as is every class below built on it: each adds its own fields after these, so
    a position would name a different field in each."""

    command: str
    argv: Sequence[str]  # stored redacted (auditlog.redact_argv)
    user: str  # the run's user; the request's requester
    channel: str


@dataclass(frozen=True, kw_only=True)
class NewRun(Asked):
    """A run about to start (`StateStore.start_run`)."""

    source: str  # RunSource
    dry_run: bool
    owner: str = ""  # the replica's id; "" for the terminal (see `RunRecord.owner`)
    message_ts: str | None = None  # the run's message, when it was posted before the start
    permalink: str | None = None


@dataclass(frozen=True, kw_only=True)
class NewApproval(Asked):
    """An approval request about to be stored (`StateStore.create_approval`)."""

    expires_at: dt.datetime
    plan_text: str


@dataclass(frozen=True, kw_only=True)
class Stored(Asked):
    """What the store keeps of every asked command line, a run's or an approval request's:
    the columns `myctl_runs` and `myctl_approvals` share (`_asked_table`, commands/state/schema.py).
    """

    id: str
    argv: tuple[str, ...]  # read back from its JSON column as a tuple: a record is immutable
    state: str  # RunState or ApprovalState
    # Where its Slack message is: the channel (for a run, or the DM it fell back to) and the
    # message's ts; None until it was posted.
    message_channel: str | None = None
    message_ts: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunRecord(Stored):
    """One command run, from any front door, as recorded in the audit trail."""

    source: str  # RunSource
    dry_run: bool
    started_at: dt.datetime  # aware, UTC
    finished_at: dt.datetime | None
    exit_code: int | None
    summary: str
    permalink: str | None
    owner: str = ""  # process/instance id that started the run (see `mark_interrupted`)
    details: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True, kw_only=True)
class ApprovalRecord(Stored):
    """An approval request. The id is opaque (`secrets.token_urlsafe`) and is the button value;
    `user` is who requested it (the `requester` column)."""

    plan_text: str
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    approvers: tuple[str, ...] = ()  # everyone whose approve vote was counted, in order


class DecisionStatus(enum.Enum):
    """What one call of `StateStore.decide` did."""

    APPROVED = "approved"  # this call moved the request to approved
    RECORDED = "recorded"  # vote counted, more approvals are still needed
    CANCELLED = "cancelled"  # this call moved the request to cancelled
    ALREADY_VOTED = "already_voted"  # this actor's approval was already counted
    NOT_PENDING = "not_pending"  # decided before (approved, cancelled, executing, expired)
    EXPIRED = "expired"  # still pending in the table but past its expiry time
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class DecisionOutcome:
    status: DecisionStatus
    approval: ApprovalRecord | None  # the request as it is after this call
    votes: int = 0  # distinct approvers counted so far
    required: int = 1

    @property
    def won(self) -> bool:
        """True when this call performed the transition (approved or cancelled)."""
        return self.status in (DecisionStatus.APPROVED, DecisionStatus.CANCELLED)


@dataclass(frozen=True)
class AuditEvent:
    """An audit entry that is not a run: approval requests and decisions, refusals."""

    id: int
    kind: str
    actor: str
    channel: str
    at: dt.datetime
    details: dict[str, Any] = field(default_factory=dict, hash=False)


def from_row(kind: type[Record], row: Mapping[Any, Any], **converted: Any) -> Record:
    """A record from its table row: each field from the column of its name, unless `converted`
    gives it (a renamed column, a JSON list as a tuple, a NULL as ""). Columns no field names
    (e.g. `heartbeat_at`, `claimed_at`) stay in the database."""
    names = {f.name for f in dataclasses.fields(kind)} - set(converted)
    return kind(**{name: row[name] for name in names if name in row}, **converted)
