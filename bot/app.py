"""The bolt App and everything it shares, built once from a `BotConfig`."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import access, clicks, jobs, messages, metrics, readiness, runs, slash
from bot import config as config_mod
from bot import services as services_mod
from commands.kube import port
from commands.state import store as store_mod
from commands.values import clock as clock_mod
from commands.values import settings

log = logging.getLogger(__name__)

# Retries of a 429 (honouring Retry-After): progress updates are at most one a second, so two
# retries ride out a short burst without holding a job for long.
RATE_LIMIT_RETRIES = 2


def connect_cluster(config: config_mod.BotConfig) -> port.Cluster:
    from commands.kube import client  # lazy: importing kubernetes costs ~0.3 s

    return client.connect(config.kubeconfig, config.kube_context)


@dataclass
class Bot:
    app: App
    services: services_mod.Services
    ready: readiness.Readiness
    sweeper: clicks.Sweeper | None = None

    def close(self) -> None:
        if self.sweeper is not None:
            self.sweeper.stop()
        self.services.runner.shutdown(wait=False)
        store = self.services.store
        if store is not None:
            # Runs still going are abandoned by this process: say so now, as the next start may
            # be a new pod with another POD_NAME that would never mark them.
            try:
                runs.mark_interrupted(self.services.client, store, self.services.owner)
            except Exception as exc:
                log.warning("could not mark unfinished runs at shutdown: %s", type(exc).__name__)
            store.close()


def web_client(config: config_mod.BotConfig) -> WebClient:
    """The one WebClient: every Web API call goes to SLACK_API_URL, and a 429 is retried."""
    return WebClient(
        token=config.bot_token,
        base_url=config.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )


def build(
    config: config_mod.BotConfig,
    *,
    connect: Callable[[], port.Cluster] | None = None,
    clock: clock_mod.Clock | None = None,
    progress_interval: float = 1.0,
    loaded: settings.Settings | None = None,
) -> Bot:
    """Tests pass `connect` (a cluster for the test's kubeconfig) instead of patching.

    `loaded` is the configuration file already read (by `__main__`), else it is read here.
    The state store is opened (schema created or migrated), and this replica's runs left
    unfinished by a previous process are marked interrupted, before any request is taken.
    """
    clock = clock or clock_mod.SystemClock()
    if loaded is None:
        loaded = services_mod.load_settings(config.myctl_config)
    store = store_mod.StateStore(config.state_url or loaded.state.url)
    client = web_client(config)
    counters = metrics.Metrics()
    runner = jobs.JobRunner(config.job_workers, config.job_queue)
    counters.queue_depth = lambda: runner.depth

    def members(group: str) -> list[str]:
        return list(client.usergroups_users_list(usergroup=group)["users"])

    cluster = services_mod.ClusterConnection(connect or (lambda: connect_cluster(config)))
    environ: Mapping[str, str] = (
        {"MYCTL_CONFIG": config.myctl_config} if config.myctl_config else {}
    )
    services = services_mod.Services(
        client=client,
        cluster=cluster,
        runner=runner,
        resolver=access.GroupResolver(members, clock),
        metrics=counters,
        environ=environ,
        clock=clock,
        progress_interval=progress_interval,
        store=store,
        owner=config.instance_id,
    )
    # Token verification (auth.test at construction) goes through `client`, so SLACK_API_URL:
    # it is kept on, as a wrong token should stop the bot at start, not at the first command.
    try:
        app = App(
            client=client,
            signing_secret=config.signing_secret,
            logger=log,
            # Our listeners only parse, ack and hand off to `runner`, so they may run on the
            # request's own thread. Without this, bolt runs them on its 5-thread listener
            # executor and the request thread polls for the ack in 10 ms sleeps: at least
            # 10 ms per ack, and queueing behind those 5 threads in a burst.
            process_before_response=True,
        )
        runs.mark_interrupted(client, store, config.instance_id)
    except BaseException:
        store.close()
        raise

    @app.command("/myctl")
    def on_myctl(ack: Any, body: dict[str, Any], context: Any) -> None:
        received = context.get("myctl_received", time.monotonic())
        slash.handle(services, ack, body, received)

    @app.action(re.compile(clicks.ACTION_PATTERN))
    def on_approval_click(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()

        def job() -> None:
            clicks.on_click(services, body, respond)

        if services.runner.try_submit(job) is None:
            busy = messages.click_busy()
            respond(text=busy.text, response_type="ephemeral", replace_original=False)

    sweeper = clicks.Sweeper(services, config.approval_sweep_seconds).start()
    return Bot(app, services, readiness.Readiness(client, cluster, clock), sweeper)
