"""Progress events the engine emits; each front door renders them its own way."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class Outcome(enum.Enum):
    """What happened to one item (a restart target, usually)."""

    RESTARTED = "restarted"  # patched; with --wait also rolled out and verified `updated`
    WOULD_RESTART = "would-restart"  # --dry-run: the server accepted the patch, nothing persisted
    UP_TO_DATE = "up-to-date"  # already runs the expected digest: nothing to do, not a failure
    SKIPPED = "skipped"  # no longer exists or no longer runs the image: not a failure
    # Not restarted because a restart could not pull anything new (pinned by digest, or
    # IfNotPresent with a mutable tag): the rollout did not happen, so it is a target not done.
    STALE_PULL = "stale-pull"
    UNCHANGED = "unchanged"  # restarted, but the new pods still run the old digest: not done
    FAILED = "failed"
    # --canary: the canary did not pass (or the run was stopped after it), so this target was
    # left untouched. Not done: the image did not roll out here.
    NOT_STARTED = "not-started"


# What each outcome means for the exit code (design: "the outcome never claims more than
# happened"): done counts toward success, neutral is nothing to do, not done is a failure.
DONE = frozenset({Outcome.RESTARTED, Outcome.WOULD_RESTART})
NEUTRAL = frozenset({Outcome.UP_TO_DATE, Outcome.SKIPPED})
NOT_DONE = frozenset({Outcome.STALE_PULL, Outcome.UNCHANGED, Outcome.FAILED, Outcome.NOT_STARTED})


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
