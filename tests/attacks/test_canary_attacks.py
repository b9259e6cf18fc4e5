"""Canary Continue / Stop and Roll back under attack, end to end (the real bot over HTTP, the Slack
emulator, the real control plane, the fake kubelet and the local registry): a signed click edited
afterwards is 401 and decides nothing; a non-approver's Continue is refused and audited; the exact
bytes of a deciding click replayed after the decision run nothing more (docs/reliability.md)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from tests.bot.approvals import test_waves_e2e as flows
from tests.bot.approvals.approval_support import SINCE, Bot, Bots, bots
from tests.support import polling
from tests.support import registry as reg
from tests.support.slack_driver import click_payload, signed_headers
from tests.support.slack_emulator import Message
from tests.support.slack_plugin import SIGNING_SECRET

pytestmark = [pytest.mark.slack, pytest.mark.kube]
__all__ = ["bots", "image"]  # the fixtures, re-exported for pytest
image = flows.image


def _signed(
    bots: Bots, message: Message, action: str, user: str, edit: tuple[object, ...] = ()
) -> tuple[bytes, dict[str, str], str]:
    """A click's body, its valid headers and its response_url; with `edit` (a path and a value),
    the body is changed after signing."""
    url = bots.emulator.new_response_url()
    payload: Any = click_payload(
        channel=message.channel, ts=message.ts, text=message.text, blocks=message.blocks,
        action_id=action, user_id=user, response_url=url,
    )  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(SIGNING_SECRET, body)
    if edit:
        *path, last, value = edit
        node = payload
        for step in path:
            node = node[step]
        node[last] = value
        body = urlencode({"payload": json.dumps(payload)})
    return body.encode(), headers, url


def _post(bot: Bot, body: bytes, headers: dict[str, str]) -> int:
    return requests.post(bot.driver.app_url, data=body, headers=headers, timeout=10).status_code


def _decisions(bots: Bots) -> list[str]:
    with bots.store() as store:
        kinds = [e.kind for e in store.events_since(SINCE)]
    return [k for k in kinds if k in ("approval.approved", "approval.cancelled")]


def _refused(bots: Bots) -> list[tuple[str, str]]:
    with bots.store() as store:
        found = [e for e in store.events_since(SINCE) if e.kind == "approval.refused"]
    return [(e.actor, str(e.details["reason"])) for e in found]


def test_canary_clicks_forged_by_a_non_approver_or_replayed_decide_nothing_more(
    bots: Bots, kube_admin: Any, registry: reg.LocalRegistry, image: tuple[str, str, str]
) -> None:
    ref, repo, _v1 = image
    bots.write_config(flows._config(bots.namespace))
    bot = bots.start()
    flows._deployments(bots, kube_admin, ref)
    registry.push_image(repo, "1.0", seed="v2")
    before = flows._generations(bots, ("b", "c"))
    paused = flows._paused(bots, bot, ref)

    edits = [
        ("U_NOBODY", "myctl_canary_continue", ("user", "id", "U_BOSS")),
        ("U_REQ", "myctl_canary_stop", ("actions", 0, "action_id", "myctl_canary_continue")),
        ("U_BOSS", "myctl_canary_stop", ("actions", 0, "value", "0" * 32)),
    ]
    for user, action, edit in edits:
        body, headers, _ = _signed(bots, paused, action, user, edit)
        assert _post(bot, body, headers) == 401, (user, action, edit)
    status, url = bots.click(bot, paused, "U_NOBODY", action="myctl_canary_continue")
    assert status == 200 and "not one of the configured" in bots.answer(url)["text"]
    assert _refused(bots) == [("U_NOBODY", "not_approver")]
    assert _decisions(bots) == []
    assert flows._generations(bots, ("b", "c")) == before  # still paused
    assert "myctl_canary_continue" in flows._action_ids(bots.current(paused))

    body, headers, _ = _signed(bots, paused, "myctl_canary_continue", "U_BOSS")
    assert _post(bot, body, headers) == 200
    final = flows._final(bots, paused)
    assert final.text.startswith(":white_check_mark:"), final.all_text()
    body_again, headers_again, _ = _signed(bots, paused, "myctl_canary_stop", "U_REQ")
    assert _post(bot, body, headers) == 200  # the Continue, byte for byte
    assert _post(bot, body_again, headers_again) == 200  # a Stop after the decision

    polling.wait_until(lambda: len(_refused(bots)) >= 3, what="the replay and the late Stop")
    assert _decisions(bots) == ["approval.approved"]
    assert flows._generations(bots, ("b", "c")) == {n: g + 1 for n, g in before.items()}
    assert len(flows._orchestrate_runs(bots)) == 1
    assert "Stopped" not in bots.current(paused).all_text()


def test_roll_back_clicks_edited_or_replayed_roll_back_once(
    bots: Bots, kube_admin: Any, registry: reg.LocalRegistry, image: tuple[str, str, str]
) -> None:
    ref, repo, _v1 = image
    bots.write_config(flows._config(bots.namespace, canary=False))
    bot = bots.start()
    names = ("api",)
    flows._deployments(bots, kube_admin, ref, names)
    registry.push_image(repo, "1.0", seed="v2")
    rolled = flows._final(bots, flows._run_message(bots, bot, f"orchestrate --image {ref} --wait"))
    assert rolled.text.startswith(":white_check_mark:"), rolled.all_text()
    generations = flows._generations(bots, names)

    for edit in (("user", "id", "U_BOSS"), ("actions", 0, "value", "0" * 32)):
        body, headers, _ = _signed(bots, rolled, "myctl_rollback", "U_NOBODY", edit)
        assert _post(bot, body, headers) == 401, edit
    assert _decisions(bots) == [] and _refused(bots) == []
    assert flows._generations(bots, names) == generations

    seen = {m.ts for m in bots.emulator.messages_in(flows.CHANNEL)}
    body, headers, _ = _signed(bots, rolled, "myctl_rollback", "U_BOSS")
    assert _post(bot, body, headers) == 200

    def rollback_message() -> Message | None:
        fresh = [m for m in bots.emulator.messages_in(flows.CHANNEL) if m.ts not in seen]
        return fresh[0] if fresh else None

    found = bots.emulator.wait_for(rollback_message, timeout=flows.DEADLINE)
    done = flows._final(bots, found)
    assert done.text.startswith(":white_check_mark: rollback of run"), done.all_text()
    assert _post(bot, body, headers) == 200  # replayed byte for byte after the decision

    polling.wait_until(lambda: len(_refused(bots)) >= 1, what="the replayed Roll back refused")
    with bots.store() as store:
        rollbacks = [r for r in store.latest_runs(50) if r.command == "rollback"]
    assert len(rollbacks) == 1
    assert flows._generations(bots, names) == {n: g + 1 for n, g in generations.items()}
