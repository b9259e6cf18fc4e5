"""Slack Web API methods the bot calls, and the bot scope each needs.

manifest.yml must request exactly the scopes this table (plus `commands`) needs; a test holds
the two together. Add a row here whenever the code calls a new method.
"""

from __future__ import annotations

# Method -> bot scope ("" = none: the method needs no scope or takes another token).
METHODS: dict[str, str] = {
    "auth.test": "",  # startup token check and /readyz
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": "",  # the run's link in the audit trail; Slack requires no scope
    "conversations.open": "im:write",  # the DM fallback
    "usergroups.users.list": "usergroups:read",  # access rules naming user groups
    "files.getUploadURLExternal": "files:write",  # files_upload_v2: long outcome lists
    "files.completeUploadExternal": "files:write",
    "apps.connections.open": "",  # Socket Mode, with the app-level token (connections:write)
}
# Scopes not tied to a Web API method: `commands` is what makes /myctl exist.
EXTRA_SCOPES = frozenset({"commands"})


def required_scopes() -> frozenset[str]:
    return frozenset(scope for scope in METHODS.values() if scope) | EXTRA_SCOPES
