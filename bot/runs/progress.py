"""The engine's progress events rendered as one Slack message updated in place.

`SlackProgress` is an `events.Reporter`. Events may arrive from several engine threads at once
(restarts run in parallel); they only change an in-memory snapshot, and the throttle sends the
latest snapshot at most once per second, so Slack calls do not grow with the number of workloads.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence

from slack_sdk.errors import SlackApiError

from bot.rendering import outcomes, waves
from bot.rendering.blocks import Rendered
from bot.runs import throttle
from commands.values import clock as clock_mod
from commands.values import events

log = logging.getLogger(__name__)

# The engine's notes that name the wave being run (commands/engine/restart.py, --canary).
WAVE_PREFIX = "wave "


class SlackProgress:
    def __init__(
        self,
        send: Callable[[Rendered], None],
        *,
        argv: Sequence[str],
        user: str,
        clock: clock_mod.Clock,
        interval: float = throttle.DEFAULT_INTERVAL,
        schedule: throttle.Schedule = throttle.thread_timer,
        observe: events.Reporter = events.discard,
    ) -> None:
        self._send = send
        # Also told of every event (the step-duration metric); this object stays the reporter
        # itself, which the canary pause recognises (bot/approvals/canary.py).
        self._observe = observe
        self._lock = threading.Lock()
        self._state = outcomes.Progress(argv=tuple(argv), user=user)
        self._counts: Counter[events.Outcome] = Counter()
        self._throttle: throttle.Throttle[outcomes.Progress] = throttle.Throttle(
            self._deliver, clock=clock, interval=interval, schedule=schedule
        )

    @property
    def state(self) -> outcomes.Progress:
        with self._lock:
            return self._state

    def begin(self, show: Callable[[Rendered], None]) -> None:
        """Show the first message with `show`; the throttle interval starts once it is shown."""
        show(outcomes.progress(self.state))
        self._throttle.mark_sent()

    def __call__(self, event: events.Event) -> None:
        self._observe(event)
        with self._lock:
            state = self._state
            if isinstance(event, events.StepStarted):
                self._counts.clear()
                state = dataclasses.replace(state, step=event.step, total=event.total, counts=())
            elif isinstance(event, events.ItemDone):
                self._counts[event.outcome] += 1
                state = dataclasses.replace(
                    state,
                    counts=tuple(
                        sorted(
                            self._counts.items(),
                            key=lambda pair: list(events.Outcome).index(pair[0]),
                        )
                    ),
                )
            elif isinstance(event, events.Note):
                if event.message.startswith(WAVE_PREFIX):
                    # "wave 1/2: canary (1)", "wave 2/2 not started (4): …" (restart.py)
                    head, _, tail = event.message.partition(": ")
                    wave = head if "not started" in head else f"{head} {tail}".strip()
                    state = dataclasses.replace(state, wave=wave)
                if event.warning:
                    state = dataclasses.replace(state, notes=(*state.notes, event.message))
            else:
                state = dataclasses.replace(
                    state, finished_steps=(*state.finished_steps, f"{event.step}: {event.summary}")
                )
            self._state = state
        self._throttle.offer(state)

    def pause(self, shown: waves.Pause | None) -> None:
        """Show (or, with None, remove) the Continue / Stop buttons of a paused canary."""
        with self._lock:
            self._state = state = dataclasses.replace(self._state, pause=shown)
        self._throttle.offer(state)

    def _deliver(self, state: outcomes.Progress) -> None:
        try:
            self._send(outcomes.progress(state))
        except SlackApiError:
            # A lost progress update is harmless: the next one, or the final one, replaces it.
            log.warning("progress update dropped")

    def close(self) -> None:
        self._throttle.close()
