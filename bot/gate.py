"""The approval seam: where a command that needs approval goes instead of running.

`request_approval` is the one function the approvals feature (bot/approvals.py, built
separately) replaces. Until then it answers that approvals are not configured, exit 2, and
nothing runs. An approval flow may reuse `delivery` to post its plan with buttons and later
`delivery.update(...)` that same message with progress and the outcome.
"""

from __future__ import annotations

from bot import delivery as delivery_mod
from bot import messages
from commands.cli import invocation
from commands.values import errors, settings


def needs_approval(inv: invocation.Invocation, approvals: settings.ApprovalSettings) -> bool:
    """Commands configured as needing approval, except dry runs (they change nothing)."""
    return inv.command in approvals.commands and not inv.options.dry_run


def request_approval(
    inv: invocation.Invocation,
    config: settings.Settings,
    delivery: delivery_mod.Delivery,
) -> int:
    """Ask for approval of `inv` (requested by delivery.user in delivery.channel); return the
    exit code of the request. Placeholder: approvals are not part of this build."""
    delivery.ephemeral(messages.approval_not_configured(inv.command))
    return errors.EXIT_USAGE
