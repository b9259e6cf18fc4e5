"""The Socket Mode connection dropped mid-run (the emulator closes it while a `restart --wait` is
following a rollout): the run goes on, its outcome is delivered to its own message, the bot
reconnects and answers the next command (docs/reliability.md)."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s_client

from tests.bot.transport.bots import ACK_BUDGET, RunningBot, create, deployment, restarted_at
from tests.bot.transport.test_socket_mode import send, socket_bot
from tests.support.slack_emulator import Message, SlackEmulator

pytestmark = [pytest.mark.slack, pytest.mark.kube]
__all__ = ["socket_bot"]  # the fixture, re-exported for pytest
CHANNEL = "C_OPS"


def _progress(emulator: SlackEmulator) -> Message | None:
    found = emulator.messages_in(CHANNEL)
    return found[0] if found and found[0].text.startswith(":hourglass_flowing_sand:") else None


def test_a_connection_dropped_mid_run_still_delivers_the_outcome(
    socket_bot: RunningBot,
    slack_emulator: SlackEmulator,
    kube_namespace: str,
    kube_admin: k8s_client.ApiClient,
) -> None:
    # Never ready: the run is still following the rollout when the connection goes.
    create(kube_admin, kube_namespace, deployment("slow", never_ready=True))
    envelope = send(
        slack_emulator, f"restart deployment/slow -n {kube_namespace} --wait --timeout 8s"
    )
    assert slack_emulator.wait_for_ack(envelope) < ACK_BUDGET
    progress = slack_emulator.wait_for(lambda: _progress(slack_emulator), timeout=30)
    slack_emulator.wait_for(  # patched: the run is under way, following the rollout
        lambda: restarted_at(kube_admin, kube_namespace, "slow"), timeout=30
    )

    assert slack_emulator.socket_drop_connections() == 1
    assert slack_emulator.messages[(CHANNEL, progress.ts)].text == progress.text  # mid-run

    final = socket_bot.final_message()
    assert final.ts == progress.ts  # the run's own message carries the outcome
    assert final.text.startswith(":x:") and "slow" in final.all_text(), final.all_text()
    assert "timed out" in final.all_text()
    slack_emulator.wait_for(lambda: slack_emulator.socket_connects >= 2, timeout=15)
    create(kube_admin, kube_namespace, deployment("api"))
    again = send(slack_emulator, f"restart deployment/api -n {kube_namespace}")
    assert slack_emulator.wait_for_ack(again) < ACK_BUDGET
    slack_emulator.wait_for(
        lambda: any(
            m.text.startswith(":white_check_mark: restarted 1 of 1")
            for m in slack_emulator.messages_in(CHANNEL)
        ),
        timeout=60,
    )
    assert restarted_at(kube_admin, kube_namespace, "api") is not None
