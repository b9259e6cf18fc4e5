"""Best-effort run recording, shared by the CLI, the bot and scheduled reports.

The audit trail must never stop a run: an operator in an incident needs the restart more than
its record. So every call here catches the store's errors, reports them through `warn` (a log
line in the bot, a stderr line in the terminal) and goes on; a run that could not be started in
the trail is simply not finished there either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from commands.state import records
from commands.values import errors

log = logging.getLogger(__name__)


class RunLog(Protocol):
    """The part of `commands.state.store.StateStore` the trail writes to."""

    def start_run(self, new: records.NewRun) -> str: ...

    def finish_run(
        self, run_id: str, *, exit_code: int, summary: str, details: dict[str, Any] | None = None
    ) -> None: ...

    def set_run_message(
        self, run_id: str, *, channel: str, message_ts: str, permalink: str | None
    ) -> None: ...


def first_line(summary: str, exit_code: int) -> str:
    """What the trail keeps of a summary: its first line (history shows one line per run)."""
    stripped = summary.strip()
    return stripped.splitlines()[0] if stripped else f"exit {exit_code}"


class Trail:
    """Records runs in `store` as `owner` (a bot replica's id; "" for the terminal)."""

    def __init__(
        self,
        store: RunLog,
        *,
        owner: str = "",
        warn: Callable[[str], None] = log.warning,
    ) -> None:
        self._store = store
        self._owner = owner
        self._warn = warn

    def start(
        self,
        *,
        command: str,
        argv: Sequence[str],
        user: str,
        channel: str,
        source: str,
        dry_run: bool,
    ) -> str | None:
        """The run's id, or None when the trail is unavailable (warned)."""
        new = records.NewRun(
            command=command,
            argv=list(argv) or [command],  # a run with no arguments is shown as its command
            user=user,
            channel=channel,
            source=source,
            dry_run=dry_run,
            owner=self._owner,
        )
        try:
            return self._store.start_run(new)
        except errors.MyctlError as exc:
            self._warn(f"could not record the run of {command}: {exc}")
            return None

    def link(self, run_id: str | None, *, channel: str, ts: str, permalink: str | None) -> None:
        """Where the run's message is (so a restart can mark it) and its permalink."""
        if run_id is None:
            return
        try:
            self._store.set_run_message(run_id, channel=channel, message_ts=ts, permalink=permalink)
        except errors.MyctlError as exc:
            self._warn(f"could not record the run's message: {exc}")

    def finish(
        self,
        run_id: str | None,
        exit_code: int,
        summary: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        if run_id is None:
            return
        try:
            self._store.finish_run(
                run_id,
                exit_code=exit_code,
                summary=first_line(summary, exit_code),
                details=details,
            )
        except errors.MyctlError as exc:
            self._warn(f"could not record the outcome of run {run_id}: {exc}")
