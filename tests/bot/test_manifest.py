"""manifest.yml: valid for Slack, declares /myctl, and asks for exactly the scopes used."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import scopes

ROOT = Path(__file__).resolve().parents[2]
# Slack's manifest schema ships in the workspace's shared/ folder, beside the checkout (CI lays
# a copy next to its clone); the fixed path is where it lives on the development machines.
SCHEMA = next(
    (
        path
        for path in (
            ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json",
            Path("/work/shared/slack/manifest.schema.1.0.0.json"),
        )
        if path.exists()
    ),
    ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json",  # missing: the test fails
)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return loaded


def test_manifest_has_the_fields_slack_requires(manifest: dict[str, Any]) -> None:
    assert manifest["display_information"]["name"] == "myctl"
    assert manifest["features"]["bot_user"]["display_name"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_manifest_declares_myctl_with_usage_and_unescaped_mentions(
    manifest: dict[str, Any],
) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/myctl"
    assert command["description"] and len(command["description"]) <= 100
    assert "orchestrate --image" in command["usage_hint"]
    assert command["should_escape"] is False


def test_manifest_scopes_are_exactly_those_the_code_uses(manifest: dict[str, Any]) -> None:
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == scopes.required_scopes()


def test_every_web_api_method_the_bot_calls_is_in_the_scope_table() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    called = set(re.findall(r'_api\(\s*"([a-z]+\.[A-Za-z.]+)"', source))
    helpers = set(re.findall(r"client\.([a-z]+_[A-Za-z0-9_]+)\(", source)) - {"api_call"}
    # slack_sdk names helpers after methods (chat_postMessage -> chat.postMessage), except
    # files_upload_v2, which is two methods.
    for helper in helpers:
        if helper == "files_upload_v2":
            called |= {"files.getUploadURLExternal", "files.completeUploadExternal"}
        else:
            called.add(helper.replace("_", "."))
    assert called, "the scan found the bot's Slack calls"
    assert called <= set(scopes.METHODS), (
        f"missing from bot/scopes.py: {called - set(scopes.METHODS)}"
    )


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    import jsonschema  # a test extra (pyproject): a missing one fails loudly, never skips

    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(manifest)]
    assert problems == []
