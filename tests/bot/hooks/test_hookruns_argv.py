"""The command line a hook run is: the pushed digest expected, scope narrowed, never widened."""

from __future__ import annotations

import pytest

from bot import hookruns
from bot.hooks import coalesce
from commands.values import config, errors, triggers
from tests.bot.hooks import support

DIGEST = "sha256:" + "d" * 64


def _run(digest: str | None = DIGEST) -> coalesce.Run:
    return coalesce.Run("reg", "registry.example.com:5000/team/api", "v1", digest, pushes=1)


def test_orchestrate_waits_on_the_pushed_digest() -> None:
    argv = hookruns.argv_for(support.trigger(), _run(), ())
    assert argv == [
        "orchestrate",
        "--image",
        f"registry.example.com:5000/team/api:v1@{DIGEST}",
        "--wait",
    ]


def test_notify_is_a_dry_run_and_pin_digest_only_when_configured_and_known() -> None:
    notify = support.trigger(action=triggers.Action.NOTIFY, pin_digest=True)
    assert hookruns.argv_for(notify, _run(), ())[-2:] == ["--pin-digest", "--dry-run"]
    assert "--pin-digest" not in hookruns.argv_for(support.trigger(pin_digest=True), _run(None), ())


def test_namespaces_narrow_the_global_scope_and_never_widen_it() -> None:
    trigger = support.trigger(namespaces=("shop", "other"))
    assert hookruns.argv_for(trigger, _run(), ())[-4:] == ["-n", "shop", "-n", "other"]
    assert hookruns.argv_for(trigger, _run(), ("shop", "cart"))[-2:] == ["-n", "shop"]
    with pytest.raises(errors.UsageError, match="none of its namespaces"):
        hookruns.argv_for(trigger, _run(), ("cart",))


def test_pin_digest_is_a_boolean_trigger_key() -> None:
    entry = {"name": "a", "source": "github", "secret_env": "X", "images": ["*"], "channel": "C"}
    (parsed,) = config.parse({"triggers": [{**entry, "pin_digest": True}]}).triggers
    assert parsed.pin_digest is True
    with pytest.raises(errors.ConfigError, match=r"triggers\[0\]\.pin_digest"):
        config.parse({"triggers": [{**entry, "pin_digest": "yes"}]})
