"""A bot with registry triggers, started in-process over HTTP, and a client for its hooks.

`HookBots.start(triggers_yaml)` builds the app as `myctl-bot` does (environment → BotConfig,
the configuration file with `triggers:`, secrets from the environment), on the in-memory
cluster unless a kubeconfig is given, and serves it on a free loopback port.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from bot import app as app_mod
from bot import config as config_mod
from commands.kube import memory
from commands.state import records
from tests.bot.hooks import payloads
from tests.bot.transport import bots
from tests.bot.transport.bots import RUN_DEADLINE
from tests.support.slack_driver import SlackDriver
from tests.support.slack_emulator import Message, SlackEmulator
from tests.support.slack_plugin import SIGNING_SECRET, slack_environment

SECRET_ENV = "MYCTL_HOOK_TEST"
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass
class HookBot:
    bot: app_mod.Bot
    server: bots.Server
    emulator: SlackEmulator
    driver: SlackDriver
    cluster: memory.MemoryCluster | None
    session: requests.Session = field(default_factory=requests.Session)

    def url(self, name: str, query: str = "") -> str:
        return f"http://127.0.0.1:{self.server.port}/hooks/{name}{query}"

    def post(
        self,
        name: str,
        body: bytes,
        *,
        headers: dict[str, str] | None = None,
        query: str = "",
        content_type: str = "application/json",
    ) -> requests.Response:
        sent = {"Content-Type": content_type, **(headers or {})}
        return self.session.post(self.url(name, query), data=body, headers=sent, timeout=10)

    def post_distribution(self, name: str, *events: dict[str, Any]) -> requests.Response:
        return self.post(
            name,
            payloads.encode(payloads.envelope(*events)),
            headers={"Authorization": f"Bearer {payloads.SECRET}"},
            content_type=payloads.DISTRIBUTION_CONTENT_TYPE,
        )

    def final(self, channel: str, timeout: float = RUN_DEADLINE) -> Message:
        return bots.final_in(self.emulator, channel, timeout)

    def runs(self) -> list[records.RunRecord]:
        return self.bot.services.store.runs_since(_EPOCH)

    def deliveries(self) -> list[records.AuditEvent]:
        events = self.bot.services.store.events_since(_EPOCH)
        return [event for event in events if event.kind == "hook.delivery"]

    def metrics(self) -> str:
        port = self.server.port
        return self.session.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text


class HookBots:
    def __init__(self, emulator: SlackEmulator, tmp_path: Path, *, front: bool = False) -> None:
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.front = front  # served through the front process (bot/transport/frontdoor.py)
        self.started: list[HookBot] = []

    def environment(
        self, config_text: str, *, kubeconfig: str | None = None, **extra: str
    ) -> dict[str, str]:
        config_file = self.tmp_path / "myctl.yaml"
        config_file.write_text(textwrap.dedent(config_text))
        env = {
            **slack_environment(self.emulator),
            "PORT": "0",
            "MYCTL_CONFIG": str(config_file),
            "MYCTL_STATE_URL": f"sqlite:///{self.tmp_path / 'state.db'}",
            SECRET_ENV: payloads.SECRET,
            **extra,
        }
        if kubeconfig:
            env["KUBECONFIG"] = kubeconfig
        return env

    def start(
        self,
        config_text: str,
        *,
        cluster: memory.MemoryCluster | None = None,
        kubeconfig: str | None = None,
        health_only: bool = False,
        **extra: str,
    ) -> HookBot:
        """`health_only`: the server Socket Mode runs on PORT (hooks must be served there too).
        With `self.front`, the front process serves the port, as `myctl-bot` does by default."""
        env = self.environment(config_text, kubeconfig=kubeconfig, **extra)
        config = config_mod.from_environ(env)
        if cluster is None and kubeconfig is None:
            cluster = memory.MemoryCluster()
        connect = (lambda: cluster) if cluster is not None else None
        bot = app_mod.build(config, connect=connect, hook_environ=env)
        server = bots.serve(bot, config, front=self.front, health_only=health_only)
        driver = SlackDriver(f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET)
        running = HookBot(bot, server, self.emulator, driver, cluster)
        self.started.append(running)
        return running

    def stop(self) -> None:
        for running in self.started:
            running.session.close()
            running.driver.close()
            running.server.stop()
            running.bot.close()


def trigger_yaml(
    name: str = "reg",
    *,
    source: str = "distribution",
    images: str = '["*"]',
    channel: str = "C_HOOK",
    extra: str = "",
) -> str:
    """One `triggers:` entry (indented for the list), secret from SECRET_ENV."""
    lines = [
        f"  - name: {name}",
        f"    source: {source}",
        f"    secret_env: {SECRET_ENV}",
        f"    images: {images}",
        f"    channel: {channel}",
        "    coalesce_window: 2s",
    ]
    lines += [f"    {line}" for line in textwrap.dedent(extra).strip().splitlines()]
    return "\n".join(lines) + "\n"


def config_with(*entries: str, head: str = "") -> str:
    return textwrap.dedent(head) + "triggers:\n" + "".join(entries)
