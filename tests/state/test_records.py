"""Records from table rows, and command lines as the store keeps them (no database needed)."""

from __future__ import annotations

import datetime as dt

from commands.state import auditlog, records

AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _approval_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": "a1",
        "command": "rebuild",
        "argv": ["rebuild"],
        "requester": "U1",
        "channel": "C1",
        "state": "pending",
        "plan_text": "plan",
        "created_at": AT,
        "expires_at": AT,
        "decided_by": None,
        "decided_at": None,
        "claimed_at": AT,  # a column no field names
        "message_channel": None,
        "message_ts": None,
    }
    row.update(changes)
    return row


def test_a_record_takes_each_field_from_its_column_unless_converted() -> None:
    row = _approval_row()
    record = records.from_row(
        records.ApprovalRecord,
        row,
        argv=("rebuild", "--force"),
        user=row["requester"],  # a renamed column, as commands/state/approvals.py reads it
        approvers=("U2",),
    )
    assert record.argv == ("rebuild", "--force")
    assert record.approvers == ("U2",)
    assert (record.id, record.user, record.expires_at) == ("a1", "U1", AT)


def test_a_field_with_no_column_keeps_its_default() -> None:
    record = records.from_row(records.ApprovalRecord, _approval_row(), argv=("rebuild",), user="U1")
    assert record.approvers == ()


def test_a_stored_command_line_has_each_word_redacted() -> None:
    argv = ["report", "--token", "xoxb-123-abc", "postgresql://u:pw@db/x"]
    assert auditlog.redact_argv(argv) == [
        "report",
        "--token",
        auditlog.REDACTED,
        f"postgresql://u:{auditlog.REDACTED}@db/x",
    ]
