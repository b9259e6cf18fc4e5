"""The one run pipeline: the trail first, a live message, the outcome; a trail that is down
never stops a run, and a job that shows itself gets its errors back after they are recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from slack_sdk import WebClient

from bot import metrics
from bot.rendering import blocks
from bot.runs import delivery, run
from commands.state import records, trail
from commands.state import store as store_mod
from commands.values import clock as clocks
from commands.values import errors, events
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import BOT_TOKEN

pytestmark = pytest.mark.slack


class DownStore:
    """A state store that cannot be reached (the trail's port, failing)."""

    def start_run(self, new: records.NewRun) -> str:
        raise store_mod.StateError("state database error: unreachable")

    def finish_run(self, run_id: str, **_kw: Any) -> None:
        raise AssertionError("never started, so never finished")

    def set_run_message(self, run_id: str, **_kw: Any) -> None:
        raise AssertionError("never started, so never linked")


def _pipeline(emulator: SlackEmulator, log: trail.RunLog, warned: list[str]) -> run.Pipeline:
    slack = delivery.Slack(WebClient(token=BOT_TOKEN, base_url=emulator.api_url), metrics.Metrics())
    return run.Pipeline(trail.Trail(log, warn=warned.append), slack, clocks.FakeClock())


def _done(_report: events.Reporter) -> run.Outcome:
    return run.Outcome(errors.EXIT_OK, "all done", blocks.plain(":white_check_mark: all done"))


def test_a_run_goes_on_when_the_trail_is_down(slack_emulator: SlackEmulator) -> None:
    warned: list[str] = []
    pipeline = _pipeline(slack_emulator, DownStore(), warned)
    talk = pipeline.slack.delivery(channel="C_OPS", user="U1")

    code = run.run(pipeline, run.Job("check", ("check",), "slack", _done), talk)

    assert code == errors.EXIT_OK
    (message,) = slack_emulator.messages_in("C_OPS")
    assert message.history[0]["text"].startswith(blocks.RUNNING_EMOJI)
    assert message.text == ":white_check_mark: all done"
    assert warned == ["could not record the run of check: state database error: unreachable"]


def test_a_live_run_is_recorded_with_its_message_and_outcome(
    slack_emulator: SlackEmulator, tmp_path: Any
) -> None:
    with store_mod.StateStore(f"sqlite:///{tmp_path / 'state.db'}") as store:
        pipeline = _pipeline(slack_emulator, store, [])
        talk = pipeline.slack.delivery(channel="C_OPS", user="U1")

        run.run(pipeline, run.Job("check", ("check",), "slack", _done), talk)

        (recorded,) = store.history(10)
    assert (recorded.state, recorded.exit_code, recorded.summary) == ("finished", 0, "all done")
    assert (recorded.message_channel, recorded.message_ts) == ("C_OPS", talk.ts)


def test_a_job_that_shows_itself_gets_its_error_back_after_the_trail(
    slack_emulator: SlackEmulator, tmp_path: Any
) -> None:
    def fails(_report: events.Reporter) -> run.Outcome:
        raise errors.ClusterError("API server down")

    with store_mod.StateStore(f"sqlite:///{tmp_path / 'state.db'}") as store:
        pipeline = _pipeline(slack_emulator, store, [])
        job = run.Job("report", ("morning",), "schedule", fails, live=False)
        talk = pipeline.slack.delivery(channel="C_OPS", user="schedule")

        with pytest.raises(errors.ClusterError):
            run.run(pipeline, job, talk)

        (recorded,) = store.runs_since(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert (recorded.exit_code, recorded.summary) == (1, "report morning failed: API server down")
    assert slack_emulator.calls_to("chat.postMessage") == []


def test_a_kubernetes_error_is_counted_by_kind(slack_emulator: SlackEmulator) -> None:
    warned: list[str] = []
    pipeline = _pipeline(slack_emulator, DownStore(), warned)
    counters = metrics.Metrics()
    pipeline = run.Pipeline(pipeline.trail, pipeline.slack, pipeline.clock, metrics=counters)

    def forbidden(_report: events.Reporter) -> run.Outcome:
        raise errors.PermissionDenied("list", "deployments.apps", "shop")

    # A read-only command: with the store down a mutating one is refused before it runs.
    talk = pipeline.slack.delivery(channel="C_OPS", user="U1")
    code = run.run(pipeline, run.Job("check", ("check",), "slack", forbidden), talk)

    assert code == errors.PermissionDenied.exit_code
    assert 'myctl_bot_kube_api_errors_total{kind="PermissionDenied"} 1' in counters.render()
