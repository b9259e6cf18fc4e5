"""A `python -m bot` process stopped with SIGTERM: `/readyz` turns false at once, new commands
get the busy answer, a run still going after the grace period is marked interrupted (its
message says so), and the process exits 0 well within the pod's grace period. Its stderr is
JSON lines (MYCTL_LOG_FORMAT=json) carrying the run's context and never a credential."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
import requests
from kubernetes import client as k8s_client

from bot.rendering import outcomes
from commands.state import records
from tests.bot.approvals.approval_support import (
    CHANNEL,
    OUTCOMES,
    RUN_DEADLINE,
    BotProcess,
    Bots,
    bots,
)
from tests.kube import objects
from tests.support import polling
from tests.support.slack_plugin import BOT_TOKEN, SIGNING_SECRET

pytestmark = [pytest.mark.slack, pytest.mark.kube]
__all__ = ["bots"]

GRACE = 3.0


def _latest(bots: Bots, command: str) -> records.RunRecord | None:
    with bots.store() as store:
        runs = [r for r in store.latest_runs(5) if r.command == command and r.message_ts]
    return runs[0] if runs else None


def test_sigterm_drains_marks_the_unfinished_run_and_exits_cleanly(
    bots: Bots, kube_admin: k8s_client.ApiClient, tmp_path: Path
) -> None:
    objects.deployment(kube_admin, bots.namespace, "stuck", "nginx:1.27", never_ready=True)
    env = bots.environment(
        POD_NAME="bot-g", MYCTL_SHUTDOWN_GRACE_SECONDS=str(GRACE), MYCTL_LOG_FORMAT="json"
    )
    proc = BotProcess(env, tmp_path / "bot.log")
    try:
        port = proc.port()
        with proc.driver() as driver:
            driver.slash_command("version", response_url=bots.emulator.new_response_url())
            version = bots.emulator.wait_for(lambda: _latest(bots, "version"), RUN_DEADLINE)
            assert version is not None
            bots.emulator.wait_for(
                lambda: bots.emulator.messages[(CHANNEL, version.message_ts)].text.startswith(
                    OUTCOMES
                ),
                timeout=RUN_DEADLINE,
            )
            driver.slash_command(
                f"restart deployment/stuck -n {bots.namespace} --wait --timeout 300s",
                response_url=bots.emulator.new_response_url(),
            )
            run = bots.emulator.wait_for(lambda: _latest(bots, "restart"), RUN_DEADLINE)
            assert run is not None and run.message_ts is not None
            key = (CHANNEL, run.message_ts)
            bots.emulator.wait_for(lambda: bots.emulator.messages[key].updates, RUN_DEADLINE)

            stopped_at = time.monotonic()
            proc.proc.send_signal(signal.SIGTERM)
            ready = f"http://127.0.0.1:{port}/readyz"
            polling.wait_until(
                lambda: requests.get(ready, timeout=2).status_code == 503,
                what="/readyz false while draining",
                timeout=5,
            )
            # The front process acks at once; the busy answer comes through the response_url.
            late = bots.emulator.new_response_url()
            answer = driver.slash_command("check", response_url=late)
            assert (answer.status_code, answer.body) == (200, "")
            texts = bots.emulator.wait_for(lambda: bots.emulator.response_texts(late), 10)
            assert len(texts) == 1 and texts[0].startswith(":hourglass: myctl is busy")
            # Still running during the grace period: not marked yet.
            assert not bots.emulator.messages[key].text.startswith(outcomes.INTERRUPTED_TEXT)
        code = proc.proc.wait(GRACE + 20)
        elapsed = time.monotonic() - stopped_at
    finally:
        proc.stop()

    assert code == 0
    assert GRACE <= elapsed < GRACE + 15  # waited for the run, then did not hang on it
    assert bots.emulator.messages[key].text == outcomes.INTERRUPTED_TEXT
    with bots.store() as store:
        marked = store.get_run(run.id)
    assert marked is not None and marked.state == "interrupted"

    text = proc.text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    started = [ln for ln in lines if ln["message"].startswith("run started: restart")]
    assert started and started[0]["run_id"] == run.id
    assert (started[0]["command"], started[0]["user"], started[0]["channel"]) == (
        "restart",
        run.user,
        CHANNEL,
    )
    finished = [ln for ln in lines if ln.get("run_id") == version.id and "outcome" in ln]
    assert finished and finished[-1]["outcome"] == 0
    assert any("still running after" in ln["message"] for ln in lines)
    assert BOT_TOKEN not in text and SIGNING_SECRET not in text
