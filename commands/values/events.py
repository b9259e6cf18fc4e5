"""Progress events the engine emits; each front door renders them its own way."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class Outcome(enum.Enum):
    """What happened to one item (a restart target, usually)."""

    RESTARTED = "restarted"
    WOULD_RESTART = "would-restart"  # --dry-run: the server accepted the patch, nothing persisted
    SKIPPED = "skipped"  # nothing to do or unsafe to do; not a failure
    FAILED = "failed"


@dataclass(frozen=True)
class StepStarted:
    step: str
    total: int | None = None  # items the step expects to handle, when known
    message: str = ""


@dataclass(frozen=True)
class ItemDone:
    step: str
    item: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class Note:
    """A warning or remark that the user should see even without --verbose."""

    step: str
    message: str
    warning: bool = False


@dataclass(frozen=True)
class StepFinished:
    step: str
    exit_code: int
    summary: str


Event = StepStarted | ItemDone | Note | StepFinished
Reporter = Callable[[Event], None]


def discard(event: Event) -> None:
    """A reporter for callers that only want the result."""


def to_json(event: Event) -> dict[str, object]:
    """The JSON-lines form printed by `--progress json`."""
    payload: dict[str, object] = {"event": type(event).__name__, "step": event.step}
    if isinstance(event, StepStarted):
        payload.update(total=event.total, message=event.message)
    elif isinstance(event, ItemDone):
        payload.update(item=event.item, outcome=event.outcome.value, detail=event.detail)
    elif isinstance(event, Note):
        payload.update(message=event.message, warning=event.warning)
    else:
        payload.update(exit_code=event.exit_code, summary=event.summary)
    return payload
