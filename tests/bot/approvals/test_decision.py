"""bot/approvals (request and decision) against the Slack emulator with a real WebClient."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from bot import commandline, metrics
from bot.approvals import decision, request
from bot.rendering import approvals as texts
from bot.runs import delivery
from commands.state import records
from commands.state import store as store_mod
from commands.values import clock as clocks
from commands.values import settings
from tests.support import slack_blocks
from tests.support import slack_emulator as emu
from tests.support.slack_plugin import BOT_TOKEN

SETTINGS = settings.ApprovalSettings(approver_users=("U_BOSS",), approver_usergroups=("S_OPS",))
CHANNEL = "C_OPS"


@dataclasses.dataclass
class Flow:
    slack: delivery.Slack
    store: store_mod.StateStore
    emulator: emu.SlackEmulator
    clock: clocks.FakeClock
    responses: list[dict[str, Any]]

    def respond(self, **kwargs: Any) -> None:
        self.responses.append(kwargs)

    def request(self, requester: str = "U_REQ") -> Any:
        return request.post_request(
            self.slack,
            self.store,
            SETTINGS,
            invocation=commandline.parse(["rebuild"]),
            requester=requester,
            channel=CHANNEL,
            plan_text="Scope: all namespaces except kube-system\nCache: 12 min old, 40 KiB",
            now=self.clock.now(),
        )

    def click(
        self,
        approval_id: str,
        actor: str,
        action: str = texts.ACTION_APPROVE,
        groups: frozenset[str] = frozenset(),
        settings_: settings.ApprovalSettings = SETTINGS,
    ) -> decision.ActionOutcome:
        return decision.handle_action(
            self.slack,
            self.store,
            settings_,
            action_id=action,
            approval_id=approval_id,
            actor=actor,
            actor_groups=groups,
            now=self.clock.now(),
            respond=self.respond,
        )

    def message(self, approval_id: str) -> emu.Message:
        approval = self.store.get_approval(approval_id)
        assert approval is not None and approval.message_channel and approval.message_ts
        return self.emulator.messages[(approval.message_channel, approval.message_ts)]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.store.events_since(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))]


@pytest.fixture
def flow(
    state_url: str, slack_emulator: emu.SlackEmulator, clock: clocks.FakeClock
) -> Iterator[Flow]:
    client = WebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url)
    with store_mod.StateStore(state_url, clock=clock) as store:
        yield Flow(delivery.Slack(client, metrics.Metrics()), store, slack_emulator, clock, [])
    assert slack_emulator.violations == []


def _buttons(message: emu.Message) -> list[dict[str, Any]]:
    return [
        element
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_request_is_posted_with_two_buttons_whose_value_is_only_the_id(flow: Flow) -> None:
    approval = flow.request()
    message = flow.message(approval.id)
    approve, cancel = _buttons(message)
    assert (approve["action_id"], approve["style"], approve["value"]) == (
        "myctl_approve",
        "primary",
        approval.id,
    )
    assert "confirm" in approve
    assert (cancel["action_id"], cancel["style"], cancel["value"]) == (
        "myctl_cancel",
        "danger",
        approval.id,
    )
    text = message.all_text()
    assert "Cache: 12 min old" in text and "<@U_REQ>" in text and "Expires <!date^" in text
    assert approval.state == "pending" and approval.message_channel == CHANNEL
    assert flow.kinds() == ["approval.requested"]


def test_allowed_approver_gets_execute_in_the_same_message(flow: Flow) -> None:
    approval = flow.request()
    outcome = flow.click(approval.id, "U_BOSS")
    assert outcome.execute
    assert (outcome.channel, outcome.message_ts) == (CHANNEL, flow.message(approval.id).ts)
    message = flow.message(approval.id)
    assert _buttons(message) == [] and "Approved by <@U_BOSS>" in message.all_text()
    assert flow.responses == []
    assert flow.kinds() == ["approval.requested", "approval.approved"]
    # A second click, even by an approver, never executes again.
    again = flow.click(approval.id, "U_BOSS")
    assert not again.execute and again.reason == "executing"
    assert flow.responses[-1]["response_type"] == "ephemeral"


def test_usergroup_member_may_approve(flow: Flow) -> None:
    approval = flow.request()
    assert flow.click(approval.id, "U_OPS_MEMBER", groups=frozenset({"S_OPS"})).execute


@pytest.mark.parametrize(
    ("actor", "groups", "reason"),
    [
        ("U_REQ", frozenset({"S_OPS"}), "self_approval"),
        ("U_RANDOM", frozenset({"S_OTHER"}), "not_approver"),
    ],
)
def test_refused_click_answers_ephemerally_and_is_audited(
    flow: Flow, actor: str, groups: frozenset[str], reason: str
) -> None:
    approval = flow.request()
    outcome = flow.click(approval.id, actor, groups=groups)
    assert outcome.kind is decision.OutcomeKind.REFUSED and outcome.reason == reason
    assert flow.responses == [
        {
            "text": texts.refusal_text(reason, approval),
            "response_type": "ephemeral",
            "replace_original": False,
        }
    ]
    assert len(_buttons(flow.message(approval.id))) == 2  # still pending, still clickable
    events = flow.store.events_since(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert events[-1].kind == "approval.refused" and events[-1].details["reason"] == reason
    assert events[-1].actor == actor


def test_self_approval_is_accepted_when_configured(flow: Flow) -> None:
    approval = flow.request(requester="U_BOSS")
    relaxed = dataclasses.replace(SETTINGS, allow_self_approval=True)
    assert flow.click(approval.id, "U_BOSS", settings_=relaxed).execute


def test_cancel_removes_the_buttons_and_a_later_approve_is_refused(flow: Flow) -> None:
    approval = flow.request()
    cancelled = flow.click(approval.id, "U_REQ", action=texts.ACTION_CANCEL)
    assert cancelled.kind is decision.OutcomeKind.CANCELLED
    message = flow.message(approval.id)
    assert _buttons(message) == [] and "Cancelled by <@U_REQ>" in message.all_text()
    late = flow.click(approval.id, "U_BOSS")
    assert late.kind is decision.OutcomeKind.REFUSED and late.reason == "cancelled"
    assert "cancelled" in flow.responses[-1]["text"]
    assert flow.kinds()[-2:] == ["approval.cancelled", "approval.refused"]


def test_a_bystander_cannot_cancel(flow: Flow) -> None:
    approval = flow.request()
    outcome = flow.click(approval.id, "U_RANDOM", action=texts.ACTION_CANCEL)
    assert outcome.reason == "not_allowed_to_cancel"
    assert len(_buttons(flow.message(approval.id))) == 2


def test_expiry_updates_the_message_and_removes_the_buttons(flow: Flow) -> None:
    approval = flow.request()
    flow.clock.advance(SETTINGS.expiry_seconds - 1)
    assert decision.expire(flow.slack, flow.store, flow.clock.now()) == []
    flow.clock.advance(1)
    expired = decision.expire(flow.slack, flow.store, flow.clock.now())
    assert [a.id for a in expired] == [approval.id]
    message = flow.message(approval.id)
    assert _buttons(message) == [] and "Expired" in message.all_text()
    assert decision.expire(flow.slack, flow.store, flow.clock.now()) == []
    assert message.updates == 1
    late = flow.click(approval.id, "U_BOSS")
    assert late.reason == "expired" and "expired" in flow.responses[-1]["text"]


def test_a_click_after_expiry_is_refused_and_expires_the_message(flow: Flow) -> None:
    approval = flow.request()
    flow.clock.advance(SETTINGS.expiry_seconds)
    outcome = flow.click(approval.id, "U_BOSS")
    assert outcome.reason == "expired"
    assert _buttons(flow.message(approval.id)) == []
    assert "approval.expired" in flow.kinds()


def test_unknown_request_id_is_refused(flow: Flow) -> None:
    outcome = flow.click("forged-id", "U_BOSS")
    assert outcome.reason == "not_found" and flow.responses[0]["response_type"] == "ephemeral"


def test_two_required_approvals_wait_for_the_second_approver(flow: Flow) -> None:
    two = dataclasses.replace(SETTINGS, approver_users=("U_BOSS", "U_CTO"), required=2)
    approval = flow.request()
    first = flow.click(approval.id, "U_BOSS", settings_=two)
    assert first.kind is decision.OutcomeKind.WAITING
    message = flow.message(approval.id)
    assert len(_buttons(message)) == 2 and "Approved so far by <@U_BOSS> (1 of 2)" in (
        message.all_text()
    )
    assert flow.click(approval.id, "U_BOSS", settings_=two).reason == "already_voted"
    assert flow.click(approval.id, "U_CTO", settings_=two).execute


def test_builders_stay_within_block_kit_limits(flow: Flow) -> None:
    approval = flow.store.create_approval(
        records.NewApproval(
            command="rebuild",
            argv=["rebuild", "--selector", "a<b>&c" * 500],
            user="U_REQ",
            channel=CHANNEL,
            expires_at=flow.clock.now(),
            plan_text="x" * 10_000,
        )
    )
    for blocks in (
        texts.request(approval, SETTINGS).blocks,
        texts.decided(approval, texts.expired_status(approval)).blocks,
    ):
        assert slack_blocks.validate_blocks(blocks) == []
    assert not any(
        "<b>" in text for text in slack_blocks.texts(texts.request(approval, SETTINGS).blocks)
    )
