"""Slack text → invocation, bot command or answer: quirks undone, host options refused, help."""

from __future__ import annotations

import pytest

from bot import commandline
from bot.conversation import parse, quirks
from bot.rendering.blocks import Rendered
from commands.values import errors

# --------------------------------------------------------------------------- text quirks


@pytest.mark.parametrize(
    ("typed", "argv"),
    [
        ("orchestrate —image nginx:1.27", ["orchestrate", "--image", "nginx:1.27"]),
        ("restart –n shop deploy/api", ["restart", "-n", "shop", "deploy/api"]),
        ("restart —namespace=shop x", ["restart", "--namespace=shop", "x"]),
        ("select “my image” ‘b’", ["select", "my image", "b"]),
        (
            "select <http://registry.example.com/a:1|registry.example.com/a:1>",
            ["select", "registry.example.com/a:1"],
        ),
        ("select <https://x.io/a>", ["select", "https://x.io/a"]),
        (
            "select nginx@sha256:" + "a" * 64,
            ["select", "nginx@sha256:" + "a" * 64],
        ),
        ("check <@U123|alice> <@W9> <#C42|ops>", ["check", "U123", "W9", "C42"]),
        ("check <!subteam^S77|@oncall>", ["check", "S77"]),
        ("check -l app&amp;x=&lt;y&gt;", ["check", "-l", "app&x=<y>"]),
        ("restart — a", ["restart", "--", "a"]),
        ("", []),
    ],
)
def test_slack_text_quirks_are_undone_before_splitting(typed: str, argv: list[str]) -> None:
    assert quirks.to_argv(typed) == argv


def test_unbalanced_quote_is_a_usage_error() -> None:
    with pytest.raises(errors.UsageError):
        quirks.to_argv('select "nginx')


def test_image_ref_with_digest_parses_through_the_shared_parser() -> None:
    digest = "sha256:" + "b" * 64
    parsed = parse.parse(f"orchestrate —image registry.example.com/team/api:1.4.2@{digest}")
    assert isinstance(parsed, commandline.Invocation)
    # repo:tag@digest: the tag selects the workloads, the digest is what they must run after.
    assert str(parsed.image_refs[0]) == "registry.example.com/team/api:1.4.2"
    assert parsed.restart.expected_digests == (("registry.example.com/team/api:1.4.2", digest),)


@pytest.mark.parametrize(
    "text", ["--kubeconfig /etc/x check", "--config=/etc/passwd check", "completion bash"]
)
def test_host_options_and_terminal_commands_are_refused_from_slack(text: str) -> None:
    parsed = parse.parse(text)
    assert isinstance(parsed, Rendered)
    assert parsed.text.startswith(":warning:")


@pytest.mark.parametrize("text", ["", "help", "help restart", "restart --help"])
def test_help_shows_usage_without_a_warning(text: str) -> None:
    parsed = parse.parse(text)
    assert isinstance(parsed, Rendered)
    assert "Usage: myctl" in parsed.text
    assert not parsed.text.startswith(":warning:")


# --------------------------------------------------------------------------- throttle
