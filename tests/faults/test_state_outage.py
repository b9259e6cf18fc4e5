"""PostgreSQL stopped under a running bot (its own throwaway server, tests/support/postgres.py),
over HTTP on the in-memory cluster. Read-only commands still answer; mutating commands and
approval clicks are refused with a clear message and nothing runs without its audit record; once
the server is back, everything works again without restarting the bot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from commands.values.workloads import Kind
from tests.bot.transport.bots import OUTCOMES, RUN_DEADLINE, BotFactory, RunningBot, slash
from tests.support import postgres
from tests.support.slack_driver import block_actions_payload
from tests.support.slack_emulator import SlackEmulator

pytestmark = pytest.mark.slack
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def server() -> Iterator[postgres.PostgresServer]:
    with postgres.running_postgres() as made:
        yield made


def _answer(emulator: SlackEmulator, url: str) -> str:
    url_id = url.rsplit("/", 1)[1]

    def found() -> str | None:
        for uid, body in emulator.responses:
            if uid == url_id and str(body.get("text", "")).startswith((*OUTCOMES, ":no_entry:")):
                return str(body["text"])
        return None

    text: str = emulator.wait_for(found, timeout=RUN_DEADLINE)
    return text


def _final(emulator: SlackEmulator, before: int) -> str:
    def found() -> str | None:
        finals = [m.text for m in emulator.messages_in("C_OPS") if m.text.startswith(OUTCOMES)]
        return finals[before] if len(finals) > before else None

    text: str = emulator.wait_for(found, timeout=RUN_DEADLINE)
    return text


def _command(running: RunningBot, emulator: SlackEmulator, text: str) -> str:
    """The outcome of `/myctl text`: the run's final message, or the ephemeral answer."""
    url = emulator.new_response_url()
    before = sum(m.text.startswith(OUTCOMES) for m in emulator.messages_in("C_OPS"))
    slash(running, text, response_url=url)

    def either() -> str | None:
        finals = [m.text for m in emulator.messages_in("C_OPS") if m.text.startswith(OUTCOMES)]
        if len(finals) > before:
            return finals[before]
        url_id = url.rsplit("/", 1)[1]
        for uid, body in emulator.responses:
            if uid == url_id and str(body.get("text", "")).startswith(OUTCOMES):
                return str(body["text"])
        return None

    text_: str = emulator.wait_for(either, timeout=RUN_DEADLINE)
    return text_


def test_a_stopped_state_database_refuses_mutations_and_recovers_without_a_restart(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, server: postgres.PostgresServer
) -> None:
    url = server.create_database("myctl_outage")
    running = fast_bot(MYCTL_STATE_URL=url)
    assert running.cluster is not None
    running.cluster.add(Kind.DEPLOYMENT, "shop", "api", "registry.example.com/team/api:1.4.2")
    store = running.bot.services.store

    server.stop()

    assert _command(running, slack_emulator, "check -n shop").startswith(":x: cache needs rebuild")
    refused = _command(running, slack_emulator, "restart deployment/api -n shop")
    assert refused.startswith(":x:") and "state" in refused.lower(), refused
    assert running.cluster.calls.patches == []
    click_url = slack_emulator.new_response_url()
    assert running.driver is not None
    status = running.driver.interactive(
        block_actions_payload("myctl_approve", "some-request", response_url=click_url)
    ).status_code
    assert status == 200
    click: Any = _answer(slack_emulator, click_url)
    assert "state" in click.lower(), click

    server.restart()

    done = _command(running, slack_emulator, "restart deployment/api -n shop")
    assert done.startswith(OUTCOMES), done
    runs = [r for r in store.runs_since(EPOCH) if r.command == "restart"]
    assert len(runs) == 1, "the refused restart left no run; the later one is recorded"
