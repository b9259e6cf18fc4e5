"""A replica that crashed leaves no run "running": any live replica's heartbeat watch marks the
runs of an owner that stopped heartbeating, and their Slack messages say so (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot import metrics
from bot.rendering import blocks, outcomes
from bot.runs import delivery, interrupted
from commands.state import store as store_mod
from commands.values import clock as clocks
from tests.support import runs
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import BOT_TOKEN

pytestmark = pytest.mark.slack


def _running(store: store_mod.StateStore, slack: delivery.Slack, owner: str) -> tuple[str, str]:
    channel, ts = slack.post("C_OPS", blocks.plain(f"{blocks.RUNNING_EMOJI} restart"))
    run_id = store.start_run(runs.restart(channel="C_OPS", owner=owner))
    store.set_run_message(run_id, channel=channel, message_ts=ts, permalink=None)
    return run_id, ts


def test_a_dead_replicas_run_is_marked_by_a_live_one_and_its_message_says_so(
    store: store_mod.StateStore, clock: clocks.FakeClock, slack_emulator: SlackEmulator
) -> None:
    counters = metrics.Metrics()
    slack = delivery.Slack(WebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url), counters)
    dead_run, dead_ts = _running(store, slack, "bot-1")
    live_run, live_ts = _running(store, slack, "bot-0")
    watch = interrupted.Watch(
        slack,
        store,
        clock,
        owner="bot-0",
        interval=10,
        stale_after=60,
        counted=lambda n: counters.runs_interrupted("stale", n),
    )

    clock.advance(30)
    assert watch.tick() == 0  # 30 s of silence is not death
    clock.advance(40)
    assert watch.tick() == 1  # bot-1: 70 s silent; bot-0 beat 40 s ago

    dead = store.get_run(dead_run)
    live = store.get_run(live_run)
    assert dead is not None and dead.state == "interrupted"
    assert live is not None and live.state == "running"
    assert slack_emulator.messages[("C_OPS", dead_ts)].text == outcomes.INTERRUPTED_TEXT
    assert slack_emulator.messages[("C_OPS", live_ts)].text.startswith(blocks.RUNNING_EMOJI)
    assert 'myctl_bot_runs_interrupted_total{reason="stale"} 1' in counters.render()
    clock.advance(600)
    assert watch.tick() == 0  # marked once; the live replica keeps beating its own run
