"""`triggers:` in the configuration file: the design's example, defaults, errors naming keys."""

from __future__ import annotations

from typing import Any

import pytest

from commands.values import config, errors, triggers


def _one(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": "ghcr-acme",
        "source": "github",
        "secret_env": "MYCTL_HOOK_GHCR_ACME",
        "images": ["ghcr.io/acme/*"],
        "channel": "C789",
    }
    item.update(overrides)
    return item


def test_design_example_parses_into_settings() -> None:
    parsed = config.parse(
        {
            "triggers": [
                {
                    "name": "ghcr-acme",
                    "source": "github",
                    "secret_env": "MYCTL_HOOK_GHCR_ACME",
                    "images": ["ghcr.io/acme/*"],
                    "tags": ["*"],
                    "action": "orchestrate",
                    "approval": False,
                    "channel": "C789",
                    "namespaces": [],
                }
            ]
        }
    )
    (trigger,) = parsed.triggers
    assert trigger == triggers.Trigger(
        name="ghcr-acme",
        source=triggers.Source.GITHUB,
        secret_env="MYCTL_HOOK_GHCR_ACME",
        images=("ghcr.io/acme/*",),
        channel="C789",
    )


def test_defaults_are_a_ten_second_window_and_thirty_runs_an_hour() -> None:
    (trigger,) = triggers.parse([_one()], "triggers")
    assert trigger.tags == ("*",)
    assert trigger.action is triggers.Action.ORCHESTRATE
    assert trigger.approval is False
    assert trigger.coalesce_window_seconds == 10.0
    assert trigger.rate_limit_per_hour == 30
    assert trigger.registry is None


def test_every_option_is_read() -> None:
    (trigger,) = triggers.parse(
        [
            _one(
                source="distribution",
                action="notify",
                approval=True,
                tags=["v*"],
                namespaces=["shop"],
                registry="Registry.Example.com:5000",
                coalesce_window="30s",
                rate_limit=5,
            )
        ],
        "triggers",
    )
    assert trigger.action is triggers.Action.NOTIFY
    assert trigger.approval is True
    assert trigger.tags == ("v*",)
    assert trigger.namespaces == ("shop",)
    assert trigger.registry == "registry.example.com:5000"
    assert trigger.coalesce_window_seconds == 30.0
    assert trigger.rate_limit_per_hour == 5


def test_no_triggers_is_the_default() -> None:
    assert config.parse({}).triggers == ()
    assert config.parse({"triggers": []}).triggers == ()


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (_one(source="gitlab"), "triggers[1].source: unknown value 'gitlab'"),
        (_one(action="deploy"), "triggers[1].action: unknown value 'deploy'"),
        (_one(approval="yes"), "triggers[1].approval: expected true or false"),
        (_one(images=[]), "triggers[1].images: expected a non-empty list"),
        (_one(images="ghcr.io/*"), "triggers[1].images: expected a non-empty list"),
        (_one(tags=[3]), "triggers[1].tags[0]: expected a non-empty string"),
        (_one(namespaces=["Shop"]), "triggers[1].namespaces[0]: 'Shop' is not a valid"),
        (_one(registry="not a host"), "triggers[1].registry:"),
        (_one(registry="registry"), "triggers[1].registry:"),
        (_one(coalesce_window="soon"), "triggers[1].coalesce_window: expected a duration"),
        (_one(rate_limit=0), "triggers[1].rate_limit: expected a positive number"),
        (_one(rate_limit=True), "triggers[1].rate_limit: expected a positive number"),
        (_one(secret_env="hunter2 is my password"), "triggers[1].secret_env: expected the name"),
        (_one(name="a/b"), "triggers[1].name: 'a/b' is not usable in a URL path"),
        (_one(colour="blue"), "triggers[1].colour: unknown key"),
        ({"name": "x", "source": "quay"}, "triggers[1].secret_env: required"),
        ("ghcr", "triggers[1]: expected a mapping"),
    ],
)
def test_a_bad_trigger_is_a_configuration_error_naming_its_key(item: object, message: str) -> None:
    good = _one(name="first")
    with pytest.raises(errors.ConfigError) as caught:
        config.parse({"triggers": [good, item]})
    assert message in str(caught.value)
    assert caught.value.exit_code == errors.EXIT_USAGE


def test_a_secret_value_in_secret_env_is_not_echoed() -> None:
    with pytest.raises(errors.ConfigError) as caught:
        triggers.parse([_one(secret_env="ghp_abc123 secret")], "triggers")
    assert "ghp_abc123" not in str(caught.value)


def test_two_triggers_with_one_name_is_an_error_naming_it() -> None:
    with pytest.raises(
        errors.ConfigError, match=r"triggers\[1\]\.name: duplicate trigger name 'ghcr-acme'"
    ):
        triggers.parse([_one(), _one(source="quay")], "triggers")


def test_triggers_must_be_a_list() -> None:
    with pytest.raises(errors.ConfigError, match="triggers: expected a list"):
        config.parse({"triggers": {"name": "x"}})


def test_secrets_are_read_from_the_environment_by_trigger_name() -> None:
    parsed = triggers.parse([_one(), _one(name="hub", secret_env="HUB_TOKEN")], "triggers")
    found = triggers.secrets(parsed, {"MYCTL_HOOK_GHCR_ACME": "one", "HUB_TOKEN": "two"})
    assert found == {"ghcr-acme": "one", "hub": "two"}


@pytest.mark.parametrize(
    "environ", [{}, {"MYCTL_HOOK_GHCR_ACME": ""}, {"MYCTL_HOOK_GHCR_ACME": "  "}]
)
def test_an_unset_or_empty_secret_names_the_trigger_and_variable(environ: dict[str, str]) -> None:
    parsed = triggers.parse([_one()], "triggers")
    with pytest.raises(errors.ConfigError) as caught:
        triggers.secrets(parsed, environ)
    text = str(caught.value)
    assert "ghcr-acme" in text and "MYCTL_HOOK_GHCR_ACME" in text
    assert caught.value.exit_code == errors.EXIT_USAGE
