"""Starting the schedules of one bot process: campaign for the Lease.

The winner of the Lease runs the scheduler (scheduler.py); the others only answer
`/myctl schedule list` and `/myctl report NAME`.
"""

from __future__ import annotations

from bot.scheduling import registry, scheduler
from commands.kube import lease, lease_api


def campaign(
    schedules: scheduler.Schedules,
    *,
    kubeconfig: str | None = None,
    kube_context: str | None = None,
    backend: lease.LeaseBackend | None = None,
) -> scheduler.Schedules:
    """Register `schedules` (already validated: building them parsed every cron) and campaign
    for the Lease in the bot's namespace (`cache.namespace`); the winner runs the scheduler.

    With no schedules configured nothing campaigns, but `list_schedules` still answers.
    """
    registry.register(schedules)
    config = schedules.settings
    if not config.schedules:
        return schedules
    opts = schedules.options
    backend = backend or lease_api.connect(
        kubeconfig, kube_context, config.cache.namespace, opts.lease_name, opts.lease_timing
    )
    schedules.elector = lease.LeaderElector(
        backend,
        schedules.identity,
        on_started_leading=schedules.start_scheduler,
        on_stopped_leading=schedules.stop_scheduler,
        timing=opts.lease_timing,
    ).start()
    return schedules
