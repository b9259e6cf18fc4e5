"""The composition root: the bolt App and everything it shares, built once from a `BotConfig`.

Only wiring here: which listener calls which room (docs/architecture.md). Nothing else in bot/
builds a WebClient, opens the state store or connects to the cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.logger import messages as bolt_messages
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import access, commandline, health, hookruns, jobs, metrics
from bot import config as config_mod
from bot import services as services_mod
from bot.approvals import canary, clicks, offer
from bot.approvals import sweeper as sweeper_mod
from bot.conversation import slash
from bot.rendering import approvals as approval_texts
from bot.rendering import outcomes
from bot.runs import delivery, engines, interrupted, run
from commands.kube import port
from commands.state import store as store_mod
from commands.state import trail
from commands.values import clock as clock_mod
from commands.values import config as values_config
from commands.values import settings
from commands.values import triggers as trigger_values

log = logging.getLogger(__name__)

# Retries of a 429 (honouring Retry-After): progress updates are at most one a second, so two
# retries ride out a short burst without holding a job for long.
RATE_LIMIT_RETRIES = 2


class _OurClientIsMeant(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment by itself and, given our client as well,
    warns at every start that the token is unused: that is the intent (the client carries the
    token, SLACK_API_URL and the 429 retries), so that one warning is dropped."""

    TEXT = bolt_messages.warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.TEXT


log.addFilter(_OurClientIsMeant())


def connect_cluster(config: config_mod.BotConfig, kube: settings.KubeSettings) -> port.Cluster:
    from commands.kube import client  # lazy: importing kubernetes costs ~0.3 s

    return client.connect(
        config.kubeconfig, config.kube_context, request_timeout=kube.request_timeout
    )


def engine_pool(
    config: config_mod.BotConfig, kube: settings.KubeSettings
) -> commandline.EnginePool:
    """Engine processes for the bot's runs, one ready ahead of the first command."""
    recipe = commandline.EngineRecipe(
        config.kubeconfig,
        config.kube_context,
        nice=config.engine_nice,
        log_level=logging.getLogger().getEffectiveLevel(),
        kube=kube,
    )
    pool = commandline.EnginePool(recipe, size=config.job_workers)
    pool.warm()
    return pool


def web_client(config: config_mod.BotConfig) -> WebClient:
    """The one WebClient (bolt and Socket Mode share it): every Web API call goes to
    SLACK_API_URL, and a 429 is retried."""
    return WebClient(
        token=config.bot_token,
        base_url=config.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )


@dataclass
class Bot:
    app: App
    services: services_mod.Services
    ready: health.Readiness
    sweeper: sweeper_mod.Sweeper
    owner: str  # this replica's id (BotConfig.instance_id)
    hooks: hookruns.HookRuns | None = None  # registry triggers (`POST /hooks/NAME`), if any
    watch: interrupted.Watch | None = None  # heartbeats and the stale-run sweep
    pool: commandline.EnginePool | None = None  # the engine processes, unless in-process

    def close(self) -> None:
        self.sweeper.stop()
        if self.watch is not None:
            self.watch.stop()
        if self.hooks is not None:
            self.hooks.stop()
        canary.stop_waiting()  # a run paused after its canary stops now, not at its expiry
        self.services.runner.shutdown(wait=False)
        # Runs still going are abandoned by this process: say so now, as the next start may
        # be a new pod with another POD_NAME that would never mark them.
        try:
            marked = interrupted.mark(self.services.slack, self.services.store, self.owner)
            self.services.metrics.runs_interrupted("shutdown", marked)
        except Exception as exc:
            log.warning("could not mark unfinished runs at shutdown: %s", type(exc).__name__)
        self.services.store.close()
        if self.pool is not None:
            self.pool.close()  # last: what ran there is marked interrupted above


def build(
    config: config_mod.BotConfig,
    *,
    connect: Callable[[], port.Cluster] | None = None,
    clock: clock_mod.Clock | None = None,
    progress_interval: float = 1.0,
    loaded: settings.Settings | None = None,
    hook_environ: Mapping[str, str] | None = None,
) -> Bot:
    """`connect` replaces the kubeconfig connection (tests and benchmarks pass an in-memory
    cluster); `loaded` is the configuration file already read (by `__main__`), else it is read
    here. `hook_environ` holds the triggers' secrets (`secret_env`; `__main__` passes the
    process environment); a trigger whose variable is unset or empty is a ConfigError. The state
    store is opened (schema created or migrated), and this replica's runs left
    unfinished by a previous process are marked interrupted, before any request is taken.
    """
    clock = clock or clock_mod.SystemClock()
    if loaded is None:
        loaded = values_config.load(config.myctl_config)
    secrets = trigger_values.secrets(loaded.triggers, hook_environ or {})
    store = store_mod.StateStore(config.state_url or loaded.state.url)
    client = web_client(config)
    counters = metrics.Metrics()
    slack = delivery.Slack(client, counters)
    runner = jobs.JobRunner(config.job_workers, config.job_queue)
    counters.queue_depth = lambda: runner.depth
    runner.rejected = counters.job_rejected

    cluster = services_mod.ClusterConnection(
        connect or (lambda: connect_cluster(config, loaded.kube))
    )
    in_process = connect is not None or config.engine == "in-process"
    pool = None if in_process else engine_pool(config, loaded.kube)
    environ: Mapping[str, str] = (
        {"MYCTL_CONFIG": config.myctl_config} if config.myctl_config else {}
    )
    services = services_mod.Services(
        slack=slack,
        cluster=cluster,
        runner=runner,
        resolver=access.GroupResolver(slack.group_members, clock),
        metrics=counters,
        store=store,
        pipeline=run.Pipeline(
            trail.Trail(store, owner=config.instance_id),
            slack,
            clock,
            progress_interval,
            finishing=offer.RollbackOffer(
                store,
                lambda: values_config.load(config.myctl_config).slack.approvals,
                clock,
            ),
            metrics=counters,
        ),
        environ=environ,
        clock=clock,
        engines=engines.Engines(cluster.get, clock, pool),
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
        counters.runs_interrupted("restart", interrupted.mark(slack, store, config.instance_id))
    except BaseException:
        store.close()
        if pool is not None:
            pool.close()
        raise

    @app.command("/myctl")
    def on_myctl(ack: Any, body: dict[str, Any], context: Any, respond: Any) -> None:
        acked_in = context.get("myctl_ack_seconds")  # the front process acked it (frontdoor.py)
        if acked_in is not None:
            slash.handle(services, slash.answer_later(respond), body, lambda: acked_in)
            return
        # The transport stamps the arrival on the same clock (transport/http.py).
        received = context.get("myctl_received", services.clock.monotonic())
        slash.handle(services, ack, body, lambda: services.clock.monotonic() - received)

    @app.action(approval_texts.ACTION_PATTERN)
    def on_approval_click(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()

        def job() -> None:
            clicks.on_click(services, body, respond)

        if services.runner.try_submit(job) is None:
            busy = outcomes.click_busy()
            respond(text=busy.text, response_type="ephemeral", replace_original=False)

    sweep = sweeper_mod.Sweeper(services, config.approval_sweep_seconds).start()
    ready = health.Readiness(
        slack, cluster, clock, draining=lambda: runner.draining, kube_error=counters.kube_error
    )
    hooks = hookruns.build(services, loaded.triggers, secrets) if loaded.triggers else None
    watch = interrupted.Watch(
        slack,
        store,
        clock,
        owner=config.instance_id,
        interval=config.heartbeat_seconds,
        stale_after=config.stale_run_seconds,
        counted=lambda n: counters.runs_interrupted("stale", n),
    ).start()
    return Bot(app, services, ready, sweep, config.instance_id, hooks, watch, pool)
