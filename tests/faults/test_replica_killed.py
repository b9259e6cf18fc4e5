"""A replica SIGKILLed (`python -m bot` subprocesses on the real control plane, the Slack emulator):
mid-restart of several workloads, and mid-execution of an approved restart. After the bot starts
again: nothing is restarted a second time, the run is marked interrupted and its message says so,
the approved request is still recorded as approved by its approver (not lost), and a late click
on it runs nothing (docs/reliability.md)."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest
from kubernetes import client as k8s_client

from bot.rendering import outcomes
from commands.state import records
from tests.bot.approvals.approval_support import (
    CHANNEL,
    OUTCOMES,
    RUN_DEADLINE,
    SINCE,
    BotProcess,
    Bots,
    bots,
)
from tests.kube import objects
from tests.support import polling, processes
from tests.support.slack_emulator import Message

pytestmark = [pytest.mark.slack, pytest.mark.kube]
__all__ = ["bots"]
NAMES = ("a", "b", "c")


def _config(namespace: str) -> str:
    """U_REQ may restart; restarts need one approval by U_BOSS or S_OPS (U_BOSS2)."""
    return textwrap.dedent(
        f"""\
        cache: {{namespace: {namespace}}}
        scope: {{namespaces: [{namespace}]}}
        slack:
          access:
            restart: {{users: [U_REQ]}}
          approvals:
            commands: [restart]
            approvers: {{users: [U_BOSS], usergroups: [S_OPS]}}
        """
    )


def _generations(bots: Bots) -> dict[str, int]:
    path = f"/apis/apps/v1/namespaces/{bots.namespace}/deployments"
    found = bots.plane.request("GET", path)["items"]
    return {d["metadata"]["name"]: int(d["metadata"]["generation"]) for d in found}


def _restart_text(bots: Bots) -> str:
    targets = " ".join(f"deployment/{n}" for n in NAMES)
    return f"restart {targets} -n {bots.namespace} --wait --timeout 300s"


def _kill_once_under_way(bots: Bots, bot: BotProcess, message: Message) -> None:
    """SIGKILL once every target is patched and the run's message shows progress."""
    try:
        bots.emulator.wait_for(
            lambda: (
                all(g == 2 for g in _generations(bots).values())
                and bots.current(message).updates >= 1
            ),
            timeout=RUN_DEADLINE,
        )
    except TimeoutError as exc:
        now = bots.current(message)
        raise AssertionError(f"{_generations(bots)} {now.updates} {now.all_text()}") from exc
    front = bot.front_pid()
    bot.proc.send_signal(signal.SIGKILL)
    bot.proc.wait(10)
    # Its front process goes with it (bot/transport/front.py): no port left answering acks.
    polling.wait_until(lambda: not processes.pid_alive(front), what="the front process ended")


def _restarted_again(bots: Bots, tmp_path: Path, message: Message) -> BotProcess:
    """A second process on the same store; returns once it marked the run interrupted."""
    second = BotProcess(bots.environment(POD_NAME="bot-0"), tmp_path / "second.log")
    second.port()
    bots.emulator.wait_for(
        lambda: bots.current(message).text == outcomes.INTERRUPTED_TEXT, timeout=RUN_DEADLINE
    )
    return second


def _restart_runs(bots: Bots) -> list[records.RunRecord]:
    with bots.store() as store:
        return [r for r in store.latest_runs(50) if r.command == "restart"]


def _deployments(bots: Bots, kube_admin: k8s_client.ApiClient) -> None:
    for name in NAMES:
        objects.deployment(kube_admin, bots.namespace, name, "nginx:1.27", never_ready=True)
    assert set(_generations(bots).values()) == {1}


def test_a_replica_killed_mid_restart_restarts_nothing_twice_and_says_interrupted(
    bots: Bots, kube_admin: k8s_client.ApiClient, tmp_path: Path
) -> None:
    bots.write_config(_config(bots.namespace).replace("commands: [restart]", "commands: []"))
    _deployments(bots, kube_admin)
    first = BotProcess(bots.environment(POD_NAME="bot-0"), tmp_path / "first.log")
    try:
        before = {m.ts for m in bots.emulator.messages_in(CHANNEL)}
        with first.driver() as driver:
            driver.slash_command(
                _restart_text(bots), user_id="U_REQ", response_url=bots.emulator.new_response_url()
            )
        message = bots.emulator.wait_for(
            lambda: next(
                (m for m in bots.emulator.messages_in(CHANNEL) if m.ts not in before), None
            ),
            timeout=RUN_DEADLINE,
        )
        _kill_once_under_way(bots, first, message)
    finally:
        first.stop()
    assert not bots.current(message).text.startswith(OUTCOMES)

    second = _restarted_again(bots, tmp_path, message)
    try:
        assert "restart deployment/a" in bots.current(message).all_text()
        (run,) = _restart_runs(bots)
        assert run.state == "interrupted" and run.exit_code is None
        assert _generations(bots) == {n: 2 for n in NAMES}  # each restarted once, none again
    finally:
        assert second.stop() == 0
    assert _generations(bots) == {n: 2 for n in NAMES}


def test_a_replica_killed_mid_approved_restart_loses_nothing_and_runs_it_once(
    bots: Bots, kube_admin: k8s_client.ApiClient, tmp_path: Path
) -> None:
    bots.write_config(_config(bots.namespace))
    _deployments(bots, kube_admin)
    first = BotProcess(bots.environment(POD_NAME="bot-0"), tmp_path / "first.log")
    try:
        driver = first.driver()
        before = {m.ts for m in bots.emulator.messages_in(CHANNEL)}
        driver.slash_command(
            _restart_text(bots), user_id="U_REQ", response_url=bots.emulator.new_response_url()
        )

        def requested() -> Message | None:
            fresh = [m for m in bots.emulator.messages_in(CHANNEL) if m.ts not in before]
            return next((m for m in fresh if "Approval needed" in m.all_text()), None)

        request = bots.emulator.wait_for(requested, timeout=RUN_DEADLINE)
        assert _generations(bots) == {n: 1 for n in NAMES}  # nothing before the approval
        driver.click(
            channel=request.channel, ts=request.ts, text=request.text, blocks=request.blocks,
            action_id="myctl_approve", user_id="U_BOSS",
            response_url=bots.emulator.new_response_url(),
        )  # fmt: skip
        driver.close()
        _kill_once_under_way(bots, first, request)
    finally:
        first.stop()

    second = _restarted_again(bots, tmp_path, request)
    try:
        url = bots.emulator.new_response_url()
        late = second.driver()
        late.click(
            channel=request.channel, ts=request.ts, text=request.text, blocks=request.blocks,
            action_id="myctl_approve", user_id="U_BOSS2", response_url=url,
        )  # fmt: skip
        late.close()
        answer = bots.answer(url)["text"]
        assert answer.startswith(":no_entry:") and "already approved by <@U_BOSS>" in answer
        assert "is running" not in answer  # (was: "…and is running", after the bot died)
        with bots.store() as store:
            approval = store.get_approval(request.blocks[-1]["elements"][0]["value"])
            kinds = [e.kind for e in store.events_since(SINCE)]
        assert approval is not None and approval.state == "executing"
        assert approval.decided_by == "U_BOSS"
        assert kinds.count("approval.approved") == 1 and "approval.refused" in kinds
        (run,) = _restart_runs(bots)
        assert (run.state, run.user) == ("interrupted", "U_REQ")
        assert _generations(bots) == {n: 2 for n in NAMES}
    finally:
        assert second.stop() == 0
