"""Hostile interactivity requests over HTTP on the in-memory cluster: malformed and oversized
payloads, unknown action ids, button values that name no request, broken framing. Each gets a
clear refusal (an HTTP 4xx, or an ephemeral answer that is audited), nothing runs, and the bot
keeps answering."""

from __future__ import annotations

import datetime as dt
import json
import socket
from typing import Any

import pytest

from tests.bot.transport.bots import ACK_BUDGET, BotFactory, RunningBot, slash
from tests.support.slack_driver import Forgery, block_actions_payload
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.slack
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _nothing_ran(running: RunningBot, emulator: SlackEmulator) -> None:
    assert emulator.calls_to("chat.postMessage") == []
    assert running.cluster is not None and running.cluster.calls.patches == []
    assert running.bot.services.store.runs_since(EPOCH) == []


def _still_answers(running: RunningBot) -> None:
    answer = slash(running, "help")
    assert answer.status_code == 200 and answer.elapsed_seconds < ACK_BUDGET


def _click(running: RunningBot, payload: dict[str, Any]) -> int:
    assert running.driver is not None
    return running.driver.interactive(payload).status_code


@pytest.mark.parametrize(
    "value", ["", "no-such-request", "0" * 36, "'; DROP TABLE approvals; --", "x" * 200_000]
)
@pytest.mark.parametrize("action", ["myctl_approve", "myctl_cancel"])
def test_a_button_value_that_names_no_request_is_refused_and_audited(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, action: str, value: str
) -> None:
    running = fast_bot()
    url = slack_emulator.new_response_url()

    status = _click(running, block_actions_payload(action, value, response_url=url))

    assert status == 200
    url_id = url.rsplit("/", 1)[1]
    answers = slack_emulator.wait_for(
        lambda: [b for uid, b in slack_emulator.responses if uid == url_id]
    )
    assert answers[0]["response_type"] == "ephemeral"
    assert "does not exist" in answers[0]["text"]
    assert len(answers[0]["text"]) < 500, "the value is not echoed back"
    (event,) = running.bot.services.store.events_since(EPOCH)
    assert (event.kind, event.details["reason"]) == ("approval.refused", "not_found")
    _nothing_ran(running, slack_emulator)


@pytest.mark.parametrize("action", ["myctl_delete", "MYCTL_APPROVE", "myctl_approve ", ""])
def test_an_unknown_action_id_runs_nothing(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, action: str
) -> None:
    running = fast_bot()

    status = _click(running, block_actions_payload(action, "anything"))

    assert status < 500
    assert running.bot.services.store.events_since(EPOCH) == []
    _nothing_ran(running, slack_emulator)
    _still_answers(running)


def _broken(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(payload))
    node = doc
    for step in path[:-1]:
        node = node[step]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("actions",), []),
        (("actions",), "myctl_approve"),
        (("actions",), [None]),
        (("actions",), [{"action_id": "myctl_approve", "value": ["a", "list"]}]),
        (("user",), KeyError),
        (("user",), "U_APPROVER"),
        (("user", "id"), None),
        (("type",), "view_submission"),
        (("type",), KeyError),
        (("container",), None),
        (("response_url",), "http://169.254.169.254/latest/meta-data"),
    ],
)
def test_malformed_block_actions_payloads_run_nothing(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, path: tuple[str, ...], value: Any
) -> None:
    running = fast_bot()
    payload = block_actions_payload(
        "myctl_approve", "no-such-request", response_url=slack_emulator.new_response_url()
    )

    status = _click(running, _broken(payload, path, value))

    assert status < 500
    _nothing_ran(running, slack_emulator)
    _still_answers(running)


@pytest.mark.parametrize(
    "fields",
    [
        {"payload": "not json"},
        {"payload": "[1, 2]"},
        {"payload": ""},
        {"nothing": "here"},
        {"payload": json.dumps({"type": "block_actions"})},
    ],
)
def test_undecodable_payloads_are_refused(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, fields: dict[str, str]
) -> None:
    running = fast_bot()
    assert running.driver is not None

    assert running.driver.post_form(fields).status_code < 500

    _nothing_ran(running, slack_emulator)
    _still_answers(running)


def test_a_body_over_one_mebibyte_is_413_before_it_is_read(
    fast_bot: BotFactory, slack_emulator: SlackEmulator
) -> None:
    running = fast_bot()
    payload = block_actions_payload("myctl_approve", "v" * (1 << 20))
    assert _click(running, payload) == 413
    _nothing_ran(running, slack_emulator)
    _still_answers(running)


def _raw_post(running: RunningBot, content_length: str) -> bytes:
    host, port = running.url("/slack/events").split("//", 1)[1].split("/", 1)[0].split(":")
    with socket.create_connection((host, int(port)), timeout=ACK_BUDGET) as conn:
        conn.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: "
            + content_length.encode()
            + b"\r\n\r\npayload=x"
        )
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize("content_length", ["-1", "abc", "1e3", "99999999999999999999"])
def test_a_bad_content_length_is_400_and_the_server_keeps_serving(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, content_length: str
) -> None:
    running = fast_bot()
    reply = _raw_post(running, content_length)
    assert reply.split(b"\r\n", 1)[0].split(b" ")[1] in (b"400", b"413"), reply[:200]
    _nothing_ran(running, slack_emulator)
    _still_answers(running)


@pytest.mark.parametrize("forgery", [f for f in Forgery if f is not Forgery.NONE])
def test_unverifiable_clicks_are_401_and_nothing_is_audited_or_run(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, forgery: Forgery
) -> None:
    running = fast_bot()
    assert running.driver is not None
    url = slack_emulator.new_response_url()

    answer = running.driver.interactive(
        block_actions_payload("myctl_approve", "any", response_url=url), forgery
    )

    assert answer.status_code == 401
    assert running.bot.services.store.events_since(EPOCH) == []
    assert slack_emulator.responses == []
    _nothing_ran(running, slack_emulator)
