"""The ChatOps half of scripts/demo: `myctl-bot` against the bundled Slack emulator.

Pushes one more build of the demo image, starts the real `python -m bot` (HTTP mode) with
SLACK_API_URL pointing at the emulator (tests/support/slack_emulator.py), sends a signed
`/myctl orchestrate …` as a person in #ops would (tests/support/slack_driver.py), and prints
the channel as that person sees it: the bot's message each time it is updated, down to the
final emoji. Then stops the bot with SIGTERM, as Kubernetes would. Nothing leaves this machine.

Usage (from scripts/demo, with KUBECONFIG and MYCTL_TEST_REGISTRY set): demo_bot.py IMAGE
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.support import registry, slack_records  # noqa: E402
from tests.support.slack_driver import SlackDriver  # noqa: E402
from tests.support.slack_emulator import Message, SlackEmulator  # noqa: E402
from tests.support.slack_plugin import (  # noqa: E402
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    slack_environment,
)

CHANNEL, USER = "C_OPS", "U_ALICE"
OUTCOMES = (":white_check_mark:", ":x:", ":warning:", ":large_orange_circle:")
PORT_LINE = re.compile(r"listening for HTTP on port (\d+)")
# Seconds: a rollout of two pods on the local control plane takes a few; this is the ceiling.
DEADLINE = 150.0
CONFIG = """\
slack:
  access:
    orchestrate: {users: [U_ALICE]}
"""


def _bot(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=REPO, env=env, stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = PORT_LINE.search(log.read_text(errors="replace"))
        if found:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)  # polling while the bot starts, with a deadline
    proc.kill()
    raise SystemExit(f"demo: myctl-bot did not start:\n{log.read_text(errors='replace')}")


def _show(message: Message, started: float, first: bool) -> None:
    who = "myctl" if first else "myctl (edited)"
    # What Slack shows: the blocks when there are any, else the notification text.
    shown = "\n".join(slack_records.texts_in(message.blocks)) or message.text
    body = textwrap.indent(shown, "    ")
    print(f"[{time.monotonic() - started:5.1f}s] {who}:\n{body}", flush=True)


def main(image: str) -> int:
    host, path = image.split("/", 1)
    repo, tag = path.rsplit(":", 1)
    pusher = registry.LocalRegistry(port=int(host.rsplit(":", 1)[1]))
    digest = pusher.push_image(repo, tag, seed=f"demo build {time.time_ns()}")
    print(f"== pushed {image} -> {digest}  (another build, for the bot to roll out)")
    text = (
        f"orchestrate --image {image} --match repository --expect-digest {digest} "
        "--pin-digest --namespace demo --wait --timeout 2m"
    )
    with (
        tempfile.TemporaryDirectory(prefix="myctl-demo-bot-") as tmp,
        SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as emulator,
    ):
        config = Path(tmp) / "myctl.yaml"
        config.write_text(CONFIG)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **slack_environment(emulator),
            "KUBECONFIG": os.environ["KUBECONFIG"],
            "PORT": "0",
            "MYCTL_CONFIG": str(config),
            "MYCTL_STATE_URL": f"sqlite:///{tmp}/state.db",
            "MYCTL_INSTANCE_ID": "demo-bot",
        }
        log = Path(tmp) / "bot.log"
        proc, port = _bot(env, log)
        print(f"== myctl-bot listening on 127.0.0.1:{port}, Slack Web API: {emulator.api_url}")
        print("== #ops (the Slack emulator; as a person in the channel sees it)\n")
        started = time.monotonic()
        try:
            with SlackDriver(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET) as driver:
                print(f"[  0.0s] alice: /myctl {text}", flush=True)
                answer = driver.slash_command(
                    text, user_id=USER, user_name="alice", channel_id=CHANNEL,
                    response_url=emulator.new_response_url(),
                )  # fmt: skip
                if answer.status_code != 200:
                    raise SystemExit(f"demo: the bot answered HTTP {answer.status_code}")
                final = _follow(emulator, started)
        finally:
            proc.terminate()  # SIGTERM: the graceful stop a pod gets
            code = proc.wait(40)
        print(f"\n== final: {final.text.split()[0]}  (myctl-bot stopped with SIGTERM: exit {code})")
        return 0 if final.text.startswith(OUTCOMES[0]) else 1


def _follow(emulator: SlackEmulator, started: float) -> Message:
    """Print the bot's message in #ops each time it changes, until it shows an outcome."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        for message in emulator.messages_in(CHANNEL):
            shown = message.all_text()
            if seen.get(message.ts) != shown:
                _show(message, started, first=message.ts not in seen)
                seen[message.ts] = shown
            if message.text.startswith(OUTCOMES):
                return message
        time.sleep(0.1)  # a person refreshing the channel; bounded by the deadline
    raise SystemExit("demo: no final message from the bot within the deadline")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
