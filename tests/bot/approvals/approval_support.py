"""Helpers for the approvals, audit and lifecycle end-to-end tests.

`Bots` starts real bot apps in-process over HTTP (as `myctl-bot` does) with one configuration
file; several may share one state database, like replicas. `BotProcess` runs `python -m bot`
as a subprocess, for crashes and process-level behaviour.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client

from bot import app as app_mod
from bot import config as config_mod
from bot.transport import http as http_server
from commands.state import store as store_mod
from tests.bot.transport.bots import OUTCOMES
from tests.support import controlplane as cp
from tests.support.slack_driver import Forgery, SlackDriver
from tests.support.slack_emulator import Message, SlackEmulator
from tests.support.slack_plugin import SIGNING_SECRET, slack_environment

REPO = Path(__file__).resolve().parents[3]
CHANNEL = "C_OPS"
# Seconds a rebuild or a short run may take against the local control plane.
RUN_DEADLINE = 60.0
SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # "every audit event" for events_since


def config_text(namespace: str, *, expiry: str = "15m", extra: str = "") -> str:
    """U_REQ may rebuild and restart; U_BOSS (by id) and members of S_OPS (by user group)
    approve; U_REQ is an approver too, so self-approval is refused for that reason alone."""
    return textwrap.dedent(
        f"""\
        cache: {{namespace: {namespace}}}
        scope: {{namespaces: [{namespace}]}}
        slack:
          access:
            rebuild: {{users: [U_REQ]}}
            restart: {{users: [U_REQ]}}
          approvals:
            approvers: {{users: [U_BOSS, U_REQ], usergroups: [S_OPS]}}
            expiry: {expiry}
        """
    ) + textwrap.dedent(extra)


@dataclass
class Bot:
    bot: app_mod.Bot
    server: http_server.HttpServer
    driver: SlackDriver

    def stop(self) -> None:
        self.driver.close()
        self.server.stop()
        self.bot.close()


@dataclass
class Bots:
    emulator: SlackEmulator
    plane: cp.ControlPlane
    tmp_path: Path
    namespace: str
    state_url: str
    config: Path | None = None
    started: list[Bot] = field(default_factory=list)

    def write_config(self, text: str) -> None:
        self.config = self.tmp_path / "myctl.yaml"
        self.config.write_text(text)

    def environment(self, **extra: str) -> dict[str, str]:
        if self.config is None:
            self.write_config(config_text(self.namespace))
        return {
            **slack_environment(self.emulator),
            "PORT": "0",
            "KUBECONFIG": str(self.plane.kubeconfig),
            "MYCTL_CONFIG": str(self.config),
            "MYCTL_STATE_URL": self.state_url,
            **extra,
        }

    def start(self, **extra: str) -> Bot:
        config = config_mod.from_environ(self.environment(**extra))
        bot = app_mod.build(config)
        server = http_server.HttpServer(bot, config.port, host="127.0.0.1").start()
        driver = SlackDriver(f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET)
        running = Bot(bot, server, driver)
        self.started.append(running)
        return running

    def store(self) -> store_mod.StateStore:
        """A store of the test's own, on the bots' database: what an auditor would read."""
        return store_mod.StateStore(self.state_url)

    # ------------------------------------------------------------------ Slack side
    def slash(self, bot: Bot, text: str, user: str = "U_REQ") -> str:
        """Send `/myctl text`; returns the command's response_url (ephemeral answers)."""
        url = self.emulator.new_response_url()
        answer = bot.driver.slash_command(text, user_id=user, response_url=url)
        assert answer.status_code == 200, answer.body
        return url

    def request(self, bot: Bot, user: str = "U_REQ") -> Message:
        """`/myctl rebuild` and the approval request message it posts."""
        before = {m.ts for m in self.emulator.messages_in(CHANNEL)}
        self.slash(bot, "rebuild", user)

        def posted() -> Message | None:
            for message in self.emulator.messages_in(CHANNEL):
                if message.ts not in before and "Approval needed" in message.all_text():
                    return message
            return None

        found = self.emulator.wait_for(posted, timeout=RUN_DEADLINE)
        assert found is not None
        return found

    def click(
        self,
        bot: Bot,
        message: Message,
        user: str,
        action: str = "myctl_approve",
        forgery: Forgery = Forgery.NONE,
    ) -> tuple[int, str]:
        """Click a button of `message` (as Slack would: value and block id from the message);
        returns (HTTP status, the click's response_url)."""
        url = self.emulator.new_response_url()
        answer = bot.driver.click(
            forgery,
            channel=message.channel,
            ts=message.ts,
            text=message.text,
            blocks=message.blocks,
            action_id=action,
            user_id=user,
            response_url=url,
        )
        return answer.status_code, url

    def answers(self, url: str) -> list[dict[str, Any]]:
        url_id = url.rsplit("/", 1)[1]
        return [body for uid, body in self.emulator.responses if uid == url_id]

    def answer(self, url: str, timeout: float = RUN_DEADLINE) -> dict[str, Any]:
        answers: list[dict[str, Any]] = self.emulator.wait_for(
            lambda: self.answers(url), timeout=timeout
        )
        return answers[0]

    def current(self, message: Message) -> Message:
        return self.emulator.messages[(message.channel, message.ts)]

    def final(self, message: Message, timeout: float = RUN_DEADLINE) -> Message:
        """`message` once it ends with an outcome emoji."""

        def done() -> Message | None:
            now = self.current(message)
            return now if now.text.startswith(OUTCOMES) else None

        try:
            found = self.emulator.wait_for(done, timeout=timeout)
        except TimeoutError as exc:
            raise AssertionError(f"no outcome: {self.current(message).all_text()}") from exc
        assert found is not None
        return found


def cache_exists(api: k8s_client.ApiClient, namespace: str) -> bool:
    try:
        k8s_client.CoreV1Api(api).read_namespaced_config_map("myctl-image-cache", namespace)
    except k8s_client.ApiException as exc:
        if exc.status == 404:
            return False
        raise
    return True


@pytest.fixture
def bots(
    slack_emulator: SlackEmulator,
    control_plane: cp.ControlPlane,
    kube_namespace: str,
    tmp_path: Path,
) -> Iterator[Bots]:
    slack_emulator.usergroups = {"S_OPS": ["U_BOSS2"]}
    made = Bots(
        slack_emulator, control_plane, tmp_path, kube_namespace, f"sqlite:///{tmp_path}/state.db"
    )
    yield made
    for running in made.started:
        running.stop()


# --------------------------------------------------------------------------- subprocesses

PORT_LINE = re.compile(r"(?:listening for HTTP|health endpoints) on port (\d+)")
FRONT_LINE = re.compile(r"listening for HTTP on port \d+ \(front process (\d+)\)")


class BotProcess:
    """`python -m bot` with `env`; its log (stdout and stderr) goes to `log`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=REPO,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def port(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = PORT_LINE.search(self.text())
            if found:
                return int(found.group(1))
            if self.proc.poll() is not None:
                raise AssertionError(f"the bot exited {self.proc.returncode}:\n{self.text()}")
            time.sleep(0.05)  # polling interval while the process starts, not a fixed wait
        raise AssertionError(f"the bot did not start listening:\n{self.text()}")

    def front_pid(self) -> int:
        """The front process's pid, as the bot logs it once it listens."""
        self.port()
        found = FRONT_LINE.search(self.text())
        assert found is not None, self.text()
        return int(found.group(1))

    def driver(self) -> SlackDriver:
        return SlackDriver(f"http://127.0.0.1:{self.port()}/slack/events", SIGNING_SECRET)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)
