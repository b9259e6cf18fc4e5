"""Canary pauses and Roll back buttons end to end: signed Slack requests into the real bot over
HTTP, the Slack emulator out, the real control plane, the fake kubelet and the local registry
underneath (docs/rollouts.md)."""

from __future__ import annotations

import textwrap
import threading
from typing import Any

import pytest

from tests.bot.approvals.approval_support import SINCE, Bot, Bots, bots
from tests.bot.transport.bots import OUTCOMES
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import registry as reg
from tests.support.slack_emulator import Message

pytestmark = [pytest.mark.slack, pytest.mark.kube]
__all__ = ["bots"]  # the fixture, re-exported for pytest

CHANNEL = "C_OPS"
DEADLINE = 90.0  # seconds: a canary and a second wave on the local control plane
NAMES = ("a", "b", "c")  # "a" is the canary (the documented order: namespace, kind, name)


def _config(namespace: str, *, canary: bool = True, expiry: str = "15m") -> str:
    """U_REQ runs things and is no approver; U_BOSS (by id) and S_OPS members approve."""
    return textwrap.dedent(
        f"""\
        cache: {{namespace: {namespace}}}
        scope: {{namespaces: [{namespace}]}}
        slack:
          access:
            orchestrate: {{users: [U_REQ]}}
            rollback: {{users: [U_REQ]}}
          approvals:
            approvers: {{users: [U_BOSS], usergroups: [S_OPS]}}
            expiry: {expiry}
            canary: {"true" if canary else "false"}
        """
    )


@pytest.fixture
def image(registry: reg.LocalRegistry, control_plane: cp.ControlPlane) -> tuple[str, str, str]:
    """A tag on the local registry, its repository and its first digest."""
    repo = f"team/{control_plane.unique_name('svc')}"
    return registry.ref(repo, "1.0"), repo, registry.push_image(repo, "1.0", seed="v1")


def _deployments(bots: Bots, kube_admin: Any, ref: str, names: tuple[str, ...] = NAMES) -> None:
    for name in names:
        objects.deployment(kube_admin, bots.namespace, name, ref)
    for name in names:
        objects.rollout_settled(bots.plane, bots.namespace, name, 1)


def _generations(bots: Bots, names: tuple[str, ...]) -> dict[str, int]:
    path = f"/apis/apps/v1/namespaces/{bots.namespace}/deployments"
    return {
        n: int(bots.plane.request("GET", f"{path}/{n}")["metadata"]["generation"]) for n in names
    }


def _digests(bots: Bots, name: str) -> set[str]:
    return set(objects.pods_digests(bots.plane, bots.namespace, name).values())


def _run_message(bots: Bots, bot: Bot, text: str, before: set[str] | None = None) -> Message:
    """`/myctl text` by U_REQ, and the run's message."""
    seen = before if before is not None else {m.ts for m in bots.emulator.messages_in(CHANNEL)}
    bots.slash(bot, text, "U_REQ")

    def posted() -> Message | None:
        fresh = [m for m in bots.emulator.messages_in(CHANNEL) if m.ts not in seen]
        return fresh[0] if fresh else None

    found = bots.emulator.wait_for(posted, timeout=DEADLINE)
    assert found is not None
    return found


def _with_button(bots: Bots, message: Message, action: str) -> Message:
    def shown() -> Message | None:
        now = bots.current(message)
        return now if action in _action_ids(now) else None

    try:
        found = bots.emulator.wait_for(shown, timeout=DEADLINE)
    except TimeoutError as exc:
        raise AssertionError(f"no {action}: {bots.current(message).all_text()}") from exc
    assert found is not None
    return found


def _action_ids(message: Message) -> set[str]:
    return {
        str(e["action_id"])
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


def _paused(bots: Bots, bot: Bot, ref: str) -> Message:
    message = _run_message(bots, bot, f"orchestrate --image {ref} --canary 1")
    return _with_button(bots, message, "myctl_canary_continue")


def _final(bots: Bots, message: Message) -> Message:
    return bots.final(message, timeout=DEADLINE)


def _orchestrate_runs(bots: Bots) -> list[Any]:
    with bots.store() as store:
        return [r for r in store.latest_runs(50) if r.command == "orchestrate"]


def _refusals(bots: Bots) -> list[tuple[str, str]]:
    with bots.store() as store:
        found = [e for e in store.events_since(SINCE) if e.kind == "approval.refused"]
    return [(e.actor, str(e.details["reason"])) for e in found]


def test_a_paused_canary_waits_for_continue_and_two_replicas_clicking_it_run_one_wave(
    bots: Bots,
    kube_admin: Any,
    registry: reg.LocalRegistry,
    image: tuple[str, str, str],
    request: pytest.FixtureRequest,
) -> None:
    ref, repo, v1 = image
    bots.state_url = str(request.getfixturevalue("fresh_postgres_url"))
    bots.write_config(_config(bots.namespace))
    first, second = bots.start(POD_NAME="bot-a"), bots.start(POD_NAME="bot-b")
    _deployments(bots, kube_admin, ref)
    v2 = registry.push_image(repo, "1.0", seed="v2")
    before = _generations(bots, ("b", "c"))

    paused = _paused(bots, first, ref)

    text = paused.all_text()
    assert "Canary passed" in text and "updated" in text and v2[7:19] in text
    assert "wave 1/2 canary (1)" in text
    assert _digests(bots, "a") == {v2}
    assert _generations(bots, ("b", "c")) == before  # the rest waits for Continue
    assert not paused.text.startswith(OUTCOMES)

    barrier = threading.Barrier(2)
    urls: list[str] = []

    def click(bot: Bot, who: str) -> None:
        barrier.wait()  # both clicks leave at once, to two replicas
        urls.append(bots.click(bot, paused, who, action="myctl_canary_continue")[1])

    threads = [
        threading.Thread(target=click, args=(first, "U_BOSS")),
        threading.Thread(target=click, args=(second, "U_BOSS2")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    final = _final(bots, paused)
    assert final.text.startswith(":white_check_mark:"), final.all_text()
    assert "Continued after the canary by" in final.all_text()
    refusal = bots.emulator.wait_for(lambda: [a for u in urls for a in bots.answers(u)])
    assert len(refusal) == 1 and "already approved" in str(refusal[0]["text"])
    assert _generations(bots, ("b", "c")) == {n: g + 1 for n, g in before.items()}  # one wave
    for name in NAMES:
        objects.rollout_settled(bots.plane, bots.namespace, name, 1)
        assert _digests(bots, name) == {v2} != {v1}
    assert len(_orchestrate_runs(bots)) == 1
    assert bots.emulator.violations == []


def test_stop_pressed_by_the_requester_leaves_the_rest_not_started(
    bots: Bots, kube_admin: Any, registry: reg.LocalRegistry, image: tuple[str, str, str]
) -> None:
    ref, repo, v1 = image
    bots.write_config(_config(bots.namespace))
    bot = bots.start()
    _deployments(bots, kube_admin, ref)
    registry.push_image(repo, "1.0", seed="v2")
    before = _generations(bots, ("b", "c"))
    paused = _paused(bots, bot, ref)

    bots.click(bot, paused, "U_REQ", action="myctl_canary_stop")

    final = _final(bots, paused)
    text = final.all_text()
    assert final.text.startswith(":large_orange_circle:"), text  # 1 rolled out, 2 not: partial
    assert "Stopped after the canary by <@U_REQ>" in text
    assert "Not started (after the canary)* (2)" in text
    assert _action_ids(final) == {"myctl_rollback"}  # Continue / Stop gone; a was restarted
    assert _generations(bots, ("b", "c")) == before
    assert _digests(bots, "b") == _digests(bots, "c") == {v1}


def test_a_canary_pause_nobody_decides_expires_stops_the_run_and_says_so(
    bots: Bots, kube_admin: Any, registry: reg.LocalRegistry, image: tuple[str, str, str]
) -> None:
    ref, repo, _v1 = image
    bots.write_config(_config(bots.namespace, expiry="3s"))
    bot = bots.start(MYCTL_APPROVAL_SWEEP_SECONDS="0.5")
    _deployments(bots, kube_admin, ref)
    registry.push_image(repo, "1.0", seed="v2")
    before = _generations(bots, ("b", "c"))
    paused = _paused(bots, bot, ref)

    final = _final(bots, paused)

    text = final.all_text()
    assert final.text.startswith(":large_orange_circle:") and "Nobody decided by" in text, text
    assert "not started" in text
    assert _generations(bots, ("b", "c")) == before
    status, url = bots.click(bot, paused, "U_BOSS", action="myctl_canary_continue")
    assert status == 200 and "expired" in bots.answer(url)["text"]
    assert _generations(bots, ("b", "c")) == before


def test_roll_back_by_an_approver_puts_v1_back_once_and_a_non_approver_changes_nothing(
    bots: Bots, kube_admin: Any, registry: reg.LocalRegistry, image: tuple[str, str, str]
) -> None:
    ref, repo, v1 = image
    bots.write_config(_config(bots.namespace, canary=False))
    bot = bots.start()
    names = ("api", "web")
    _deployments(bots, kube_admin, ref, names)
    up_to_date = _final(bots, _run_message(bots, bot, f"orchestrate --image {ref}@{v1}"))
    assert up_to_date.text.startswith(":white_check_mark:"), up_to_date.all_text()
    assert "actions" not in {b["type"] for b in up_to_date.blocks or []}  # nothing restarted
    v2 = registry.push_image(repo, "1.0", seed="v2")
    rolled = _final(bots, _run_message(bots, bot, f"orchestrate --image {ref} --wait"))
    assert rolled.text.startswith(":white_check_mark:"), rolled.all_text()
    for name in names:
        objects.rollout_settled(bots.plane, bots.namespace, name, 1)
        assert _digests(bots, name) == {v2}
    (button,) = rolled.blocks[-1]["elements"]
    assert (button["action_id"], button["style"]) == ("myctl_rollback", "danger")
    assert "confirm" in button
    generations = _generations(bots, names)

    status, url = bots.click(bot, rolled, "U_NOBODY", action="myctl_rollback")

    assert status == 200
    answer = bots.answer(url)
    assert answer["response_type"] == "ephemeral" and "not one of the configured" in answer["text"]
    assert _refusals(bots) == [("U_NOBODY", "not_approver")]
    assert _generations(bots, names) == generations
    assert bots.current(rolled).blocks[-1]["type"] == "actions"  # still offered

    seen = {m.ts for m in bots.emulator.messages_in(CHANNEL)}
    bots.click(bot, rolled, "U_BOSS", action="myctl_rollback")

    def rollback_message() -> Message | None:
        fresh = [m for m in bots.emulator.messages_in(CHANNEL) if m.ts not in seen]
        return fresh[0] if fresh else None

    rollback = _final(bots, bots.emulator.wait_for(rollback_message, timeout=DEADLINE))
    text = rollback.all_text()
    assert rollback.text.startswith(":white_check_mark: rollback of run"), text
    with bots.store() as store:
        runs = store.latest_runs(50)
    (undone,) = [r for r in runs if r.command == "orchestrate" and r.message_ts == rolled.ts]
    assert f"undoes run <{undone.permalink}|{undone.id}>" in text
    assert "Roll back approved by <@U_BOSS>" in bots.current(rolled).all_text()
    assert "actions" not in {b["type"] for b in bots.current(rolled).blocks or []}
    for name in names:
        objects.rollout_settled(bots.plane, bots.namespace, name, 1)
        assert _digests(bots, name) == {v1}

    status, url = bots.click(bot, rolled, "U_BOSS2", action="myctl_rollback")  # a late click
    assert "already approved" in bots.answer(url)["text"]
    (done,) = [r for r in runs if r.command == "rollback"]
    assert (done.exit_code, done.user, (done.details or {}).get("undoes")) == (
        0,
        "U_BOSS",
        undone.id,
    )
    assert _generations(bots, names) == {n: g + 1 for n, g in generations.items()}  # once
    assert bots.emulator.violations == []


def test_slash_rollback_with_a_run_id_undoes_that_run_and_links_its_message(
    bots: Bots, kube_admin: Any, registry: reg.LocalRegistry, image: tuple[str, str, str]
) -> None:
    ref, repo, v1 = image
    bots.write_config(_config(bots.namespace, canary=False))
    bot = bots.start()
    _deployments(bots, kube_admin, ref, ("api",))
    v2 = registry.push_image(repo, "1.0", seed="v2")
    rolled = _final(bots, _run_message(bots, bot, f"orchestrate --image {ref} --wait"))
    assert rolled.text.startswith(":white_check_mark:"), rolled.all_text()
    objects.rollout_settled(bots.plane, bots.namespace, "api", 1)
    assert _digests(bots, "api") == {v2}
    (undone,) = _orchestrate_runs(bots)

    rollback = _final(bots, _run_message(bots, bot, f"rollback {undone.id}"))

    text = rollback.all_text()
    assert rollback.text.startswith(":white_check_mark: rollback of run"), text
    assert f"undoes run <{undone.permalink}|{undone.id}>" in text
    objects.rollout_settled(bots.plane, bots.namespace, "api", 1)
    assert _digests(bots, "api") == {v1}
    with bots.store() as store:
        (done,) = [r for r in store.latest_runs(10) if r.command == "rollback"]
    assert (done.user, (done.details or {}).get("undoes")) == ("U_REQ", undone.id)
