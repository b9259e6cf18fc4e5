"""The state store on SQLite and PostgreSQL: schema, runs, audit events, approvals."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import sqlalchemy as sa

from commands.state import records, schema
from commands.state import store as store_mod
from commands.values import clock as clocks

MINUTE = dt.timedelta(minutes=1)


def _approval(
    store: store_mod.StateStore, clock: clocks.FakeClock, minutes: int = 15
) -> records.ApprovalRecord:
    return store.create_approval(
        records.NewApproval(
            command="rebuild",
            argv=["rebuild"],
            user="U_REQ",
            channel="C1",
            expires_at=clock.now() + minutes * MINUTE,
            plan_text="scan 3 namespaces",
        )
    )


def _run(store: store_mod.StateStore, **overrides: object) -> str:
    fields: dict[str, object] = {
        "command": "check",
        "argv": ["check"],
        "user": "U1",
        "channel": "C1",
        "source": "slack",
        "dry_run": False,
    }
    fields.update(overrides)
    return store.start_run(records.NewRun(**fields))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- schema


def test_reopening_keeps_data_and_schema_version(state_url: str, clock: clocks.FakeClock) -> None:
    with store_mod.StateStore(state_url, clock=clock) as first:
        run_id = _run(first)
        assert first.schema_version == schema.SCHEMA_VERSION
    with store_mod.StateStore(state_url, clock=clock) as second:
        run = second.get_run(run_id)
        assert run is not None and run.state == "running"


def test_database_newer_than_the_code_is_refused(state_url: str) -> None:
    store_mod.StateStore(state_url).close()
    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        conn.execute(schema.schema_version.update().values(version=schema.SCHEMA_VERSION + 1))
    engine.dispose()
    with pytest.raises(store_mod.StateError, match="newer than this myctl"):
        store_mod.StateStore(state_url)


def test_unreachable_database_is_a_state_error_without_the_password() -> None:
    url = "postgresql+psycopg://me:hunter2@127.0.0.1:1/nowhere?connect_timeout=2"
    with pytest.raises(store_mod.StateError) as caught:
        store_mod.StateStore(url)
    assert "hunter2" not in str(caught.value)
    assert caught.value.exit_code == 2


# --------------------------------------------------------------------------- runs


def test_run_is_recorded_from_start_to_finish(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    run_id = _run(store, command="rebuild", argv=["rebuild", "--force"], source="cli")
    started = store.get_run(run_id)
    assert started is not None
    assert (started.state, started.exit_code, started.finished_at) == ("running", None, None)
    assert started.argv == ("rebuild", "--force")
    assert started.started_at == clock.now() and started.started_at.tzinfo == dt.UTC
    clock.advance(30)
    store.set_run_message(run_id, channel="C1", message_ts="1.0001", permalink="https://x/p1")
    store.finish_run(run_id, exit_code=3, summary="2 restarted, 1 failed", details={"n": 3})
    run = store.get_run(run_id)
    assert run is not None
    assert run.state == "finished" and run.exit_code == 3
    assert run.summary == "2 restarted, 1 failed" and run.details == {"n": 3}
    assert run.finished_at == clock.now()
    assert (run.message_ts, run.permalink) == ("1.0001", "https://x/p1")


def test_interrupted_runs_are_marked_and_returned_once(store: store_mod.StateStore) -> None:
    mine = _run(store, owner="pod-a", message_ts="1.1", permalink="https://x/p")
    other = _run(store, owner="pod-b")
    done = _run(store, owner="pod-a")
    store.finish_run(done, exit_code=0, summary="ok")
    interrupted = store.mark_interrupted(owner="pod-a")
    assert [r.id for r in interrupted] == [mine]
    assert interrupted[0].state == "interrupted" and interrupted[0].message_ts == "1.1"
    assert store.mark_interrupted(owner="pod-a") == []
    assert [r.id for r in store.mark_interrupted()] == [other]
    finished = store.get_run(done)
    assert finished is not None and finished.state == "finished"


def test_runs_since_returns_runs_started_at_or_after(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    old = _run(store)
    clock.advance(3600)
    boundary = clock.now()
    new = _run(store)
    clock.advance(60)
    newer = _run(store)
    assert [r.id for r in store.runs_since(boundary)] == [new, newer]
    assert old in [r.id for r in store.runs_since(boundary - 2 * dt.timedelta(hours=1))]
    # A since in another time zone means the same instant.
    berlin = boundary.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert [r.id for r in store.runs_since(berlin)] == [new, newer]


def test_latest_runs_and_history_are_newest_first_and_clamped(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    ids = []
    for _ in range(5):
        ids.append(_run(store))
        clock.advance(1)
    assert [r.id for r in store.latest_runs(3)] == ids[::-1][:3]
    assert [r.id for r in store.history(0)] == [ids[-1]]
    assert len(store.history(10_000)) == 5


def test_secrets_never_reach_the_rows_or_the_log(
    store: store_mod.StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="myctl.audit")
    run_id = _run(store, argv=["check", "--note", "xoxb-1234-abcd"])
    store.finish_run(run_id, exit_code=0, summary="ok", details={"slack_token": "plain"})
    store.record_event(
        "authorization.refused",
        actor="U1",
        channel="C1",
        details={"url": "postgresql://me:hunter2@db/x", "reason": "not allowed"},
    )
    run = store.get_run(run_id)
    assert run is not None and run.argv == ("check", "--note", "[redacted]")
    assert run.details == {"slack_token": "[redacted]"}
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "myctl.audit"]
    assert [line["audit"] for line in lines] == [
        "run.started",
        "run.finished",
        "authorization.refused",
    ]
    text = caplog.text
    assert "xoxb-1234" not in text and "hunter2" not in text and "plain" not in text
    event = store.events_since(run.started_at)[-1]
    assert event.details == {"url": "postgresql://me:[redacted]@db/x", "reason": "not allowed"}


def test_naive_datetimes_are_refused(store: store_mod.StateStore) -> None:
    with pytest.raises((store_mod.StateError, ValueError)):
        store.runs_since(dt.datetime(2026, 1, 1))


# --------------------------------------------------------------------------- approvals


def test_new_approval_is_pending_with_an_opaque_id(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    approval = _approval(store, clock)
    assert approval.state == "pending" and len(approval.id) >= 40
    assert approval.expires_at == clock.now() + 15 * MINUTE
    store.set_approval_message(approval.id, "C1", "9.0001")
    again = store.get_approval(approval.id)
    assert again is not None and (again.message_channel, again.message_ts) == ("C1", "9.0001")
    assert [a.id for a in store.pending_approvals()] == [approval.id]
    assert store.get_approval("no-such-id") is None


def test_first_approval_wins_and_later_decisions_are_refused(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    approval = _approval(store, clock)
    now = clock.now()
    first = store.decide(approval.id, decision="approve", actor="U_A", now=now)
    assert first.status is records.DecisionStatus.APPROVED and first.won
    assert first.approval is not None and first.approval.decided_by == "U_A"
    second = store.decide(approval.id, decision="approve", actor="U_B", now=now)
    assert second.status is records.DecisionStatus.NOT_PENDING and not second.won
    cancel = store.decide(approval.id, decision="cancel", actor="U_REQ", now=now)
    assert cancel.status is records.DecisionStatus.NOT_PENDING
    assert store.pending_approvals() == []


def test_cancel_then_approve_is_refused(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    approval = _approval(store, clock)
    cancelled = store.decide(approval.id, decision="cancel", actor="U_REQ", now=clock.now())
    assert cancelled.status is records.DecisionStatus.CANCELLED
    late = store.decide(approval.id, decision="approve", actor="U_A", now=clock.now())
    assert late.status is records.DecisionStatus.NOT_PENDING
    assert late.approval is not None and late.approval.state == "cancelled"
    assert store.claim_execution(approval.id) is False


def test_expired_request_cannot_be_approved_and_expires_once(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    approval = _approval(store, clock, minutes=15)
    keep = _approval(store, clock, minutes=60)
    at_expiry = approval.expires_at
    refused = store.decide(approval.id, decision="approve", actor="U_A", now=at_expiry)
    assert refused.status is records.DecisionStatus.EXPIRED
    assert store.expire_due(at_expiry - dt.timedelta(seconds=1)) == []
    expired = store.expire_due(at_expiry)
    assert [a.id for a in expired] == [approval.id] and expired[0].state == "expired"
    assert store.expire_due(at_expiry + MINUTE) == []
    after = store.decide(approval.id, decision="approve", actor="U_A", now=at_expiry)
    assert after.status is records.DecisionStatus.NOT_PENDING
    assert [a.id for a in store.pending_approvals()] == [keep.id]


def test_execution_is_claimed_exactly_once(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    approval = _approval(store, clock)
    assert store.claim_execution(approval.id) is False  # not approved yet
    store.decide(approval.id, decision="approve", actor="U_A", now=clock.now())
    assert store.claim_execution(approval.id) is True
    assert store.claim_execution(approval.id) is False
    claimed = store.get_approval(approval.id)
    assert claimed is not None and claimed.state == "executing"


def test_two_required_approvals_need_two_distinct_approvers(
    store: store_mod.StateStore, clock: clocks.FakeClock
) -> None:
    approval = _approval(store, clock)
    now = clock.now()
    first = store.decide(approval.id, decision="approve", actor="U_A", now=now, required=2)
    assert first.status is records.DecisionStatus.RECORDED and first.votes == 1
    again = store.decide(approval.id, decision="approve", actor="U_A", now=now, required=2)
    assert again.status is records.DecisionStatus.ALREADY_VOTED and again.votes == 1
    pending = store.get_approval(approval.id)
    assert pending is not None and pending.state == "pending"
    second = store.decide(approval.id, decision="approve", actor="U_B", now=now, required=2)
    assert second.status is records.DecisionStatus.APPROVED and second.votes == 2
    assert second.approval is not None and second.approval.approvers == ("U_A", "U_B")


def test_pending_approval_survives_a_restart(state_url: str, clock: clocks.FakeClock) -> None:
    with store_mod.StateStore(state_url, clock=clock) as before:
        approval = _approval(before, clock)
    with store_mod.StateStore(state_url, clock=clock) as after:
        outcome = after.decide(approval.id, decision="approve", actor="U_A", now=clock.now())
        assert outcome.status is records.DecisionStatus.APPROVED
