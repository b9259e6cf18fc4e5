"""The body of scripts/demo-trigger: registry push → /hooks/local → one verified run in Slack."""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kubernetes import client, config

from bot import app as app_mod
from bot import config as config_mod
from bot.transport import http
from tests.support import registry as reg
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import APP_TOKEN, BOT_TOKEN, slack_environment

NAMESPACE = "demo-hooks"
CHANNEL = "C_DEMO"
SECRET = "demo-hook-secret"  # a demo value: real secrets live in the environment only
OUTCOMES = (":white_check_mark:", ":x:", ":warning:", ":large_orange_circle:")


def wait(what: str, predicate: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"demo-trigger: {what} did not happen in {timeout:.0f} s")
        time.sleep(0.2)


def main() -> None:
    config.load_kube_config()
    core, apps = client.CoreV1Api(), client.AppsV1Api()
    if NAMESPACE not in {ns.metadata.name for ns in core.list_namespace().items}:
        core.create_namespace({"metadata": {"name": NAMESPACE}})
    work = Path(tempfile.mkdtemp(prefix="myctl-demo-trigger-"))
    binary, storage = reg.build_registry(), work / "registry"
    repo = f"demo/web-{int(time.time())}"
    quiet = reg.LocalRegistry(binary, storage).start()  # the first build, before the hook is on
    quiet.push_image(repo, "1.0", seed="demo build 1")
    quiet.stop()
    image = quiet.ref(repo, "1.0")
    (work / "myctl.yaml").write_text(
        textwrap.dedent(
            f"""
            cache: {{namespace: {NAMESPACE}}}
            scope: {{namespaces: [{NAMESPACE}]}}
            triggers:
              - name: local
                source: distribution
                secret_env: MYCTL_HOOK_LOCAL
                images: ["127.0.0.1:*/demo/*"]
                channel: {CHANNEL}
            """
        )
    )
    with SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as slack:
        env = {
            **slack_environment(slack),
            "PORT": "0",
            "KUBECONFIG": os.environ["KUBECONFIG"],
            "MYCTL_CONFIG": str(work / "myctl.yaml"),
            "MYCTL_STATE_URL": f"sqlite:///{work / 'state.db'}",
            "MYCTL_HOOK_LOCAL": SECRET,
        }
        bot = app_mod.build(config_mod.from_environ(env), hook_environ=env)
        server = http.HttpServer(bot, 0, host="127.0.0.1").start()
        hook = f"http://127.0.0.1:{server.port}/hooks/local"
        endpoint = ("myctl", hook, {"Authorization": f"Bearer {SECRET}"})
        registry = reg.LocalRegistry(binary, storage, endpoints=[endpoint], port=quiet.port)
        registry.start()
        try:
            print(f"== bot on {hook}; registry {registry.host} notifies it (bearer header)")
            apps.create_namespaced_deployment(
                NAMESPACE,
                {
                    "metadata": {"name": "web"},
                    "spec": {
                        "replicas": 2,
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {
                            "metadata": {"labels": {"app": "web"}},
                            "spec": {
                                "containers": [
                                    {"name": "web", "image": image, "imagePullPolicy": "Always"}
                                ]
                            },
                        },
                    },
                },
            )

            def available() -> bool:
                status = apps.read_namespaced_deployment("web", NAMESPACE).status
                return (status.available_replicas or 0) == 2 and not status.unavailable_replicas

            wait(f"{NAMESPACE}/web available", available)
            digest = registry.push_image(repo, "1.0", seed=f"demo build {time.time_ns()}")
            print(f"== pushed {image} -> {digest}")

            def final() -> bool:
                return any(m.text.startswith(OUTCOMES) for m in slack.messages_in(CHANNEL))

            wait("the run's outcome in Slack", final)
            for message in slack.messages_in(CHANNEL):
                print(f"== #{CHANNEL} (updated in place):")
                print(textwrap.indent(message.text, "   "))
        finally:
            registry.stop()
            server.stop()
            bot.close()
            apps.delete_namespaced_deployment("web", NAMESPACE)


if __name__ == "__main__":
    main()
