"""Recognizable fake secrets (bot token, signing secret, app token, a webhook secret) go in; the
bot is driven through commands, usage errors, refusals, forged requests, hostile clicks, failing
Slack calls and hook deliveries at DEBUG; then everything it wrote is searched: every log record
of every logger, every Slack call's parameters and every message, /metrics, /readyz, the audit
rows and run records of the state store, and each hook answer and audit detail."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging

import pytest
import requests

from bot.hooks import handler
from commands.values import triggers
from tests.attacks.test_hook_payloads import credentials
from tests.bot.hooks import payloads
from tests.bot.hooks.support import Bot, trigger
from tests.bot.transport.bots import OUTCOMES, BotFactory, slash
from tests.support.slack_driver import Forgery, block_actions_payload
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET

pytestmark = pytest.mark.slack
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
HOOK_SECRET = "hook-secret-canary-7Qz9"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, HOOK_SECRET)


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_no_secret_appears_in_anything_the_bot_writes(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    running = fast_bot(MYCTL_HOOK_ACME=HOOK_SECRET)
    assert running.driver is not None
    slack_emulator.rate_limit_next("chat.update", times=1, retry_after=1)
    slack_emulator.fail_next("chat.postMessage", error="internal_error", times=1)

    # Commands that run, fail, are refused, or do not parse; forged and hostile requests.
    # (What a user types is echoed back to them, so no secret is typed here.)
    for text in ("check -n shop", "version", "select nginx", "restart --bogus x", '"unbalanced'):
        slash(running, text)
    slash(running, "restart deployment/api -n shop", user_id="U_OTHER")
    for forgery in (Forgery.BAD_SIGNATURE, Forgery.STALE_TIMESTAMP, Forgery.MISSING_HEADERS):
        slash(running, "version", forgery=forgery)
    running.driver.interactive(block_actions_payload("myctl_approve", "no-such-request"))
    running.driver.post_form({"payload": f"not json {SIGNING_SECRET}"})
    slack_emulator.wait_for(
        lambda: sum(m.text.startswith(OUTCOMES) for m in slack_emulator.messages.values()) >= 2,
        timeout=60,
    )

    # Hook deliveries with the webhook secret, accepted, refused and malformed.
    hooks = Bot.create()
    audit: list[str] = []
    for source in triggers.Source:
        for body in (payloads.encode(payloads.quay_push()), b"{truncated", b"[]"):
            for secret in (HOOK_SECRET, HOOK_SECRET + "x"):
                headers, query = credentials(source, body, secret)
                response = handler.handle(
                    trigger(source, secret_env="MYCTL_HOOK_ACME"),
                    HOOK_SECRET,
                    method="POST",
                    headers=headers,
                    query=query,
                    body=body,
                    content_type="application/json",
                    services=hooks.services,
                )
                audit.append(response.body().decode())
                audit.append(json.dumps(response.audit_details(trigger(source))))
                audit.append(response.reason)

    written = {
        "logs": "\n".join(
            f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
        ),
        "slack calls": "\n".join(json.dumps(c.params) for c in slack_emulator.calls),
        "slack messages": "\n".join(m.all_text() for m in slack_emulator.messages.values()),
        "slack responses": json.dumps(slack_emulator.responses),
        "metrics": requests.get(running.url("/metrics"), timeout=5).text,
        "readyz": requests.get(running.url("/readyz"), timeout=5).text,
        "audit rows": "\n".join(
            json.dumps(dataclasses.asdict(e), default=str)
            for e in running.bot.services.store.events_since(EPOCH)
        ),
        "runs": "\n".join(
            json.dumps(dataclasses.asdict(r), default=str)
            for r in running.bot.services.store.runs_since(EPOCH)
        ),
        "hook answers and audit": "\n".join(audit),
    }
    assert len(caplog.records) > 20, "DEBUG logging was on"
    assert written["audit rows"] and written["runs"] and written["slack calls"]
    assert {where: _leaks(text) for where, text in written.items() if _leaks(text)} == {}
