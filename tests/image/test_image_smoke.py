"""The real image, built by scripts/image-build and run by scripts/image-run with podman: the
CLI answers, the image is small and clean, and `myctl-bot` inside it serves Slack against the
session's control plane and the Slack emulator, then stops on SIGTERM within the grace period.

Never skipped: without podman these tests fail (scripts/test installs it; docs/operations.md).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.bot.transport.bots import OUTCOMES
from tests.support import controlplane as cp
from tests.support import polling, processes
from tests.support.slack_driver import SlackDriver
from tests.support.slack_emulator import Message, SlackEmulator
from tests.support.slack_plugin import SIGNING_SECRET, slack_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = REPO_ROOT / "scripts"
IMAGE = "localhost/myctl:dev"
# The image's target size (docs/operations.md); the real base and the stand-in are both ~128 MB.
MAX_IMAGE_BYTES = 200_000_000
# The kubelet's grace in deploy/ is 40 s; podman stop gets 30 s, then SIGKILL (exit 137).
STOP_GRACE = 30
# A cold build (stand-in base, every wheel) takes minutes; cached layers make it seconds.
pytestmark = pytest.mark.timeout(1800)


def _podman_env() -> dict[str, str]:
    """Environment for direct podman calls: the configuration scripts/lib/podman.sh writes."""
    conf = Path(os.environ.get("MYCTL_CACHE", Path.home() / ".cache" / "myctl")) / "podman"
    return {
        **os.environ,
        "CONTAINERS_CONF": str(conf / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(conf / "storage.conf"),
    }


def _podman(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=_podman_env(), capture_output=True, text=True, timeout=timeout
    )


def _image_run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / "image-run"), *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def image() -> str:
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: scripts/test installs it (apt-get install podman)")
    built = subprocess.run(
        [str(SCRIPTS / "image-build")], capture_output=True, text=True, timeout=1500
    )
    assert built.returncode == 0, built.stderr[-4000:]
    assert built.stdout.strip() == IMAGE
    return IMAGE


def test_the_cli_in_the_image_answers_version_and_help(image: str) -> None:
    version = _image_run("myctl", "version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("myctl 0.1.0")

    usage = _image_run("myctl", "--help")
    assert usage.returncode == 0, usage.stderr
    assert usage.stdout.startswith("Usage: myctl")


def test_the_image_is_small_non_root_and_free_of_build_leftovers(image: str) -> None:
    (info,) = json.loads(_podman("image", "inspect", image).stdout)
    assert info["Size"] <= MAX_IMAGE_BYTES, f"{info['Size'] / 1e6:.0f} MB"
    assert info["Config"]["User"] == "10001:10001"
    assert info["Config"]["Entrypoint"] == ["myctl-bot"]
    assert info["Labels"]["org.opencontainers.image.title"] == "myctl"

    # No pip, build venv, wheels or the build's CA secret in what the Dockerfile adds (the base
    # image's own ensurepip wheels are the base's); `myctl` on PATH.
    probe = _image_run(
        "sh",
        "-c",
        "id -u; command -v myctl; command -v myctl-bot; ls /opt; ls /run/secrets 2>&1;"
        " find /opt /var/lib/myctl \\( -name '*.whl' -o -name pip -o -name setuptools \\) -print",
    )
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.split()
    assert lines[:4] == ["10001", "/opt/venv/bin/myctl", "/opt/venv/bin/myctl-bot", "venv"]
    assert "/run/secrets/ca" not in probe.stdout
    assert not [line for line in lines if line.endswith(".whl") or line.endswith("/pip")]


# --------------------------------------------------------------------------- the bot


def _portable_kubeconfig(plane: cp.ControlPlane, target: Path) -> Path:
    """The admin kubeconfig with its CA, certificate and key inline, readable by uid 10001:
    the container sees this one file, not the control plane's 0600 files beside it."""
    doc = yaml.safe_load(plane.kubeconfig.read_text())
    for entry in doc["clusters"]:
        cluster = entry["cluster"]
        ca = Path(cluster.pop("certificate-authority")).read_bytes()
        cluster["certificate-authority-data"] = base64.b64encode(ca).decode()
    for entry in doc["users"]:
        user = entry["user"]
        for key in ("client-certificate", "client-key"):
            if key in user:
                user[f"{key}-data"] = base64.b64encode(Path(user.pop(key)).read_bytes()).decode()
    target.write_text(yaml.safe_dump(doc))
    target.chmod(0o644)
    return target


class BotContainer:
    def __init__(self, name: str, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.name, self.port, self.process, self.log = name, port, process, log

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answers(self, path: str) -> bool:
        try:
            return requests.get(self.url(path), timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def kubeconfig_file(control_plane: cp.ControlPlane, tmp_path: Path) -> Path:
    return _portable_kubeconfig(control_plane, tmp_path / "kubeconfig")


@pytest.fixture
def bot_container(
    image: str, kubeconfig_file: Path, slack_emulator: SlackEmulator, tmp_path: Path
) -> Iterator[BotContainer]:
    state = tmp_path / "state"
    state.mkdir()
    # The bot runs as uid 10001: give it the directory (CI runs as root), else open it up.
    if os.geteuid() == 0:
        os.chown(state, 10001, 10001)
    else:
        state.chmod(0o777)
    name = f"myctl-smoke-{uuid.uuid4().hex[:8]}"
    port = processes.free_port()
    env = {
        **slack_environment(slack_emulator),
        "PORT": str(port),
        "KUBECONFIG": "/kube/config",
        "MYCTL_STATE_URL": "sqlite:////var/lib/myctl/state.db",
    }
    args = [f"--name={name}", "--user=10001:10001", f"--volume={kubeconfig_file}:/kube/config:ro"]
    args += [f"--volume={state}:/var/lib/myctl:rw", *(f"--env={k}={v}" for k, v in env.items())]
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(SCRIPTS / "image-run"), *args, "--", "myctl-bot"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    bot = BotContainer(name, port, process, log)
    try:
        yield bot
    finally:
        # Always: the container may outlive the podman client that started it.
        _podman("rm", "--force", "--ignore", "--time=0", name)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.kube
@pytest.mark.slack
def test_the_bot_in_the_image_answers_a_signed_check_and_stops_on_sigterm(
    bot_container: BotContainer,
    slack_emulator: SlackEmulator,
    kubeconfig_file: Path,
    kube_namespace: str,
    tmp_path: Path,
) -> None:
    # A fresh cache for the namespace, written by the CLI from the same image: the check that
    # follows then has a definite answer (valid, exit 0).
    rebuilt = _image_run(
        f"--volume={kubeconfig_file}:/kube/config:ro",
        "--env=KUBECONFIG=/kube/config",
        "--",
        "myctl",
        "--cache-namespace",
        kube_namespace,
        "rebuild",
        "--force",
        "-n",
        kube_namespace,
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr

    bot = bot_container
    polling.wait_until(
        lambda: bot.answers("/healthz") or bot.process.poll() is not None,
        timeout=90,
        what="/healthz of the bot in the container",
    )
    assert bot.process.poll() is None, bot.output()
    polling.wait_until(lambda: bot.answers("/readyz"), timeout=60, what="/readyz")
    assert slack_emulator.calls_to("auth.test"), "start-up token check went to the emulator"

    with SlackDriver(bot.url("/slack/events"), SIGNING_SECRET) as driver:
        answer = driver.slash_command(
            f"--cache-namespace {kube_namespace} check -n {kube_namespace}",
            response_url=slack_emulator.new_response_url(),
        )
    assert answer.status_code == 200, answer.body

    def outcome() -> Message | None:
        for message in slack_emulator.messages_in("C_OPS"):
            if message.text.startswith(OUTCOMES):
                return message
        return None

    message = slack_emulator.wait_for(outcome, timeout=60)
    assert message is not None
    assert message.text.startswith(":white_check_mark:"), message.text
    assert slack_emulator.violations == []
    assert (tmp_path / "state" / "state.db").exists(), "state went to the writable volume"

    started = time.monotonic()
    stopped = _podman("stop", f"--time={STOP_GRACE}", bot.name, timeout=STOP_GRACE + 30)
    assert stopped.returncode == 0, stopped.stderr
    code = bot.process.wait(timeout=30)
    elapsed = time.monotonic() - started
    assert code in (0, 143), f"exit {code}: {bot.output()}"
    assert elapsed < STOP_GRACE, f"stopped after {elapsed:.1f}s, the grace is {STOP_GRACE}s"
