"""The edges of hooks: refusing to start without a trigger's secret, Socket Mode's server on
PORT, and secrets kept out of the log."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from bot import __main__ as bot_main
from commands.kube import memory
from commands.values import workloads
from tests.bot.hooks import hookbots, payloads
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import slack_environment


def _run_bot(tmp_path: Path, emulator: SlackEmulator, config: str, **extra: str) -> int:
    config_file = tmp_path / "myctl.yaml"
    config_file.write_text(textwrap.dedent(config))
    environ = {
        **slack_environment(emulator),
        "PORT": "0",
        "MYCTL_CONFIG": str(config_file),
        "MYCTL_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        **extra,
    }
    return bot_main.run(environ)


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_trigger_without_its_secret_refuses_to_start_naming_trigger_and_variable(
    tmp_path: Path,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
    value: str | None,
) -> None:
    extra = {} if value is None else {hookbots.SECRET_ENV: value}
    code = _run_bot(
        tmp_path, slack_emulator, hookbots.config_with(hookbots.trigger_yaml("ghcr")), **extra
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "ghcr" in err and hookbots.SECRET_ENV in err
    assert slack_emulator.calls == []  # refused before anything connected


@pytest.mark.parametrize(
    ("config", "named"),
    [
        (hookbots.config_with(hookbots.trigger_yaml(source="keel")), "triggers[0].source"),
        (
            hookbots.config_with(hookbots.trigger_yaml("a"), hookbots.trigger_yaml("a")),
            "duplicate trigger name 'a'",
        ),
    ],
    ids=["unknown-source", "duplicate-name"],
)
def test_an_unknown_source_or_a_duplicate_name_refuses_to_start(
    tmp_path: Path,
    slack_emulator: SlackEmulator,
    capsys: pytest.CaptureFixture[str],
    config: str,
    named: str,
) -> None:
    code = _run_bot(tmp_path, slack_emulator, config, **{hookbots.SECRET_ENV: "x"})
    err = capsys.readouterr().err
    assert code == 2 and named in err


def test_the_secret_value_never_appears_in_the_refusal(
    tmp_path: Path, slack_emulator: SlackEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    second = hookbots.trigger_yaml("other").replace(hookbots.SECRET_ENV, "MYCTL_HOOK_OTHER")
    config = hookbots.config_with(hookbots.trigger_yaml("first"), second)
    code = _run_bot(tmp_path, slack_emulator, config, **{hookbots.SECRET_ENV: payloads.SECRET})
    err = capsys.readouterr().err
    assert code == 2 and "MYCTL_HOOK_OTHER" in err and "other" in err
    assert payloads.SECRET not in err


def test_socket_modes_server_on_port_serves_hooks(hook_bots: hookbots.HookBots) -> None:
    image = "registry.example.com:5000/team/api:v1"
    cluster = memory.MemoryCluster()
    cluster.images.push(image, payloads.DIGEST_B)
    cluster.add(workloads.Kind.DEPLOYMENT, "shop", "web", image, pull_policy="Always")
    cluster.images.push(image, payloads.DIGEST_A)
    bot = hook_bots.start(
        hookbots.config_with(hookbots.trigger_yaml()), cluster=cluster, health_only=True
    )
    assert bot.post("slack-events-are-not-here", b"{}").status_code == 404
    event = payloads.distribution_event(event_id="sm-1", host="registry.example.com:5000")
    assert bot.post_distribution("reg", event).status_code == 202
    assert bot.final("C_HOOK").text.startswith(":white_check_mark:")


def test_a_token_in_the_query_string_is_never_logged(
    hook_bots: hookbots.HookBots, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = hook_bots.start(hookbots.config_with(hookbots.trigger_yaml(source="dockerhub")))
    body = payloads.encode(payloads.dockerhub_push())
    for secret in (payloads.SECRET, "a-wrong-token-value"):
        bot.post("reg", body, query=f"?token={secret}")
    bot.post("unknown", body, query=f"?token={payloads.SECRET}")
    # Everything the bot's process logs; urllib3 is this test's own client.
    ours = [r for r in caplog.records if not r.name.startswith("urllib3")]
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in ours)
    assert "hook reg: 202 accepted" in logged  # the log did see the deliveries
    assert "/hooks/reg?" in logged
    assert payloads.SECRET not in logged and "a-wrong-token-value" not in logged
