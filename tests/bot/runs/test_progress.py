"""A run's live message follows the waves of a canary run and carries a paused canary's buttons."""

from __future__ import annotations

import datetime as dt

from bot.rendering import waves
from bot.rendering.blocks import Rendered
from bot.runs import progress
from commands.values import clock as clocks
from commands.values import events

Outcome = events.Outcome


def _live(sent: list[Rendered]) -> progress.SlackProgress:
    # Interval 0 on a fake clock: every offer is sent at once, so each state can be read.
    return progress.SlackProgress(
        sent.append, argv=("orchestrate",), user="U_REQ", clock=clocks.FakeClock(), interval=0
    )


def _line(rendered: Rendered) -> str:
    return str(rendered.blocks[1]["text"]["text"])


def test_progress_shows_the_wave_being_run_and_the_targets_not_started() -> None:
    sent: list[Rendered] = []
    live = _live(sent)
    live(events.StepStarted("restart", total=3))
    live(events.Note("restart", "wave 1/2: canary (1)"))
    live(events.ItemDone("restart", "a", Outcome.RESTARTED))
    assert _line(sent[-1]) == "*restart* · wave 1/2 canary (1): 1/3 (1 restarted)"
    live(events.Note("restart", "wave 2/2 not started (2): the canary a was failed", warning=True))
    live(events.ItemDone("restart", "b", Outcome.NOT_STARTED))
    live(events.ItemDone("restart", "c", Outcome.NOT_STARTED))
    assert _line(sent[-1]) == (
        "*restart* · wave 2/2 not started (2): 3/3 (1 restarted, 2 not started)"
    )
    assert "the canary a was failed" in str(sent[-1].blocks)


def test_a_paused_canary_adds_its_buttons_and_removes_them_once_decided() -> None:
    sent: list[Rendered] = []
    live = _live(sent)
    live(events.Note("restart", "wave 1/2: canary (1)"))
    expires = dt.datetime(2026, 12, 1, 9, 15, tzinfo=dt.UTC)
    live.pause(waves.Pause("opaque-id", "*Canary passed* (1)", None, "<@U_BOSS>", expires))
    assert [b["type"] for b in sent[-1].blocks][-1] == "actions"
    live.pause(None)
    assert "actions" not in [b["type"] for b in sent[-1].blocks]
    live.close()
