"""The front process (bot/transport/front.py) on the public port, the bot on the in-memory
cluster: it acks `/myctl` at once and hands it over; what the ack would have said comes through
the response_url; everything else is passed through to the bot's own server unchanged.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
import requests

from bot.transport import frames, front, frontdoor
from tests.bot.transport.bots import ACK_BUDGET, BotFactory, RunningBot, slash
from tests.support import polling
from tests.support.slack_driver import Forgery, signed_headers, slash_command_payload
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import SIGNING_SECRET

pytestmark = pytest.mark.slack


@pytest.fixture
def front_bot(fast_bot: BotFactory) -> Callable[..., RunningBot]:
    return lambda **extra: fast_bot(front=True, **extra)


def _door(running: RunningBot) -> frontdoor.FrontDoor:
    assert isinstance(running.server, frontdoor.FrontDoor)
    return running.server


def _metric_lines(running: RunningBot) -> list[str]:
    return requests.get(running.url("/metrics"), timeout=5).text.splitlines()


def test_a_command_is_acked_empty_and_runs_behind_the_front(
    front_bot: Callable[..., RunningBot],
) -> None:
    running = front_bot()

    answer = slash(running, "version")

    assert (answer.status_code, answer.body) == (200, "")
    assert answer.elapsed_seconds < ACK_BUDGET
    assert running.final_message().text.startswith(":white_check_mark:")
    # The front's own ack time is what the bot's ack metric counts.
    assert "myctl_bot_ack_seconds_count 1" in _metric_lines(running)


def test_a_usage_error_comes_through_the_response_url_and_runs_nothing(
    front_bot: Callable[..., RunningBot], slack_emulator: SlackEmulator
) -> None:
    running = front_bot()
    late = slack_emulator.new_response_url()

    answer = slash(running, "restart --bogus-flag deployment/x", response_url=late)

    assert (answer.status_code, answer.body) == (200, "")
    texts = slack_emulator.wait_for(lambda: slack_emulator.response_texts(late), 10)
    assert len(texts) == 1
    assert texts[0].startswith(":warning:") and "--bogus-flag" in texts[0]
    (posted,) = [body for uid, body in slack_emulator.responses if late.endswith(uid)]
    assert posted["response_type"] == "ephemeral"
    assert slack_emulator.calls_to("chat.postMessage") == []
    polling.wait_until(
        lambda: (
            'myctl_bot_commands_total{command="usage",exit_code="2"} 1' in _metric_lines(running)
        ),
        what="the usage error counted",
    )


@pytest.mark.parametrize("forgery", [f for f in Forgery if f is not Forgery.NONE])
def test_unverifiable_requests_get_the_bots_own_refusal(
    front_bot: Callable[..., RunningBot], slack_emulator: SlackEmulator, forgery: Forgery
) -> None:
    running = front_bot()

    answer = slash(running, "version", forgery=forgery)

    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid request"}  # bolt's answer, passed through
    assert slack_emulator.calls_to("chat.postMessage") == []
    assert slack_emulator.responses == []


def test_health_metrics_and_unknown_paths_pass_through(
    front_bot: Callable[..., RunningBot],
) -> None:
    running = front_bot()

    health = requests.get(running.url("/healthz"), timeout=5)
    assert (health.status_code, health.text) == (200, "ok\n")
    ready = requests.get(running.url("/readyz"), timeout=5)
    assert ready.status_code == 200 and ready.text.startswith("ok: slack, kubernetes ")
    assert "# TYPE myctl_bot_ack_seconds histogram" in "\n".join(_metric_lines(running))
    assert requests.get(running.url("/nope"), timeout=5).status_code == 404
    assert requests.put(running.url("/slack/events"), timeout=5).status_code == 405


def _raw_post(port: int, length: str, body: bytes = b"") -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", "/slack/events")
        connection.putheader("Content-Length", length)
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Connection")
    finally:
        connection.close()


def test_oversized_and_malformed_lengths_are_refused_unread(
    front_bot: Callable[..., RunningBot],
) -> None:
    running = front_bot()
    port = _door(running).port

    assert _raw_post(port, str(frames.MAX_BODY + 1)) == (413, "close")
    assert _raw_post(port, "abc") == (400, "close")
    # A body of the declared length that is not Slack's: passed through, refused by bolt.
    assert _raw_post(port, "5", b"x=yz1")[0] == 401


def _chunked_post(port: int, chunks: list[bytes], headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("POST", "/slack/events")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        for chunk in chunks:
            connection.send(chunk)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_chunked_command_is_taken_and_bad_framing_is_refused(
    front_bot: Callable[..., RunningBot], slack_emulator: SlackEmulator
) -> None:
    running = front_bot()
    port = _door(running).port
    body = urlencode(
        slash_command_payload("version", response_url=slack_emulator.new_response_url())
    )
    signed = {**signed_headers(SIGNING_SECRET, body), "Transfer-Encoding": "chunked"}
    half = len(body) // 2
    chunks = [
        f"{len(part):x}\r\n".encode() + part.encode() + b"\r\n"
        for part in (body[:half], body[half:])
    ]

    assert _chunked_post(port, [*chunks, b"0\r\n\r\n"], signed) == (200, b"")
    assert running.final_message().text.startswith(":white_check_mark:")
    assert _chunked_post(port, [b"zz\r\nabc\r\n0\r\n\r\n"], signed)[0] == 400
    assert _chunked_post(port, [b"-5\r\nabc\r\n0\r\n\r\n"], signed)[0] == 400
    both = {**signed, "Content-Length": str(len(body))}
    assert _chunked_post(port, [*chunks, b"0\r\n\r\n"], both)[0] == 400


def test_a_killed_front_process_is_replaced_on_the_same_port(
    front_bot: Callable[..., RunningBot],
) -> None:
    running = front_bot()
    door = _door(running)
    first = door.pid
    assert first is not None

    os.kill(first, signal.SIGKILL)
    polling.wait_until(lambda: door.pid not in (None, first), what="a new front process")

    answer = slash(running, "version")
    assert (answer.status_code, answer.body) == (200, "")
    assert running.final_message().text.startswith(":white_check_mark:")


def test_the_front_process_ends_with_the_bot(front_bot: Callable[..., RunningBot]) -> None:
    running = front_bot()
    door = _door(running)
    pid = door.pid
    assert pid is not None
    assert requests.get(running.url("/healthz"), timeout=5).status_code == 200

    door.stop()

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url("/healthz"), timeout=5)


# --------------------------------------------------------------------------- the pieces


def _form(**fields: str) -> dict[str, list[str]]:
    return {key: [value] for key, value in fields.items()}


def _click(action_id: object) -> dict[str, list[str]]:
    payload = {"type": "block_actions", "actions": [{"action_id": action_id}]}
    return _form(payload=json.dumps(payload))


@pytest.mark.parametrize(
    ("form", "ours"),
    [
        (_form(command="/myctl", text="check"), True),
        (_form(command="/other", text="check"), False),
        (_form(command="/myctl", ssl_check="1"), False),
        (_click("myctl_approve"), True),
        (_click("someone_elses_button"), False),
        (_click(7), False),
        (_form(payload="{not json"), False),
        (_form(payload=json.dumps({"type": "view_submission"})), False),
        (_form(payload=json.dumps({"type": "block_actions", "actions": []})), False),
        ({}, False),
    ],
)
def test_what_the_front_acks_itself(form: dict[str, list[str]], ours: bool) -> None:
    assert front.is_ours(form) is ours


def test_frames_round_trip_and_an_oversized_one_ends_the_stream() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        sent = frames.Frame({"x-slack-signature": ["v0=ab"]}, "command=%2Fmyctl&text=é", 0.25)
        theirs.sendall(frames.encode(sent) + frames.encode(sent))
        theirs.sendall((frames.MAX_FRAME + 1).to_bytes(4, "big"))
        stream = frames.read(ours)
        assert next(stream) == sent
        assert next(stream) == sent
        with pytest.raises(ValueError, match="a frame of"):
            next(stream)
