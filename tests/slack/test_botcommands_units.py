"""Bot-only commands and the new bot settings, as data (no Slack, no cluster)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import botcommands, messages, scheduling
from bot import config as config_mod
from commands.values import errors

BASE = {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "s"}


def test_history_schedule_and_report_parse_their_arguments() -> None:
    assert botcommands.parse(["history"]).limit == 10
    assert botcommands.parse(["history", "25"]).limit == 25
    assert botcommands.parse(["schedule", "list"]).command == "schedule"
    assert botcommands.parse(["report", "morning"]).args == ("morning",)


@pytest.mark.parametrize(
    "argv", [["history", "0"], ["history", "x"], ["schedule"], ["schedule", "run"], ["report"]]
)
def test_bot_command_usage_errors_are_exit_2(argv: list[str]) -> None:
    with pytest.raises(errors.UsageError) as caught:
        botcommands.parse(argv)
    assert caught.value.exit_code == errors.EXIT_USAGE


def test_schedule_list_names_each_schedule_and_who_runs_the_scheduler() -> None:
    info = scheduling.ScheduleInfo(
        "morning", "0 9 * * 1-5", "Europe/Berlin", "C1", ("cache",),
        dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    leader = botcommands.schedule_list([info], running=True, leader=True)
    follower = botcommands.schedule_list([info], running=True, leader=False)
    stopped = botcommands.schedule_list([info], running=False, leader=False)
    assert "*morning*: `0 9 * * 1-5` (Europe/Berlin) → <#C1>" in str(leader.blocks)
    assert "2026-01-05 08:00 UTC" in str(leader.blocks)
    assert "holds the lease" in str(leader.blocks)
    assert "Another replica" in str(follower.blocks)
    assert "not running" in str(stopped.blocks)
    assert "No schedules" in botcommands.schedule_list([], running=False, leader=False).text


def test_interrupted_message_starts_with_its_emoji_and_names_the_run() -> None:
    rendered = messages.interrupted(("restart", "deployment/api"), "U1")
    assert (
        rendered.text == ":heavy_multiplication_x: interrupted: the bot restarted during this run"
    )
    assert "myctl restart deployment/api" in str(rendered.blocks)


def test_instance_id_and_sweep_interval_come_from_the_environment() -> None:
    config = config_mod.from_environ(
        {**BASE, "POD_NAME": "bot-7", "MYCTL_APPROVAL_SWEEP_SECONDS": "0.5"}
    )
    assert (config.instance_id, config.approval_sweep_seconds) == ("bot-7", 0.5)
    assert config_mod.from_environ(BASE).instance_id  # the host name by default
    with pytest.raises(errors.ConfigError, match="MYCTL_APPROVAL_SWEEP_SECONDS"):
        config_mod.from_environ({**BASE, "MYCTL_APPROVAL_SWEEP_SECONDS": "-1"})


def test_schedule_options_from_the_environment() -> None:
    options = config_mod.schedule_options(
        {
            "MYCTL_LEASE_SECONDS": "3",
            "MYCTL_RENEW_DEADLINE_SECONDS": "2",
            "MYCTL_RETRY_SECONDS": "0.3",
            "MYCTL_SCHEDULE_EVERY_SECONDS": "1",
        }
    )
    assert options.lease_timing.lease_duration == 3
    assert options.every_seconds == 1
    assert config_mod.schedule_options({}).every_seconds is None
    with pytest.raises(errors.ConfigError, match="lease timing"):
        config_mod.schedule_options({"MYCTL_LEASE_SECONDS": "3"})  # renew deadline 10 > 3
