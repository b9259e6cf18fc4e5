"""What every step's result has in common: an exit code, and a JSON form (what `--json` prints
and the audit trail keeps as a run's details) that begins with the command and that exit code.
No I/O here."""

from __future__ import annotations

import abc
from typing import Any, ClassVar


class StepResult(abc.ABC):
    """The base of the results in results.py and restarts.py (frozen dataclasses)."""

    command: ClassVar[str]  # the JSON's "command"

    @property
    @abc.abstractmethod
    def exit_code(self) -> int: ...

    @abc.abstractmethod
    def json_fields(self) -> dict[str, Any]:
        """The JSON form's own fields, after the two every result has."""

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "exit_code": self.exit_code, **self.json_fields()}
