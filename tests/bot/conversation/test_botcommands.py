"""Bot-only commands and the new bot settings, as data (no Slack, no cluster)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import config as config_mod
from bot.conversation import botcommands
from bot.rendering import outcomes, schedules
from commands.values import errors
from tests.support import slack_blocks

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
    info = schedules.ScheduleInfo(
        "morning", "0 9 * * 1-5", "Europe/Berlin", "C1", ("cache",),
        dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    leader = schedules.schedule_list([info], running=True, leader=True)
    follower = schedules.schedule_list([info], running=True, leader=False)
    stopped = schedules.schedule_list([info], running=False, leader=False)
    listing, status = slack_blocks.texts(leader.blocks)
    line = listing.splitlines()[1]
    assert line.startswith("• *morning*: `0 9 * * 1-5` (Europe/Berlin) → <#C1>, cache; next run")
    assert line.endswith("|2026-01-05 08:00 UTC>")
    assert status == "This replica holds the lease and runs the scheduler."
    assert slack_blocks.texts(follower.blocks)[1].startswith("Another replica")
    assert "not running" in slack_blocks.texts(stopped.blocks)[1]
    assert "No schedules" in schedules.schedule_list([], running=False, leader=False).text


def test_interrupted_message_starts_with_its_emoji_and_names_the_run() -> None:
    rendered = outcomes.interrupted(("restart", "deployment/api"), "U1")
    assert (
        rendered.text == ":heavy_multiplication_x: interrupted: the bot restarted during this run"
    )
    assert slack_blocks.texts(rendered.blocks)[1].startswith(
        "<@U1> ran `myctl restart deployment/api`"
    )


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


@pytest.mark.parametrize(("args", "limit"), [([], 10), (["3"], 3), (["100"], 100)])
def test_history_limit_is_parsed(args: list[str], limit: int) -> None:
    assert botcommands.parse_limit(args) == limit


@pytest.mark.parametrize("args", [["0"], ["101"], ["x"], ["1", "2"]])
def test_bad_history_limit_is_a_usage_error(args: list[str]) -> None:
    with pytest.raises(errors.UsageError) as caught:
        botcommands.parse_limit(args)
    assert caught.value.exit_code == 2
