"""Approvals under attack, end to end (real bot over HTTP, the Slack emulator, the real control
plane): a signed click whose payload is edited afterwards (to an approver's id, or to say
approve where it said cancel) is 401; the exact bytes of an approving click replayed, and a fresh
second click after the decision, run nothing more — the rebuild runs once."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import requests

from tests.bot.approvals.approval_support import SINCE, Bots, bots
from tests.support import polling
from tests.support.slack_driver import click_payload, signed_headers
from tests.support.slack_plugin import SIGNING_SECRET

pytestmark = [pytest.mark.slack, pytest.mark.kube]
__all__ = ["bots"]  # the fixture, re-exported for pytest


def _rebuilds(running: Bots) -> int:
    with running.store() as store:
        return len([r for r in store.latest_runs(100) if r.command == "rebuild"])


@pytest.mark.parametrize(
    ("clicker", "action", "edit"),
    [
        ("U_NOBODY", "myctl_approve", ("user", "id", "U_BOSS")),
        ("U_BOSS", "myctl_cancel", ("actions", 0, "action_id", "myctl_approve")),
        ("U_REQ", "myctl_approve", ("user", "id", "U_BOSS")),
    ],
)
def test_a_click_edited_after_signing_is_401_and_decides_nothing(
    bots: Bots, clicker: str, action: str, edit: tuple[object, ...]
) -> None:
    bot = bots.start()
    request = bots.request(bot)
    payload = click_payload(
        channel=request.channel, ts=request.ts, text=request.text, blocks=request.blocks,
        action_id=action, user_id=clicker, response_url=bots.emulator.new_response_url(),
    )  # fmt: skip
    signed_body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(SIGNING_SECRET, signed_body)
    node: object = payload
    *path, last, value = edit
    for step in path:
        node = node[step]  # type: ignore[index]
    node[last] = value  # type: ignore[index]
    edited = urlencode({"payload": json.dumps(payload)})

    answer = requests.post(bot.driver.app_url, data=edited.encode(), headers=headers, timeout=10)

    assert answer.status_code == 401
    with bots.store() as store:
        kinds = [e.kind for e in store.events_since(SINCE)]
        approval = store.get_approval(request.blocks[-1]["elements"][0]["value"])
    assert approval is not None and approval.state == "pending"
    assert "approval.approved" not in kinds and "approval.cancelled" not in kinds
    assert _rebuilds(bots) == 0


def test_an_approval_replayed_or_clicked_again_after_its_decision_runs_once(bots: Bots) -> None:
    bot = bots.start()
    request = bots.request(bot)
    payload = click_payload(
        channel=request.channel, ts=request.ts, text=request.text, blocks=request.blocks,
        action_id="myctl_approve", user_id="U_BOSS",
        response_url=bots.emulator.new_response_url(),
    )  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(SIGNING_SECRET, body)

    first = requests.post(bot.driver.app_url, data=body.encode(), headers=headers, timeout=10)
    assert first.status_code == 200
    final = bots.final(request)
    assert final.text.startswith(":white_check_mark:")
    replayed = requests.post(bot.driver.app_url, data=body.encode(), headers=headers, timeout=10)
    status, url = bots.click(bot, request, "U_BOSS2")  # a fresh click by another approver

    assert replayed.status_code == 200 and status == 200
    assert bots.answer(url)["text"].startswith(":no_entry:")

    def refusals() -> int:
        with bots.store() as store:
            return sum(e.kind == "approval.refused" for e in store.events_since(SINCE))

    polling.wait_until(lambda: refusals() >= 2, what="the replay and the late click refused")
    assert _rebuilds(bots) == 1
