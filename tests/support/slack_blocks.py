"""Slack's rules for message bodies: Block Kit limits, required text, message length.

``validate_blocks`` returns the error strings Slack itself answers (with their JSON pointers),
so tests of the bot's message builders can assert ``validate_blocks(blocks) == []`` without
a server; ``validate_message`` checks a whole chat.postMessage / chat.update / response_url
body and raises ``SlackError`` as the emulator's Web API answers it.

No I/O here.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support import slack_records

JSON = slack_records.JSON

# Limits from Slack's Block Kit and chat.postMessage reference pages.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ID_LENGTH = 255
MAX_MESSAGE_TEXT = 40000

KNOWN_BLOCK_TYPES = frozenset(
    {"section", "header", "divider", "context", "actions", "image", "rich_text", "input", "file"}
)


class SlackError(Exception):
    """Raised by method handlers; becomes ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *, violation: bool = True, messages: list[str] | None = None):
        super().__init__(error)
        self.error = error
        self.violation = violation
        self.messages = messages or []


def _check_text_object(obj: Any, pointer: str, limit: int, errors: list[str]) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errors.append(f"must provide a text object [json-pointer:{pointer}]")
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        errors.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
    elif len(text) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]")


def _check_button(el: JSON, pointer: str, errors: list[str]) -> None:
    _check_text_object(el.get("text"), f"{pointer}/text", MAX_BUTTON_TEXT, errors)
    if len(str(el.get("value", ""))) > MAX_BUTTON_VALUE:
        errors.append(
            f"must be less than {MAX_BUTTON_VALUE + 1} characters [json-pointer:{pointer}/value]"
        )
    confirm = el.get("confirm")
    if confirm is not None:
        for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
            if key in confirm or key in ("title", "text"):
                _check_text_object(confirm.get(key), f"{pointer}/confirm/{key}", limit, errors)


def validate_blocks(blocks: Any, max_blocks: int = MAX_BLOCKS) -> list[str]:
    """Return Slack-style error strings for everything in ``blocks`` Slack would refuse."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        ptr = f"/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCK_TYPES:
            errors.append(f"invalid additional property: type [json-pointer:{ptr}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > MAX_ID_LENGTH or block_id in seen_ids:
                errors.append(f"invalid or duplicate block_id [json-pointer:{ptr}/block_id]")
            seen_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide text or fields [json-pointer:{ptr}]")
            if "text" in block:
                _check_text_object(block["text"], f"{ptr}/text", MAX_SECTION_TEXT, errors)
            fields = block.get("fields", [])
            if len(fields) > MAX_SECTION_FIELDS:
                errors.append(
                    f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{ptr}/fields]"
                )
            for j, f in enumerate(fields):
                _check_text_object(f, f"{ptr}/fields/{j}", MAX_FIELD_TEXT, errors)
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button":
                _check_button(accessory, f"{ptr}/accessory", errors)
        elif kind == "header":
            _check_text_object(block.get("text"), f"{ptr}/text", MAX_HEADER_TEXT, errors)
        elif kind == "context":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
                errors.append(
                    f"must have 1 to {MAX_CONTEXT_ELEMENTS} items [json-pointer:{ptr}/elements]"
                )
        elif kind == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_ACTIONS_ELEMENTS:
                errors.append(
                    f"must have 1 to {MAX_ACTIONS_ELEMENTS} items [json-pointer:{ptr}/elements]"
                )
            for j, el in enumerate(elements):
                if not isinstance(el, dict):
                    errors.append(f"must be an object [json-pointer:{ptr}/elements/{j}]")
                    continue
                if len(str(el.get("action_id", ""))) > MAX_ID_LENGTH:
                    errors.append(f"too long [json-pointer:{ptr}/elements/{j}/action_id]")
                if el.get("type") == "button":
                    _check_button(el, f"{ptr}/elements/{j}", errors)
    return errors


def decode_json_field(params: JSON, name: str) -> Any:
    """Form-encoded calls carry blocks/attachments as JSON strings; JSON calls as lists."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value) if value else []
        except ValueError as exc:
            raise SlackError("invalid_blocks" if name == "blocks" else "invalid_arguments") from exc
    return value


def validate_message(
    params: JSON, *, require_content: bool = True
) -> tuple[str, list[JSON], list[JSON]]:
    """Check a message body as chat.postMessage/update and response_url do.

    Returns (text, blocks, attachments) decoded; raises SlackError like Slack would.
    """
    text = params.get("text")
    text = "" if text is None else str(text)
    blocks = decode_json_field(params, "blocks") or []
    attachments = decode_json_field(params, "attachments") or []
    if require_content and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if len(text) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")
    errors = validate_blocks(blocks)
    if errors:
        raise SlackError("invalid_blocks", messages=errors)
    return text, blocks, attachments


def block_text(block: JSON) -> str:
    """The text a block shows: a section's or header's text, a context's elements joined."""
    if block.get("type") == "context":
        return " ".join(str(element.get("text", "")) for element in block.get("elements", []))
    text = block.get("text")
    return str(text.get("text", "")) if isinstance(text, dict) else ""


def texts(blocks: Any) -> list[str]:
    """Each block's text, in order, so tests assert on the block that holds a line."""
    return [block_text(block) for block in blocks]


def of_type(blocks: Any, kind: str) -> list[str]:
    """The texts of the blocks of one type (section, context, header)."""
    return [block_text(block) for block in blocks if block.get("type") == kind]
