"""Delivery against the Slack emulator: the run's message goes to the channel, else the
command's response_url, else a DM; every failed call is counted in the error metric."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.rendering import blocks
from bot.runs import delivery
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import BOT_TOKEN

pytestmark = pytest.mark.slack

START = blocks.plain(":hourglass_flowing_sand: running")
DONE = blocks.plain(":white_check_mark: done")


def _slack(emulator: SlackEmulator) -> delivery.Slack:
    return delivery.Slack(WebClient(token=BOT_TOKEN, base_url=emulator.api_url), metrics.Metrics())


def test_the_run_is_posted_and_updated_in_its_channel(slack_emulator: SlackEmulator) -> None:
    talk = _slack(slack_emulator).delivery(channel="C_OPS", user="U1")

    talk.start(START)
    talk.finish(DONE)

    assert talk.target is delivery.Target.CHANNEL
    (message,) = slack_emulator.messages_in("C_OPS")
    assert message.text == DONE.text and message.updates == 1
    assert slack_emulator.violations == []


def test_a_channel_the_bot_is_not_in_falls_back_to_the_response_url(
    slack_emulator: SlackEmulator,
) -> None:
    slack_emulator.channels_not_joined = {"C_PRIVATE"}
    url = slack_emulator.new_response_url()
    talk = _slack(slack_emulator).delivery(channel="C_PRIVATE", user="U1", response_url=url)

    talk.start(START)
    talk.finish(DONE)

    assert talk.target is delivery.Target.RESPONSE_URL
    assert not talk.updatable, "response_url has five posts: no progress updates"
    bodies = [body for _, body in slack_emulator.responses]
    assert [b["text"] for b in bodies] == [START.text, DONE.text]
    assert [b["replace_original"] for b in bodies] == [False, True]
    assert slack_emulator.messages_in("C_PRIVATE") == []


def test_without_a_response_url_the_outcome_goes_to_a_dm(slack_emulator: SlackEmulator) -> None:
    slack_emulator.channels_not_joined = {"C_PRIVATE"}
    slack = _slack(slack_emulator)
    talk = slack.delivery(channel="C_PRIVATE", user="U1")

    talk.start(START)
    talk.finish(DONE)

    assert talk.target is delivery.Target.DM
    (dm,) = [m for m in slack_emulator.messages.values() if m.channel.startswith("D")]
    assert dm.text == DONE.text
    assert dm.history[0]["text"].endswith("invite me there to share runs with the channel.)")
    assert "myctl_bot_slack_api_errors_total" in slack.metrics.render()
    counted = [line for line in slack.metrics.render().splitlines() if "not_in_channel" in line]
    assert counted == [
        'myctl_bot_slack_api_errors_total{error="not_in_channel",method="chat.postMessage"} 1'
    ]


def test_a_failed_final_update_becomes_a_fresh_post(slack_emulator: SlackEmulator) -> None:
    talk = _slack(slack_emulator).delivery(channel="C_OPS", user="U1")
    talk.start(START)
    slack_emulator.fail_next("chat.update", error="message_not_found")

    talk.finish(DONE)

    texts = [m.text for m in slack_emulator.messages_in("C_OPS")]
    assert texts == [START.text, DONE.text]


def test_resume_continues_in_an_existing_message(slack_emulator: SlackEmulator) -> None:
    slack = _slack(slack_emulator)
    channel, ts = slack.post("C_OPS", START)
    talk = slack.delivery(channel="C_OTHER", user="U1").resume(channel, ts)

    talk.finish(DONE)

    (message,) = slack_emulator.messages_in("C_OPS")
    assert (message.text, talk.ts, talk.started) == (DONE.text, ts, True)
    assert slack_emulator.calls_to("chat.postMessage")[1:] == []


def test_other_post_errors_are_raised_not_swallowed(slack_emulator: SlackEmulator) -> None:
    slack_emulator.fail_next("chat.postMessage", error="invalid_blocks")
    talk = _slack(slack_emulator).delivery(channel="C_OPS", user="U1")

    with pytest.raises(SlackApiError):
        talk.start(START)
