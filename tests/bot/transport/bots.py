"""The bot under test, started in-process as `myctl-bot` starts it, for both transports.

Configuration comes from the environment (`bot_environment`), our HTTP server listens on port
0, and a fresh SlackEmulator takes every Web API call. `start_http` builds the app on the
in-memory cluster unless a control plane is given: tests that do not need Kubernetes never
start it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client as k8s_client

from bot import app as app_mod
from bot import config as config_mod
from bot.rendering import blocks
from bot.transport import frontdoor, http
from commands.kube import memory
from commands.values import clock as clock_mod
from tests.kube import objects
from tests.support import controlplane as cp
from tests.support import fake_kubelet, manifests, polling
from tests.support.slack_driver import SlackDriver
from tests.support.slack_emulator import Message, SlackEmulator
from tests.support.slack_plugin import SIGNING_SECRET, slack_environment

IMAGE = "registry.example.com/team/api:1.4.2"
OUTCOMES = tuple(blocks.OUTCOME_EMOJI.values())  # a run's final message starts with one
ACK_BUDGET = 3.0
# Seconds a run may take: a rollout on the local control plane settles in a few seconds.
RUN_DEADLINE = 60.0

ACCESS_CONFIG = """
slack:
  access:
    orchestrate: {users: [U_REQ]}
    restart: {users: [U_REQ]}
    rebuild: {users: [U_REQ]}
"""


# --------------------------------------------------------------------------- cluster helpers


def deployment(
    name: str, image: str = IMAGE, *, paused: bool = False, never_ready: bool = False
) -> dict[str, Any]:
    # Always: with IfNotPresent and a tag a restart pulls nothing new, and myctl rightly skips
    # it. A 600 s deadline: --timeout bounds our wait, not the rollout's progress deadline.
    return manifests.deployment(
        name,
        image,
        labels={"app": name},
        paused=paused,
        never_ready=never_ready,
        pull="Always",
        progress_deadline=600,
    )


def create(api: k8s_client.ApiClient, namespace: str, *bodies: dict[str, Any]) -> None:
    apps = k8s_client.AppsV1Api(api)
    for body in bodies:
        apps.create_namespaced_deployment(namespace, body)


def push_after_settled(
    api: k8s_client.ApiClient,
    namespace: str,
    names: tuple[str, ...],
    kubelet: fake_kubelet.FakeKubelet,
    image: str,
) -> str:
    """Once `names` run the current digest of `image`, move its tag (a push), so that a restart
    has something new to roll out."""
    for name in names:
        polling.wait_until(
            lambda name=name: objects.deployment_available(api, namespace, name),  # type: ignore[misc]
            what=f"{name} available",
        )
    return kubelet.move_tag(image)


def restarted_at(api: k8s_client.ApiClient, namespace: str, name: str) -> str | None:
    obj = k8s_client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
    annotations = obj.spec.template.metadata.annotations or {}
    value = annotations.get("kubectl.kubernetes.io/restartedAt")
    return str(value) if value else None


# --------------------------------------------------------------------------- the bot


@dataclass
class RunningBot:
    bot: app_mod.Bot
    emulator: SlackEmulator
    driver: SlackDriver | None = None
    cluster: memory.MemoryCluster | None = None  # set when built on the in-memory cluster
    server: Server | None = None

    def final_message(self, channel: str = "C_OPS", timeout: float = RUN_DEADLINE) -> Message:
        """The run's message once its final update (an outcome emoji) has arrived."""
        return final_in(self.emulator, channel, timeout)

    def url(self, path: str) -> str:
        assert self.driver is not None
        return self.driver.app_url.replace("/slack/events", path)


def bot_environment(
    emulator: SlackEmulator, plane: cp.ControlPlane | None, tmp_path: Path, **extra: str
) -> dict[str, str]:
    config_file = tmp_path / "myctl.yaml"
    config_file.write_text(textwrap.dedent(ACCESS_CONFIG))
    kube = {"KUBECONFIG": str(plane.kubeconfig)} if plane is not None else {}
    return {
        **slack_environment(emulator, socket_mode=extra.pop("socket_mode", "") == "1"),
        "PORT": "0",
        **kube,
        "MYCTL_CONFIG": str(config_file),
        "MYCTL_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        **extra,
    }


BotFactory = Callable[..., RunningBot]
Server = http.HttpServer | frontdoor.FrontDoor


def serve(
    bot: app_mod.Bot, config: config_mod.BotConfig, *, front: bool, health_only: bool = False
) -> Server:
    """The bot on loopback: through the front process (as `myctl-bot` serves HTTP), or served
    by its own server (`health_only`: the server Socket Mode runs on PORT)."""
    if front:
        door = frontdoor.FrontDoor(bot, config.port, config.signing_secret, host="127.0.0.1")
        return door.start()
    return http.HttpServer(bot, config.port, host="127.0.0.1", health_only=health_only).start()


def http_bots(
    emulator: SlackEmulator, plane: cp.ControlPlane | None, tmp_path: Path
) -> Iterator[BotFactory]:
    """A factory of bots over HTTP (stopped afterwards): on `plane`, else in memory."""
    started: list[tuple[app_mod.Bot, Server, SlackDriver]] = []

    def start(
        clock: clock_mod.Clock | None = None, *, front: bool = False, **extra: str
    ) -> RunningBot:
        """`front`: the port is served by the front process, as `myctl-bot` serves it."""
        config = config_mod.from_environ(bot_environment(emulator, plane, tmp_path, **extra))
        cluster = memory.MemoryCluster() if plane is None else None
        connect = (lambda: cluster) if cluster is not None else None
        bot = app_mod.build(config, connect=connect, clock=clock)
        server = serve(bot, config, front=front)
        driver = SlackDriver(f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET)
        started.append((bot, server, driver))
        return RunningBot(bot, emulator, driver, cluster, server)

    yield start
    for bot, server, driver in started:
        driver.close()
        server.stop()
        bot.close()


def slash(running: RunningBot, text: str, **kwargs: Any) -> Any:
    assert running.driver is not None
    kwargs.setdefault("response_url", running.emulator.new_response_url())
    return running.driver.slash_command(text, **kwargs)


def final_in(emulator: SlackEmulator, channel: str, timeout: float = RUN_DEADLINE) -> Message:
    """The first message in `channel` that carries a run's outcome emoji, once it has."""

    def done() -> Message | None:
        for message in emulator.messages_in(channel):
            if message.text.startswith(OUTCOMES):
                return message
        return None

    try:
        return emulator.wait_for(done, timeout=timeout)
    except TimeoutError as exc:
        calls = [(c.method, c.status, c.response.get("error")) for c in emulator.calls]
        texts = [m.text for m in emulator.messages.values()]
        raise AssertionError(
            f"no final message in {channel}; calls {calls}; messages {texts}"
        ) from exc
