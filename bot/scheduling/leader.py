"""Starting the schedules of one bot process: validate them, then campaign for the Lease.

The winner of the Lease runs the scheduler (scheduler.py); the others only answer
`/myctl schedule list` and `/myctl report NAME`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.runs import delivery
from bot.scheduling import registry, scheduler
from commands.engine.context import Engine
from commands.kube import lease
from commands.state import store as store_mod
from commands.values import settings


def start_schedules(
    config: settings.Settings,
    slack: delivery.Slack,
    engine_factory: Callable[[], Engine],
    *,
    state_url: str,
    store: store_mod.StateStore,
    kubeconfig: str | None = None,
    kube_context: str | None = None,
    identity: str | None = None,
    options: scheduler.Options | None = None,
    backend: lease.LeaseBackend | None = None,
) -> scheduler.Schedules:
    """Validate every schedule (ConfigError, exit 2, naming it), then campaign for the Lease in
    the bot's namespace (`cache.namespace`); the winner runs the scheduler.

    With no schedules configured nothing campaigns, but `list_schedules` still answers.
    """
    schedules = scheduler.Schedules(
        config,
        slack,
        engine_factory,
        state_url=state_url,
        store=store,
        options=options,
        identity=identity,
    )
    registry.register(schedules)
    if not config.schedules:
        return schedules
    opts = schedules.options
    backend = backend or lease.connect(
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
