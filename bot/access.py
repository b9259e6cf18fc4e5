"""Who may run which command from Slack (configuration `slack.access`: docs/configuration.md).

`decide` is the policy, a pure function. `GroupResolver` answers "which of these user groups is
this user in" from Slack's usergroups.users.list, cached so a burst of commands costs one call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot import commandline, memo
from commands.values import clock as clock_mod
from commands.values import settings

log = logging.getLogger(__name__)

# Seconds a user group's member list is trusted. A minute: removing someone from a group takes
# effect within a minute, and a burst of commands costs one Slack call per group.
GROUP_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # why not, in words for the requester; "" when allowed


ALLOWED = Decision(True, "")


def decide(
    command: str,
    rule: settings.AccessRule | None,
    *,
    user: str,
    channel: str,
    user_groups: Iterable[str] = (),
) -> Decision:
    """Read-only commands are open unless a rule restricts them; mutating commands (even with
    --dry-run, which still reveals what would be touched) are closed unless a rule allows the
    user by id or user group, and, when the rule lists channels, only in those channels."""
    mutating = command in commandline.MUTATING_COMMANDS
    if rule is None:
        if mutating:
            return Decision(False, f"no access rule allows `{command}` (slack.access.{command})")
        return ALLOWED
    if rule.channels and channel not in rule.channels:
        return Decision(False, "not allowed in this channel")
    if not rule.users and not rule.usergroups:
        # A channels-only rule opens a read-only command there; nobody is named for a mutating one.
        return ALLOWED if not mutating else Decision(False, "the rule names no users or groups")
    if user in rule.users or set(user_groups) & set(rule.usergroups):
        return ALLOWED
    return Decision(False, "you are not among the allowed users or user groups")


Fetch = Callable[[str], list[str]]  # user group id -> member user ids


class GroupResolver:
    def __init__(self, fetch: Fetch, clock: clock_mod.Clock, ttl: float = GROUP_CACHE_SECONDS):
        self._fetch = fetch
        self._members: memo.Memo[str, frozenset[str]] = memo.Memo(clock, ttl)

    def members(self, group: str) -> frozenset[str]:
        try:
            return self._members.get(group, lambda: frozenset(self._fetch(group)))
        except Exception as exc:
            # Unknown group or Slack unavailable: nobody is a member (fail closed), not cached.
            log.warning("cannot list members of user group %s: %s", group, type(exc).__name__)
            return frozenset()

    def groups_of(self, user: str, candidates: Iterable[str]) -> frozenset[str]:
        """Which of `candidates` (the groups a rule names) `user` belongs to."""
        return frozenset(group for group in candidates if user in self.members(group))


def authorize(
    command: str,
    slack_settings: settings.SlackSettings,
    resolver: GroupResolver,
    *,
    user: str,
    channel: str,
) -> Decision:
    rule = slack_settings.access_rule(command)
    groups: frozenset[str] = frozenset()
    if rule is not None and rule.usergroups and user not in rule.users:
        groups = resolver.groups_of(user, rule.usergroups)
    return decide(command, rule, user=user, channel=channel, user_groups=groups)
