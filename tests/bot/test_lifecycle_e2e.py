"""The bot across restarts and crashes, `/myctl history`, schedules and reports from Slack, and
health endpoints in Socket Mode. In-process apps over HTTP, or `python -m bot` subprocesses
where a process must die or start for real."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import requests
from kubernetes import client as k8s_client

from bot.rendering import outcomes
from bot.scheduling import leader, scheduler
from commands.state import records
from commands.values import config as values_config
from tests.bot.approvals.approval_support import (
    CHANNEL,
    OUTCOMES,
    RUN_DEADLINE,
    BotProcess,
    Bots,
    bots,
    cache_exists,
    config_text,
)
from tests.kube import objects
from tests.support import slack_blocks
from tests.support.slack_driver import slash_command_payload
from tests.support.slack_plugin import slack_environment

pytestmark = [pytest.mark.slack, pytest.mark.kube]
__all__ = ["bots"]

SCHEDULES = """\
schedules:
  - {name: morning, cron: "0 9 * * 1-5", timezone: Europe/Berlin, channel: C_OPS,
     reports: [cache, rollouts]}
"""


def test_pending_request_survives_a_restart_and_is_approved_afterwards(
    bots: Bots, kube_admin: k8s_client.ApiClient
) -> None:
    before = bots.start()
    request = bots.request(before)
    before.stop()
    bots.started.remove(before)

    after = bots.start()  # same SQLite file, a new app and store
    status, _ = bots.click(after, request, "U_BOSS")

    assert status == 200
    assert bots.final(request).text.startswith(":white_check_mark: wrote cache")
    assert cache_exists(kube_admin, bots.namespace)


def test_run_killed_mid_run_is_marked_interrupted_after_a_restart(
    bots: Bots, kube_admin: k8s_client.ApiClient, tmp_path: Path
) -> None:
    objects.deployment(kube_admin, bots.namespace, "stuck", "nginx:1.27", never_ready=True)
    env = bots.environment(POD_NAME="bot-0")
    first = BotProcess(env, tmp_path / "first.log")
    try:
        with first.driver() as driver:
            driver.slash_command(
                f"restart deployment/stuck -n {bots.namespace} --wait --timeout 300s",
                response_url=bots.emulator.new_response_url(),
            )

        def recorded() -> records.RunRecord | None:
            with bots.store() as store:
                runs = store.latest_runs(1)
            return runs[0] if runs and runs[0].message_ts else None

        run = bots.emulator.wait_for(recorded, timeout=RUN_DEADLINE)
        assert run is not None and run.message_ts is not None
        key = (CHANNEL, run.message_ts)

        def progressing() -> int:
            return bots.emulator.messages[key].updates

        # A progress update: the restart is under way, and the never-ready rollout keeps the
        # run going until it is killed.
        bots.emulator.wait_for(progressing, timeout=RUN_DEADLINE)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
    finally:
        first.stop()
    message = bots.emulator.messages[key]
    assert not message.text.startswith(OUTCOMES)

    second = BotProcess(env, tmp_path / "second.log")
    try:
        second.port()  # started: interrupted runs are marked before it listens
        marked = bots.emulator.wait_for(
            lambda: bots.emulator.messages[key].text.startswith(":heavy_multiplication_x:"),
            timeout=RUN_DEADLINE,
        )
        assert marked
    finally:
        assert second.stop() == 0
    message = bots.emulator.messages[key]
    assert message.text == outcomes.INTERRUPTED_TEXT
    assert "restart deployment/stuck" in message.all_text()
    with bots.store() as store:
        again = store.get_run(run.id)
    assert again is not None and again.state == "interrupted"


def test_history_shows_the_latest_runs(bots: Bots) -> None:
    bot = bots.start()
    for count, text in enumerate(["version", "check", "version", "check", "version", "version"]):
        bots.slash(bot, text)

        def finished(count: int = count) -> bool:
            posted = bots.emulator.messages_in(CHANNEL)
            return len(posted) > count and all(m.text.startswith(OUTCOMES) for m in posted)

        bots.emulator.wait_for(finished, timeout=RUN_DEADLINE)

    answer = bots.answer(bots.slash(bot, "history 5", user="U_ANYONE"))

    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "myctl history: the latest 5 runs"
    lines = "\n".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    assert len(lines.splitlines()) == 5
    # Newest first: version, version, check, version, check (the oldest version is cut).
    assert [line.split("`")[1] for line in lines.splitlines()] == [
        "version", "version", "check", "version", "check",
    ]  # fmt: skip
    assert lines.splitlines()[0].startswith(":white_check_mark:")  # newest first: a version
    assert "|message>" in lines  # the permalink of each run's message


def test_history_usage_error_is_an_ephemeral_warning(bots: Bots) -> None:
    bot = bots.start()

    answer = bot.driver.slash_command("history lots", response_url=None)

    assert answer.json()["response_type"] == "ephemeral"
    assert answer.json()["text"].startswith(":warning: usage: /myctl history [N]")


def test_schedule_list_and_report_now_to_the_caller(bots: Bots) -> None:
    bots.write_config(config_text(bots.namespace, extra=SCHEDULES))
    bot = bots.start()
    loaded = values_config.load(str(bots.config))
    schedules = leader.campaign(
        scheduler.Schedules(
            loaded,
            bot.bot.services.slack,
            bot.bot.services.engines.report_sections(loaded),
            state_url=bots.state_url,
            store=bot.bot.services.store,
        ),
        kubeconfig=str(bots.plane.kubeconfig),
    )
    try:
        assert schedules.elector is not None
        bots.emulator.wait_for(lambda: schedules.elector and schedules.elector.is_leader, 30)

        listed = bots.answer(bots.slash(bot, "schedule list", user="U_ANYONE"))
        posted = bots.slash(bot, "report morning", user="U_ANYONE")
        dm = bots.emulator.wait_for(
            lambda: [m for m in bots.emulator.messages.values() if m.channel.startswith("D")],
            timeout=RUN_DEADLINE,
        )
        unknown = bots.answer(bots.slash(bot, "report evening", user="U_ANYONE"))
    finally:
        schedules.stop()
    listing, status = slack_blocks.texts(listed["blocks"])
    line = listing.splitlines()[1]
    assert line.startswith("• *morning*: `0 9 * * 1-5` (Europe/Berlin) → <#C_OPS>")
    assert "next run <!date^" in line and "holds the lease" in status
    assert "myctl report morning" in dm[0].all_text()
    assert bots.answers(posted) == []  # the report itself is the answer
    assert unknown["text"].startswith(":warning: unknown schedule 'evening' (known: morning)")
    assert bots.emulator.messages_in(CHANNEL) == []  # nothing went to the schedule's channel


def test_schedule_list_without_a_running_scheduler_says_so(bots: Bots) -> None:
    bots.write_config(config_text(bots.namespace, extra=SCHEDULES))
    bot = bots.start()

    listed = bots.answer(bots.slash(bot, "schedule list"))
    report = bots.answer(bots.slash(bot, "report morning"))

    listing, status = slack_blocks.texts(listed["blocks"])
    assert listing.splitlines()[1].startswith("• *morning*")
    assert "scheduler is not running" in status
    assert report["text"].startswith(":warning: scheduled reports are not configured")


def test_bot_with_a_bad_schedule_exits_2_naming_it(bots: Bots, tmp_path: Path) -> None:
    bad = 'schedules:\n  - {name: nightly, cron: "0 25 * * *", timezone: UTC, channel: C1}\n'
    bots.write_config(config_text(bots.namespace, extra=bad))
    process = BotProcess(bots.environment(), tmp_path / "bot.log")

    assert process.proc.wait(60) == 2
    assert "schedules[nightly].cron: invalid cron '0 25 * * *'" in process.text()
    assert bots.emulator.calls == []  # refused before connecting anywhere


def test_socket_mode_serves_health_endpoints_but_no_events(bots: Bots, tmp_path: Path) -> None:
    env = {**bots.environment(), **slack_environment(bots.emulator, socket_mode=True)}
    process = BotProcess(env, tmp_path / "bot.log")
    try:
        base = f"http://127.0.0.1:{process.port()}"
        bots.emulator.wait_for(bots.emulator.socket_connection_count, timeout=30)
        health = requests.get(f"{base}/healthz", timeout=5)
        ready = requests.get(f"{base}/readyz", timeout=10)
        metrics = requests.get(f"{base}/metrics", timeout=5)
        events = requests.post(
            f"{base}/slack/events", data=slash_command_payload("version"), timeout=5
        )
        envelope = bots.emulator.socket_send_slash_command(slash_command_payload("version"))
        bots.emulator.wait_for_ack(envelope, timeout=10)
    finally:
        assert process.stop() == 0
    assert health.status_code == 200
    assert ready.status_code == 200, ready.text
    assert "myctl_bot_job_queue_depth" in metrics.text
    assert events.status_code == 404
