"""Approval requests and decisions in the state store: the `StateStore` methods for them.

Every state change is one conditional UPDATE whose row count decides (`approvals.py`), so a
request is approved, cancelled, expired or claimed at most once across clicks, threads and
replicas. A mixin of `store.StateStore`, which provides the transaction and the clock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt

import sqlalchemy as sa

from commands.state import approvals, auditlog, records
from commands.values import clock as clocks


class ApprovalStore:
    _clock: clocks.Clock

    def transaction(self) -> contextlib.AbstractContextManager[sa.Connection]:
        raise NotImplementedError  # `store.StateStore.transaction`

    def create_approval(self, new: records.NewApproval) -> records.ApprovalRecord:
        safe = dataclasses.replace(new, argv=auditlog.redact_argv(new.argv))
        with self.transaction() as conn:
            approval_id = approvals.create(conn, safe, now=self._clock.now())
            record = approvals.get(conn, approval_id)
        assert record is not None
        return record

    def get_approval(self, approval_id: str) -> records.ApprovalRecord | None:
        with self.transaction() as conn:
            return approvals.get(conn, approval_id)

    def set_approval_message(self, approval_id: str, channel: str, ts: str) -> None:
        with self.transaction() as conn:
            approvals.set_message(conn, approval_id, channel, ts)

    def pending_approvals(self) -> list[records.ApprovalRecord]:
        """Requests still pending (some may be past expiry until `expire_due` runs)."""
        with self.transaction() as conn:
            return approvals.list_pending(conn)

    def decide(
        self,
        approval_id: str,
        *,
        decision: records.DecisionKind,
        actor: str,
        now: dt.datetime,
        required: int = 1,
    ) -> records.DecisionOutcome:
        """Approve or cancel atomically. Authorization is the caller's job (bot/approvals)."""
        if decision not in ("approve", "cancel"):
            raise ValueError(f"unknown decision {decision!r}")
        required = max(required, 1)
        with self.transaction() as conn:
            if decision == "cancel":
                if approvals.decide_single(
                    conn, approval_id, to_state="cancelled", actor=actor, now=now
                ):
                    return self._outcome(conn, approval_id, records.DecisionStatus.CANCELLED, 1)
                return self._refusal(conn, approval_id, now, required)
            if required == 1:
                if approvals.decide_single(
                    conn, approval_id, to_state="approved", actor=actor, now=now
                ):
                    approvals.add_vote(conn, approval_id, actor, now)
                    return self._outcome(conn, approval_id, records.DecisionStatus.APPROVED, 1)
                return self._refusal(conn, approval_id, now, required)
            if not approvals.lock_pending(conn, approval_id, now):
                return self._refusal(conn, approval_id, now, required)
            if not approvals.add_vote(conn, approval_id, actor, now):
                status = records.DecisionStatus.ALREADY_VOTED
                return self._outcome(conn, approval_id, status, required)
            votes = approvals.count_votes(conn, approval_id)
            if votes < required:
                return self._outcome(conn, approval_id, records.DecisionStatus.RECORDED, required)
            flipped = approvals.decide_single(
                conn, approval_id, to_state="approved", actor=actor, now=now
            )
            # The row lock makes a lost race here impossible; report it honestly if it happens.
            status = (
                records.DecisionStatus.APPROVED if flipped else records.DecisionStatus.NOT_PENDING
            )
            return self._outcome(conn, approval_id, status, required)

    def claim_execution(self, approval_id: str, *, now: dt.datetime | None = None) -> bool:
        """approved → executing, at most once across clicks, threads and replicas."""
        with self.transaction() as conn:
            return approvals.claim(conn, approval_id, now or self._clock.now())

    def expire_due(self, now: dt.datetime) -> list[records.ApprovalRecord]:
        """Pending requests past expiry become "expired"; returns those THIS call expired."""
        expired: list[records.ApprovalRecord] = []
        with self.transaction() as conn:
            for approval_id in approvals.due(conn, now):
                if approvals.expire_one(conn, approval_id, now):
                    record = approvals.get(conn, approval_id)
                    if record is not None:
                        expired.append(record)
        return expired

    @staticmethod
    def _outcome(
        conn: sa.Connection, approval_id: str, status: records.DecisionStatus, required: int
    ) -> records.DecisionOutcome:
        record = approvals.get(conn, approval_id)
        votes = len(record.approvers) if record else 0
        return records.DecisionOutcome(status, record, votes=votes, required=required)

    @staticmethod
    def _refusal(
        conn: sa.Connection, approval_id: str, now: dt.datetime, required: int
    ) -> records.DecisionOutcome:
        record = approvals.get(conn, approval_id)
        if record is None:
            status = records.DecisionStatus.NOT_FOUND
        elif record.state == "pending":
            # The only way a pending request refuses a decision is being past its expiry.
            status = records.DecisionStatus.EXPIRED
        else:
            status = records.DecisionStatus.NOT_PENDING
        votes = len(record.approvers) if record else 0
        return records.DecisionOutcome(status, record, votes=votes, required=required)
