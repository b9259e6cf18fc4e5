"""The Slack test harness proven against the real slack_sdk clients.

If these pass, an end-to-end test that drives the bot through the emulator exercises the
same client code paths as production: the WebClient's HTTP calls and retry handlers, the
Socket Mode handshake, acks and reconnects, and Slack's request signing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.support import slack_blocks
from tests.support.slack_driver import Forgery, SlackDriver, click_payload
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET

pytestmark = pytest.mark.slack

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}


@pytest.fixture
def web(slack_emulator: SlackEmulator) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url)


# --------------------------------------------------------------------------- Web API


def test_posted_message_is_updated_in_place(slack_emulator: SlackEmulator, web: WebClient) -> None:
    posted = web.chat_postMessage(channel="C_OPS", text="starting", blocks=[SECTION])
    web.chat_update(channel="C_OPS", ts=posted["ts"], text=":white_check_mark: done")

    message = slack_emulator.messages[("C_OPS", posted["ts"])]
    assert message.text == ":white_check_mark: done"
    assert message.blocks == [SECTION]  # an update without blocks keeps them
    assert message.updates == 1
    assert [c.method for c in slack_emulator.calls] == ["chat.postMessage", "chat.update"]
    update = slack_emulator.calls_to("chat.update")[0]
    assert update.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert slack_emulator.violations == []


def test_form_encoded_and_get_methods_answer_like_slack(
    slack_emulator: SlackEmulator, web: WebClient
) -> None:
    slack_emulator.usergroups = {"S222": ["U111", "U112"]}
    posted = web.chat_postMessage(channel="C_OPS", text="x")

    assert web.auth_test()["user_id"] == "U_BOT"
    assert web.usergroups_users_list(usergroup="S222")["users"] == ["U111", "U112"]
    dm = web.conversations_open(users="U111")["channel"]["id"]
    assert dm.startswith("D")
    assert web.users_info(user="U111")["user"]["id"] == "U111"
    link = web.chat_getPermalink(channel="C_OPS", message_ts=posted["ts"])["permalink"]
    assert posted["ts"].replace(".", "") in link
    assert web.chat_postEphemeral(channel="C_OPS", user="U111", text="only you")["ok"]
    assert slack_emulator.ephemerals[0]["user"] == "U111"
    assert web.chat_postMessage(channel="U111", text="dm")["channel"] == dm
    with pytest.raises(SlackApiError) as err:
        web.usergroups_users_list(usergroup="S_UNKNOWN")
    assert err.value.response["error"] == "no_such_subteam"


def test_wrong_tokens_are_refused(slack_emulator: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as unknown:
        WebClient(token="xoxb-real-looking", base_url=slack_emulator.api_url).auth_test()
    with pytest.raises(SlackApiError) as app_token_on_bot_method:
        WebClient(token=APP_TOKEN, base_url=slack_emulator.api_url).chat_postMessage(
            channel="C_OPS", text="x"
        )

    assert unknown.value.response["error"] == "invalid_auth"
    assert app_token_on_bot_method.value.response["error"] == "not_allowed_token_type"


def test_files_upload_v2_stores_the_content(slack_emulator: SlackEmulator, web: WebClient) -> None:
    result = web.files_upload_v2(
        channel="C_OPS", content="deploy/a\ndeploy/b\n", filename="targets.txt", title="Targets"
    )

    stored = slack_emulator.files[result["file"]["id"]]
    assert stored.content == b"deploy/a\ndeploy/b\n"
    assert (stored.channel_id, stored.title, stored.completed) == ("C_OPS", "Targets", True)
    assert [c.method for c in slack_emulator.calls] == [
        "files.getUploadURLExternal",
        "upload_url",
        "files.completeUploadExternal",
    ]
    assert slack_emulator.violations == []


def test_rate_limited_call_is_retried_by_the_sdk_handler(slack_emulator: SlackEmulator) -> None:
    web = WebClient(
        token=BOT_TOKEN,
        base_url=slack_emulator.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack_emulator.rate_limit_next("chat.postMessage", times=1, retry_after=1)

    assert web.chat_postMessage(channel="C_OPS", text="x")["ok"]
    calls = slack_emulator.calls_to("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].timestamp - calls[0].timestamp >= 1.0  # Retry-After was honoured


def test_rate_limit_without_handler_surfaces_ratelimited(
    slack_emulator: SlackEmulator, web: WebClient
) -> None:
    slack_emulator.rate_limit_next("chat.update", retry_after=7)
    posted = web.chat_postMessage(channel="C_OPS", text="x")

    with pytest.raises(SlackApiError) as err:
        web.chat_update(channel="C_OPS", ts=posted["ts"], text="y")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


def test_injected_failure_applies_only_the_requested_times(
    slack_emulator: SlackEmulator, web: WebClient
) -> None:
    slack_emulator.fail_next("chat.postMessage", error="channel_not_found", times=2)

    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            web.chat_postMessage(channel="C_OPS", text="x")
        assert err.value.response["error"] == "channel_not_found"
    assert web.chat_postMessage(channel="C_OPS", text="x")["ok"]
    assert slack_emulator.violations == []  # injected errors are not the caller's fault


def test_unjoined_channel_answers_not_in_channel(
    slack_emulator: SlackEmulator, web: WebClient
) -> None:
    slack_emulator.channels_not_joined = {"C_PRIVATE"}

    with pytest.raises(SlackApiError) as err:
        web.chat_postMessage(channel="C_PRIVATE", text="x")
    assert err.value.response["error"] == "not_in_channel"
    assert slack_emulator.messages == {}


def _post(web: WebClient, **kwargs: Any) -> Any:
    return web.chat_postMessage(**kwargs)


# slack_sdk warns when text is missing; here that is the point.
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (
            {"channel": "C_OPS", "blocks": [SECTION] * (slack_blocks.MAX_BLOCKS + 1)},
            "invalid_blocks",
        ),
        (
            {
                "channel": "C_OPS",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            },
            "invalid_blocks",
        ),
        ({"channel": "C_OPS", "text": "x" * 40001}, "msg_too_long"),
        ({"channel": "C_OPS", "text": ""}, "no_text"),
        ({"channel": "", "text": "x"}, "channel_not_found"),
    ],
    ids=["51-blocks", "long-section", "long-text", "no-text", "no-channel"],
)
def test_payloads_slack_would_reject_are_rejected_and_counted(
    slack_emulator: SlackEmulator, web: WebClient, kwargs: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackApiError) as err:
        _post(web, **kwargs)

    assert err.value.response["error"] == error
    assert [v.error for v in slack_emulator.violations] == [error]
    assert slack_emulator.messages == {}


def test_exactly_fifty_blocks_are_accepted(slack_emulator: SlackEmulator, web: WebClient) -> None:
    blocks = [{**SECTION, "block_id": f"b{i}"} for i in range(slack_blocks.MAX_BLOCKS)]
    assert web.chat_postMessage(channel="C_OPS", text="x", blocks=blocks)["ok"]
    assert slack_emulator.violations == []


def test_update_of_unknown_message_is_message_not_found(
    slack_emulator: SlackEmulator, web: WebClient
) -> None:
    with pytest.raises(SlackApiError) as err:
        web.chat_update(channel="C_OPS", ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"
    assert len(slack_emulator.violations) == 1


def test_response_url_posts_are_recorded_and_validated(slack_emulator: SlackEmulator) -> None:
    url = slack_emulator.new_response_url()
    hook = WebhookClient(url)

    assert hook.send(text="ephemeral answer", response_type="ephemeral").status_code == 200
    bad = hook.send(text="x", blocks=[SECTION] * (slack_blocks.MAX_BLOCKS + 1))
    assert (bad.status_code, json.loads(bad.body)["error"]) == (400, "invalid_blocks")
    for _ in range(4):
        hook.send(text="more")
    used = hook.send(text="sixth")

    assert json.loads(used.body)["error"] == "used_url"
    assert slack_emulator.responses[0][1]["text"] == "ephemeral answer"
    assert [v.error for v in slack_emulator.violations] == ["invalid_blocks", "used_url"]


def test_malformed_and_unknown_calls_are_violations(slack_emulator: SlackEmulator) -> None:
    headers = {"Authorization": f"Bearer {BOT_TOKEN}", "Content-Type": "application/json"}
    bad_json = requests.post(f"{slack_emulator.api_url}chat.postMessage", data="{", headers=headers)
    unknown = requests.post(
        f"{slack_emulator.api_url}chat.scheduleMessage", json={}, headers=headers
    )

    assert bad_json.json()["error"] == "invalid_json"
    assert unknown.json()["error"] == "unknown_method"
    assert [v.error for v in slack_emulator.violations] == ["invalid_json", "unknown_method"]


def test_wait_for_gives_up_at_the_deadline(slack_emulator: SlackEmulator) -> None:
    with pytest.raises(TimeoutError):
        slack_emulator.wait_for(lambda: slack_emulator.calls_to("chat.update"), timeout=0.2)


# --------------------------------------------------------------------------- Socket Mode


@pytest.fixture
def socket_client(slack_emulator: SlackEmulator) -> Iterator[SocketModeClient]:
    """The builtin SocketModeClient (the variant the bot uses), acking every request.

    ping_interval is also how often the builtin client checks its connection and
    reconnects, so a short one keeps the reconnect tests quick.
    """
    web = WebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url)
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web, ping_interval=1)
    received: list[SocketModeRequest] = []

    def ack(c: BaseSocketModeClient, req: SocketModeRequest) -> None:
        received.append(req)
        c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client.socket_mode_request_listeners.append(ack)
    client.received = received  # type: ignore[attr-defined]
    client.connect()
    try:
        yield client
    finally:
        # Closing from our side first: the builtin client's close() otherwise waits out
        # its 3 s socket read timeout.
        client.auto_reconnect_enabled = False
        slack_emulator.socket_drop_connections()
        client.close()


def test_socket_client_receives_a_slash_command_and_acks_it(
    slack_emulator: SlackEmulator, socket_client: SocketModeClient
) -> None:
    envelope_id = slack_emulator.socket_send_slash_command({"command": "/myctl", "text": "status"})

    assert slack_emulator.wait_for_ack(envelope_id, timeout=5) < 3.0
    received = socket_client.received  # type: ignore[attr-defined]
    assert received[0].type == "slash_commands"
    assert received[0].payload["text"] == "status"
    assert received[0].payload["response_url"].startswith(slack_emulator.base_url)
    assert slack_emulator.calls_to("apps.connections.open")[0].headers["Authorization"] == (
        f"Bearer {APP_TOKEN}"
    )


def test_socket_client_reconnects_after_connections_drop(
    slack_emulator: SlackEmulator, socket_client: SocketModeClient
) -> None:
    slack_emulator.wait_for(slack_emulator.socket_connection_count)
    assert slack_emulator.socket_drop_connections() == 1

    slack_emulator.wait_for(lambda: slack_emulator.socket_connects >= 2, timeout=15)
    envelope_id = slack_emulator.socket_send_interactive({"type": "block_actions", "actions": []})
    slack_emulator.wait_for_ack(envelope_id, timeout=5)
    assert len(slack_emulator.calls_to("apps.connections.open")) >= 2


def test_socket_client_follows_a_refresh_request(
    slack_emulator: SlackEmulator, socket_client: SocketModeClient
) -> None:
    slack_emulator.wait_for(slack_emulator.socket_connection_count)
    slack_emulator.socket_request_refresh()

    slack_emulator.wait_for(lambda: slack_emulator.socket_connects >= 2, timeout=15)
    slack_emulator.wait_for(lambda: slack_emulator.socket_connection_count() == 1, timeout=15)
    envelope_id = slack_emulator.socket_send_slash_command({"command": "/myctl", "text": "x"})
    slack_emulator.wait_for_ack(envelope_id, timeout=5)


def test_socket_connection_without_a_ticket_is_refused(slack_emulator: SlackEmulator) -> None:
    with pytest.raises(InvalidStatus) as err:
        ws_connect(f"{slack_emulator.ws_url}?ticket=forged")
    assert err.value.response.status_code == 401


# --------------------------------------------------------------------------- driver


class _VerifyingApp(BaseHTTPRequestHandler):
    """A stand-in for the bot's HTTP endpoint that verifies like slack_bolt does."""

    verifier = SignatureVerifier(SIGNING_SECRET)
    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        headers = {k.lower(): v for k, v in self.headers.items()}
        ok = self.verifier.is_valid_request(body, headers)
        self.seen.append(body)
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def driver() -> Iterator[SlackDriver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VerifyingApp)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _VerifyingApp.seen = []
    with SlackDriver(
        f"http://127.0.0.1:{server.server_address[1]}/slack/events", SIGNING_SECRET
    ) as d:
        yield d
    server.shutdown()
    server.server_close()


def test_driver_signatures_verify_with_the_sdk_verifier(driver: SlackDriver) -> None:
    status, _, elapsed = driver.slash_command("restart deploy/web", response_url="http://x/r/1")

    assert status == 200
    assert elapsed < 3.0
    assert "command=%2Fmyctl" in _VerifyingApp.seen[0]
    assert "text=restart+deploy%2Fweb" in _VerifyingApp.seen[0]


@pytest.mark.parametrize("forgery", [f for f in Forgery if f is not Forgery.NONE])
def test_forged_requests_fail_verification(driver: SlackDriver, forgery: Forgery) -> None:
    assert driver.slash_command("status", forgery=forgery).status_code == 401


def test_clicking_a_posted_button_sends_its_value(
    slack_emulator: SlackEmulator, web: WebClient, driver: SlackDriver
) -> None:
    button = {
        "type": "button",
        "action_id": "approve",
        "value": "req-42",
        "text": {"type": "plain_text", "text": "Approve"},
    }
    posted = web.chat_postMessage(
        channel="C_OPS",
        text="plan",
        blocks=[{"type": "actions", "block_id": "a1", "elements": [button]}],
    )
    message = slack_emulator.messages[("C_OPS", posted["ts"])]

    payload = click_payload(
        channel=message.channel,
        ts=message.ts,
        text=message.text,
        blocks=message.blocks,
        action_id="approve",
        user_id="U111",
    )
    assert driver.interactive(payload).status_code == 200
    action = payload["actions"][0]
    assert (action["value"], action["block_id"], payload["user"]["id"]) == ("req-42", "a1", "U111")
    assert payload["container"]["message_ts"] == posted["ts"]
