"""`/myctl rollback` from Slack without Kubernetes: a mutating command for the access rules, and
one that `slack.approvals.commands` can put behind Approve / Cancel (bot on the in-memory
cluster, the Slack emulator, a real SQLite store)."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.transport import bots
from tests.bot.transport.bots import BotFactory, slash
from tests.support.slack_driver import click_payload
from tests.support.slack_emulator import Message, SlackEmulator

pytestmark = pytest.mark.slack

CONFIG = """
slack:
  access:
    rollback: {users: [U_REQ]}
  approvals:
    commands: [rebuild, rollback]
    approvers: {users: [U_BOSS]}
"""


@pytest.fixture
def fast_bot(slack_emulator: SlackEmulator, tmp_path: Path) -> Iterator[BotFactory]:
    yield from bots.http_bots(slack_emulator, None, tmp_path)


def _config(tmp_path: Path) -> str:
    path = tmp_path / "rollback.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    return str(path)


def test_rollback_by_someone_the_access_rules_do_not_name_is_refused_and_audited(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    running = fast_bot(MYCTL_CONFIG=_config(tmp_path))

    slash(running, "rollback 6f1c", user_id="U_OTHER")

    _, body = slack_emulator.wait_for(lambda: slack_emulator.responses)[0]
    assert body["text"].startswith(":warning: You may not run `myctl rollback`")
    assert slack_emulator.calls_to("chat.postMessage") == []
    (event,) = running.bot.services.store.events_since(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert (event.kind, event.actor, event.details["command"]) == (
        "authorization.refused",
        "U_OTHER",
        "rollback",
    )


def test_rollback_listed_in_approval_commands_runs_only_once_approved(
    fast_bot: BotFactory, slack_emulator: SlackEmulator, tmp_path: Path
) -> None:
    running = fast_bot(MYCTL_CONFIG=_config(tmp_path))

    slash(running, "rollback", user_id="U_REQ")

    def request() -> Message | None:
        found = [m for m in slack_emulator.messages_in("C_OPS") if "Approval needed" in m.text]
        return found[0] if found else None

    message = slack_emulator.wait_for(request)
    assert "rollback" in message.all_text()
    assert running.bot.services.store.latest_runs(10) == []  # nothing ran yet
    assert running.driver is not None
    running.driver.interactive(
        click_payload(
            channel=message.channel,
            ts=message.ts,
            text=message.text,
            blocks=message.blocks,
            action_id="myctl_approve",
            user_id="U_BOSS",
            response_url=slack_emulator.new_response_url(),
        )
    )
    final = running.final_message()
    assert "nothing to roll back" in final.all_text()
    (run,) = running.bot.services.store.latest_runs(10)
    assert (run.command, run.user) == ("rollback", "U_REQ")  # exactly one run, once approved
