from pathlib import Path

import pytest

from commands.values import config, durations, errors, settings, workloads


def test_empty_configuration_gives_the_documented_defaults() -> None:
    parsed = config.parse({})
    assert parsed == settings.Settings()
    assert parsed.cache.name == "myctl-image-cache"
    assert parsed.restart.max_targets == 50
    assert parsed.scope.exclude_namespaces == ("kube-system",)


def test_design_example_parses() -> None:
    parsed = config.parse(
        {
            "cache": {"namespace": "myctl", "name": "myctl-image-cache", "max_age": "10m"},
            "scope": {
                "namespaces": [],
                "exclude_namespaces": ["kube-system"],
                "selector": "",
                "kinds": ["Deployment", "StatefulSet", "DaemonSet"],
            },
            "restart": {"concurrency": 8, "max_targets": 50, "wait_timeout": "10m"},
            "slack": {
                "access": {
                    "orchestrate": {
                        "users": ["U123"],
                        "usergroups": ["S456"],
                        "channels": ["C789"],
                    },
                    "restart": {"usergroups": ["S456"]},
                },
                "approvals": {
                    "commands": ["rebuild"],
                    "approvers": {"users": ["U111"], "usergroups": ["S222"]},
                    "required": 1,
                    "allow_self_approval": False,
                    "expiry": "15m",
                },
            },
            "schedules": [
                {
                    "name": "morning",
                    "cron": "0 9 * * 1-5",
                    "timezone": "Europe/Berlin",
                    "channel": "C789",
                    "reports": ["cache", "images", "rollouts", "activity"],
                }
            ],
            "state": {"url": "sqlite:///myctl-state.db"},
        }
    )
    assert parsed.cache.max_age_seconds == 600
    assert parsed.slack.access_rule("orchestrate") == settings.AccessRule(
        ("U123",), ("S456",), ("C789",)
    )
    assert parsed.slack.approvals.approver_users == ("U111",)
    assert parsed.slack.approvals.expiry_seconds == 900
    assert parsed.schedules[0].timezone == "Europe/Berlin"
    assert parsed.scope.kinds == (
        workloads.Kind.DEPLOYMENT,
        workloads.Kind.STATEFULSET,
        workloads.Kind.DAEMONSET,
    )


def test_kube_timeouts_are_durations_and_default_to_the_adapters_timeouts() -> None:
    parsed = config.parse({"kube": {"connect_timeout": "1500ms", "read_timeout": "2s"}})
    assert parsed.kube == settings.KubeSettings(connect_timeout_seconds=1.5, read_timeout_seconds=2)
    assert config.parse({"kube": {"read_timeout": 90}}).kube.connect_timeout_seconds == 5.0


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"cache": {"nmae": "x"}}, "cache.nmae"),
        ({"restart": {"concurrency": 0}}, "restart.concurrency"),
        ({"restart": {"max_targets": "many"}}, "restart.max_targets"),
        ({"cache": {"max_age": "soon"}}, "cache.max_age"),
        ({"kube": {"read_timeout": "0s"}}, "kube.read_timeout"),
        ({"kube": {"connect_timeout": "fast"}}, "kube.connect_timeout"),
        ({"scope": {"kinds": ["CronJob"]}}, "scope.kinds[0]"),
        ({"scope": {"namespaces": ["Bad_NS"]}}, "scope.namespaces[0]"),
        (
            {"schedules": [{"name": "m", "cron": "0 9 * *", "timezone": "UTC", "channel": "C"}]},
            "schedules[m].cron",
        ),
        (
            {
                "schedules": [
                    {"name": "m", "cron": "0 9 * * *", "timezone": "Mars/Olympus", "channel": "C"}
                ]
            },
            "schedules[m].timezone",
        ),
        ({"surprise": 1}, "configuration.surprise"),
        ({"slack": {"approvals": {"canary": "yes"}}}, "slack.approvals.canary"),
    ],
)
def test_invalid_configuration_names_the_key(document: object, key: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        config.parse(document)
    assert str(caught.value).startswith(key)
    assert caught.value.exit_code == 2


def test_unreadable_and_malformed_files_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match="cannot read"):
        config.load_file(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("cache: [unclosed\n")
    with pytest.raises(errors.ConfigError, match="not valid YAML"):
        config.load_file(broken)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("1h30m", 5400), (45, 45)]
)
def test_durations_parse(text: object, seconds: float) -> None:
    assert durations.parse(text, key="k") == seconds


def test_the_canary_pause_is_off_by_default_and_turned_on_by_slack_approvals_canary() -> None:
    assert config.parse({}).slack.approvals.canary is False
    assert config.parse({"slack": {"approvals": {"canary": True}}}).slack.approvals.canary is True


def test_a_file_is_parsed_once_per_text_and_an_edit_applies_at_once(tmp_path: Path) -> None:
    path = tmp_path / "myctl.yaml"
    path.write_text("scope: {namespaces: [shop]}\n")
    first = config.load_file(path)
    assert config.load_file(path) is first  # the same text: the settings parsed before
    path.write_text("scope: {namespaces: [shoe]}\n")  # same size, maybe the same mtime
    edited = config.load_file(path)
    assert edited.scope.namespaces == ("shoe",)
    path.write_text("scope: [not, a, mapping]\n")
    with pytest.raises(errors.ConfigError):
        config.load_file(path)
