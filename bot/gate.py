"""The approval gate: a command that needs approval posts its plan with buttons instead of running.

`request_approval` renders the plan (scope, the current cache's age and size, how many workloads
the scan will cover; nothing is written) and hands it to `bot.approvals.post_request`, which
stores the request and posts it. The click side is bot/clicks.py.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot import approvals, messages
from bot import delivery as delivery_mod
from bot import services as services_mod
from commands.cli import invocation
from commands.engine import check, rebuild
from commands.engine.context import Engine
from commands.values import durations, errors, settings

log = logging.getLogger(__name__)


def needs_approval(inv: invocation.Invocation, approvals: settings.ApprovalSettings) -> bool:
    """Commands configured as needing approval, except dry runs (they change nothing)."""
    return inv.command in approvals.commands and not inv.options.dry_run


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size} bytes"


def plan_text(engine: Engine, inv: invocation.Invocation) -> str:
    """What approvers need to decide: read-only, so it costs one cache read and one scan."""
    cache = engine.settings.cache
    lines = [f"*Scope:* {engine.settings.scope.describe()}"]
    inspection = check.inspect(engine)
    result = inspection.result
    stats = result.stats
    where = f"`{cache.namespace}/{cache.name}`"
    if result.unknown:
        lines.append(f"*Cache:* {where}: cannot tell ({result.reason})")
    elif stats.built_at is None:
        lines.append(f"*Cache:* {where}: {result.reason}")
    else:
        age = durations.format_seconds(stats.age_seconds) if stats.age_seconds is not None else "?"
        verdict = "valid" if result.valid else f"needs rebuild: {result.reason}"
        lines.append(
            f"*Cache:* {where}, {age} old, {_size(stats.size_bytes)}, {stats.images} images, "
            f"{stats.workloads} workloads ({verdict})"
        )
    if inv.command in ("rebuild", "orchestrate"):
        try:
            count = sum(1 for _ in rebuild.scan(engine))
            lines.append(f"*Scan:* {count} workloads in scope")
        except errors.MyctlError as exc:
            lines.append(f"*Scan:* cannot count the workloads in scope ({exc})")
    return "\n".join(lines)


def request_approval(
    services: services_mod.Services,
    inv: invocation.Invocation,
    config: settings.Settings,
    talk: delivery_mod.Delivery,
) -> int:
    """Post the request for `inv` (by talk.user in talk.channel); return its exit code:
    0 posted, 2 when nobody could ever approve it, 1 when it could not be posted."""
    approval_settings = config.slack.approvals
    if not (approval_settings.approver_users or approval_settings.approver_usergroups):
        talk.ephemeral(messages.no_approvers(inv.command))
        return errors.EXIT_USAGE
    if services.store is None:
        raise errors.ConfigError("approvals need the state store (MYCTL_STATE_URL)")
    try:
        engine = Engine(cluster=services.cluster.get(), settings=config, clock=services.clock)
        text = plan_text(engine, inv)
    except errors.MyctlError as exc:
        text = f"*Scope:* {config.scope.describe()}\n*Cache:* cannot tell ({exc})"
    try:
        approvals.post_request(
            services.client,
            services.store,
            approval_settings,
            invocation=inv,
            requester=talk.user,
            channel=talk.channel,
            plan_text=text,
            now=services.clock.now(),
        )
    except SlackApiError as exc:
        log.warning("could not post the approval request: %s", exc.response.get("error"))
        talk.ephemeral(messages.approval_not_posted(inv.command))
        return errors.EXIT_FAILED
    return errors.EXIT_OK
