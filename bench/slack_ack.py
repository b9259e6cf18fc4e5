"""Slack: ack latency under load, and Web API calls per `orchestrate` as targets grow.
Targets (docs/benchmarks.md): ack p99 ≤ 100 ms with 50 concurrent commands while 10 long runs are in
progress; Slack Web API calls per `orchestrate`, 1 → 100 targets: constant.

    .venv/bin/python -m bench.slack_ack [--rounds 5] [--commands 50] [--long-runs 10]
                                             [--sizes 1,10,50,100]

Everything is local: the control plane (tests/support/controlplane.py) with the fake kubelet
(pods become Ready, except those labelled myctl.test/never-ready), the Slack Web API emulator
(tests/support/slack_emulator.py), and the bot in this process over HTTP on a free port, built
the way tests/bot/transport/test_http_e2e.py builds it. Requests are signed as Slack signs them
(tests/support/slack_driver.py). Nothing reaches slack.com.

Part 1 (ack): 10 `/myctl restart NS/deployment/NAME --wait --timeout 60s` on Deployments whose
pods never become Ready hold 10 job workers; then each round fires 50 signed slash commands at
once, one thread and connection each, from a child process (Slack is another machine; use
--in-process-client for threads of this process), half `check`, half `--dry-run orchestrate`
(both real work on the job runner), and times request → HTTP 200 per command (client side,
including the TCP connect). Requests that get no HTTP answer are counted, not timed.
The bot's own view (request received → listener done, the figure its /metrics histogram
exports) is recorded alongside. The job runner is sized (workers/queue) so nothing answers
"busy"; busy answers would still be acks, and are counted separately.

Part 2 (calls): for each N, N Deployments (replicas 0) running IMG-N in their own namespace,
one `/myctl --cache-namespace NS orchestrate --image IMG-N -n NS --max-targets 200`, and every
call the emulator recorded from the command until the job finished, by method.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from bench import common
from bot import app as app_mod
from bot import config as config_mod
from bot.transport import http as http_server
from commands.kube import client as kube_client
from commands.kube import port
from tests.support import controlplane, fake_kubelet, processes
from tests.support.slack_driver import (
    DriverResponse,
    SlackDriver,
    signed_headers,
    slash_command_payload,
)
from tests.support.slack_emulator import Message, SlackEmulator
from tests.support.slack_plugin import BOT_TOKEN, SIGNING_SECRET

USER = "U_REQ"
ACK_CHANNEL = "C_OPS"  # the 50 concurrent commands
LONG_CHANNEL = "C_LONG"  # the 10 long runs
LONG_NS = "slack-long"
ACK_NS = "slack-ack"
CACHE_NS = "slack-bench"
OUTCOMES = (":white_check_mark:", ":x:", ":warning:", ":large_orange_circle:")
BUSY_PREFIX = ":hourglass: myctl is busy"
ACK_TARGET = 0.100
LONG_TIMEOUT = "60s"
RUN_DEADLINE = 180.0  # seconds any one run (or a round's jobs) may take before we give up


# --------------------------------------------------------------------------- setup helpers


def never_ready_deployment(namespace: str, name: str) -> dict[str, Any]:
    """One replica whose pod the fake kubelet never marks Ready: `--wait` waits its timeout."""
    obj = common.deployment(namespace, name, [("app", "registry.example.com/bench/stuck:1")])
    obj["spec"]["replicas"] = 1
    obj["spec"]["template"]["metadata"]["labels"][fake_kubelet.NEVER_READY_LABEL] = "true"
    return obj


def write_config(path: Path) -> Path:
    """Access for the requester on the mutating commands; a fixed scope and cache place."""
    path.write_text(
        textwrap.dedent(
            f"""
            cache: {{namespace: {CACHE_NS}, name: myctl-image-cache, max_age: 10m}}
            scope: {{namespaces: [{ACK_NS}]}}
            slack:
              access:
                restart: {{users: [{USER}]}}
                orchestrate: {{users: [{USER}]}}
                rebuild: {{users: [{USER}]}}
            """
        )
    )
    return path


@dataclass
class Harness:
    plane: controlplane.ControlPlane
    emulator: SlackEmulator
    url: str
    ack_samples: list[float]  # the bot's own received → acked, in seconds (in-process bot only)
    bot: app_mod.Bot | None = None  # None: the bot is a `python -m bot` process

    @property
    def metrics_url(self) -> str:
        return self.url.replace("/slack/events", "/metrics")

    def metric(self, name: str) -> float:
        """One unlabelled sample from the bot's /metrics (works for both kinds of bot)."""
        text = requests.get(self.metrics_url, timeout=10).text
        found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"{name} is missing from /metrics")
        return float(found.group(1))

    def slash(self, text: str, channel: str = ACK_CHANNEL) -> DriverResponse:
        """One signed `/myctl text` on a fresh connection (as Slack would open one)."""
        with SlackDriver(self.url, SIGNING_SECRET, timeout=30) as driver:
            return driver.slash_command(
                text,
                user_id=USER,
                channel_id=channel,
                response_url=self.emulator.new_response_url(),
            )

    @property
    def depth(self) -> int:
        if self.bot is not None:
            return self.bot.services.runner.depth
        return int(self.metric("myctl_bot_job_queue_depth"))

    def wait_depth(self, at_most: int, timeout: float = RUN_DEADLINE) -> None:
        self.emulator.wait_for(lambda: self.depth <= at_most, timeout=timeout, interval=0.05)


@contextmanager
def harness(
    workers: int,
    queue: int,
    backlog: int | None,
    in_process_bot: bool,
    configure: Callable[[Path], Path] = write_config,
    bot_env: dict[str, str] | None = None,
) -> Iterator[Harness]:
    """Control plane + fake kubelet + emulator + the bot over HTTP; all stopped on exit.

    By default the bot is its own `python -m bot` process, as deployed: the emulator (which
    stands in for Slack, another machine) then does not share the bot's GIL. `in_process_bot`
    builds it in this process instead, which also records every ack the bot observes."""
    with ExitStack() as stack:
        plane = stack.enter_context(common.control_plane())
        kubelet = fake_kubelet.FakeKubelet(str(plane.kubeconfig)).start()
        stack.callback(kubelet.stop)
        emulator = stack.enter_context(SlackEmulator(bot_token=BOT_TOKEN))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="slack-bench-")))
        if not in_process_bot:
            if backlog is not None:
                raise SystemExit("--listen-backlog needs --in-process-bot")
            url = stack.enter_context(
                bot_process(plane, emulator, configure(tmp / "myctl.yaml"), workers, queue, bot_env)
            )
            yield Harness(plane, emulator, url, [])
            return
        config = config_mod.BotConfig(
            bot_token=BOT_TOKEN,
            signing_secret=SIGNING_SECRET,
            api_url=emulator.api_url,
            port=0,
            kubeconfig=str(plane.kubeconfig),
            myctl_config=str(configure(tmp / "myctl.yaml")),
            state_url=f"sqlite:///{tmp / 'state.db'}",
            job_workers=workers,
            job_queue=queue,
            instance_id="slack-bench",
        )

        def connect() -> port.Cluster:
            return kube_client.connect(str(plane.kubeconfig), None)

        bot = app_mod.build(config, connect=connect)
        stack.callback(bot.close)
        # Instrumentation only: keep each ack the bot observes (the same value its
        # myctl_bot_ack_seconds histogram gets), to compare with the client's view.
        samples: list[float] = []
        observe: Callable[[float], None] = bot.services.metrics.ack_observed

        def record(seconds: float) -> None:
            samples.append(seconds)
            observe(seconds)

        bot.services.metrics.ack_observed = record  # type: ignore[method-assign]
        server = http_server.HttpServer(bot, 0, host="127.0.0.1")
        if backlog is not None:
            # Diagnostic only (--listen-backlog): listen() again on the bot's bound socket
            # widens its accept queue (socketserver's default request_queue_size is 5).
            server._server.socket.listen(backlog)
        server.start()
        stack.callback(server.stop)
        url = f"http://127.0.0.1:{server.port}/slack/events"
        yield Harness(plane, emulator, url, samples, bot)


@contextmanager
def bot_process(
    plane: controlplane.ControlPlane,
    emulator: SlackEmulator,
    myctl_config: Path,
    workers: int,
    queue: int,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`python -m bot` in HTTP mode on a free port; yields its /slack/events URL."""
    tmp = myctl_config.parent
    port_number = processes.free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "PORT": str(port_number),
        "KUBECONFIG": str(plane.kubeconfig),
        "MYCTL_CONFIG": str(myctl_config),
        "MYCTL_STATE_URL": f"sqlite:///{tmp / 'state.db'}",
        "MYCTL_BOT_JOB_WORKERS": str(workers),
        "MYCTL_BOT_JOB_QUEUE": str(queue),
        "MYCTL_INSTANCE_ID": "slack-bench",
        "MYCTL_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    log = (tmp / "bot.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"], env=env, cwd=common.REPO_ROOT, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port_number}"
    try:
        deadline = time.monotonic() + 60
        while True:  # poll /healthz until the bot listens (or fail with its log)
            if proc.poll() is not None:
                raise RuntimeError(f"the bot exited: {(tmp / 'bot.log').read_text()}")
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the bot did not start listening within 60 s")
            time.sleep(0.1)
        yield f"{base}/slack/events"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def final_message(emulator: SlackEmulator, channel: str, timeout: float) -> Message:
    def done() -> Message | None:
        for message in emulator.messages_in(channel):
            if message.text.startswith(OUTCOMES):
                return message
        return None

    message = emulator.wait_for(done, timeout=timeout)
    assert message is not None  # wait_for returns only a truthy value
    return message


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (with 50 samples, p99 is the maximum)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --------------------------------------------------------------------------- part 1: ack


@dataclass(frozen=True)
class Round:
    client: list[float]  # seconds, request → HTTP 200, per command
    server: list[float]  # seconds, the bot's received → acked (in-process bot only)
    server_mean: float  # seconds, mean of the bot's own acks this round, from /metrics
    busy: int
    not_ok: int
    failed: Counter[str]  # connection errors, by exception name (no HTTP answer at all)
    long_in_progress: tuple[int, int]  # long runs still running before / after the round


def long_runs_in_progress(h: Harness) -> int:
    """Long-run messages posted and not final yet."""
    return sum(
        1
        for m in h.emulator.messages_in(LONG_CHANNEL)
        if not m.text.startswith(OUTCOMES) and not m.text.startswith(BUSY_PREFIX)
    )


def start_long_runs(h: Harness, count: int) -> list[str]:
    names = [f"stuck-{i:02d}" for i in range(count)]
    common.create_all(h.plane, [LONG_NS], [never_ready_deployment(LONG_NS, n) for n in names])
    for name in names:
        text = f"restart {LONG_NS}/deployment/{name} --wait --timeout {LONG_TIMEOUT}"
        answer = h.slash(text, channel=LONG_CHANNEL)
        assert answer.status_code == 200 and not answer.body.strip(), answer
    # In progress = the run's message is posted (the job has the cluster and is waiting).
    h.emulator.wait_for(lambda: long_runs_in_progress(h) == count, timeout=60)
    return names


def ack_commands(count: int) -> list[str]:
    out = []
    for i in range(count):
        if i % 2:
            image = f"registry.example.com/bench/ack:{i % 5}"
            out.append(f"--dry-run orchestrate --image {image} -n {ACK_NS}")
        else:
            out.append("check")
    return out


Outcome = tuple[float, int, str] | str  # (seconds, HTTP status, body), or an error's name


def _signed_request(url: str, text: str, response_url: str) -> bytes:
    """The bytes of one signed `/myctl` POST, as Slack sends it, built before the burst."""
    parts = urllib.parse.urlsplit(url)
    fields = slash_command_payload(
        text, user_id=USER, channel_id=ACK_CHANNEL, response_url=response_url
    )
    body = urllib.parse.urlencode(fields).encode()
    headers = {
        **signed_headers(SIGNING_SECRET, body.decode()),
        "Host": parts.netloc,
        "Content-Length": str(len(body)),
        "Connection": "close",
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {parts.path} HTTP/1.1\r\n{head}\r\n".encode() + body


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, str]:
    """Send, and read one HTTP/1.1 answer by its Content-Length."""
    sock.sendall(request)
    data = b""
    while True:
        chunk = sock.recv(1 << 16)
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            length = int(found.group(1)) if found else 0
            if len(rest) >= length or not chunk:
                return int(head.split(b" ", 2)[1]), rest[:length].decode("utf-8", "replace")
        if not chunk:
            raise ConnectionError("closed before an answer")


def burst(url: str, texts: Sequence[str], response_urls: Sequence[str]) -> list[Outcome]:
    """All `texts` as signed slash commands at once, one thread and connection each.

    The requests are signed and encoded, and the connections made, before the threads are
    released; each is then one `sendall` and a few `recv` on a plain socket, so the client's
    own Python per request is small and the figure is the server's. Timed from the send to the
    last byte of the answer. (With `requests` and a connect per request, the load generator's
    GIL spread a burst of 500 over a second; and 500 connects at once overflow any listen
    backlog of 128, adding the kernel's 1 s SYN retry to both apps alike.)
    """
    gate = threading.Barrier(len(texts))
    parts = urllib.parse.urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    requests_ = [_signed_request(url, t, r) for t, r in zip(texts, response_urls, strict=True)]

    def one(request: bytes) -> Outcome:
        try:
            sock = socket.create_connection(address, timeout=30)
        except OSError as exc:
            gate.abort()
            return type(exc).__name__
        with sock:
            gate.wait()  # all leave together
            started = time.perf_counter()
            try:
                status, body = _exchange(sock, request)
            except OSError as exc:
                # What Slack would see as a failed delivery ("dispatch_failed"), not an ack.
                return type(exc).__name__
            return time.perf_counter() - started, status, body

    with concurrent.futures.ThreadPoolExecutor(len(texts)) as pool:
        return list(pool.map(one, requests_))


def client_loop() -> int:
    """`--load-generator-child`: bursts on request, one JSON line in, one JSON line out.

    Slack is another machine: a load generator in the bot's own process would compete with the
    bot for the GIL and inflate every figure, so by default the 50 requests come from here.
    """
    for line in sys.stdin:
        job = json.loads(line)
        print(json.dumps(burst(job["url"], job["texts"], job["response_urls"])), flush=True)
    return 0


class LoadGenerator:
    """The burst, from a child process (default) or from threads of this process."""

    def __init__(self, in_process: bool) -> None:
        self.in_process = in_process
        self._child: subprocess.Popen[str] | None = None
        if not in_process:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bench.slack_ack", "--load-generator-child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=common.REPO_ROOT,
            )

    def burst(self, url: str, texts: Sequence[str], response_urls: Sequence[str]) -> list[Outcome]:
        if self._child is None:
            return burst(url, texts, response_urls)
        assert self._child.stdin is not None and self._child.stdout is not None
        job = {"url": url, "texts": list(texts), "response_urls": list(response_urls)}
        self._child.stdin.write(json.dumps(job) + "\n")
        self._child.stdin.flush()
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError("the load generator process died")
        return [o if isinstance(o, str) else (o[0], o[1], o[2]) for o in json.loads(line)]

    def close(self) -> None:
        if self._child is not None:
            assert self._child.stdin is not None
            self._child.stdin.close()
            self._child.wait(timeout=10)


def fire(h: Harness, load: LoadGenerator, texts: Sequence[str], long_runs: int) -> Round:
    before = long_runs_in_progress(h)
    first_sample = len(h.ack_samples)
    ack_sum, ack_count = (
        h.metric("myctl_bot_ack_seconds_sum"),
        h.metric("myctl_bot_ack_seconds_count"),
    )
    urls = [h.emulator.new_response_url() for _ in texts]
    outcomes = load.burst(h.url, texts, urls)
    answers = [o for o in outcomes if not isinstance(o, str)]
    failed = Counter(o for o in outcomes if isinstance(o, str))
    server = h.ack_samples[first_sample:]
    acked = h.metric("myctl_bot_ack_seconds_count") - ack_count
    server_mean = (h.metric("myctl_bot_ack_seconds_sum") - ack_sum) / acked if acked else math.nan
    # Let this round's jobs finish, so rounds do not pile up on the runner.
    h.wait_depth(long_runs)
    return Round(
        client=[seconds for seconds, status, _ in answers if status == 200],
        server=list(server),
        server_mean=server_mean,
        busy=sum(BUSY_PREFIX in body for _, _, body in answers),
        not_ok=sum(status != 200 for _, status, _ in answers),
        failed=failed,
        long_in_progress=(before, long_runs_in_progress(h)),
    )


def part_ack(
    h: Harness, load: LoadGenerator, rounds: int, commands: int, long_runs: int
) -> list[Round]:
    common.create_all(
        h.plane,
        [ACK_NS, CACHE_NS],
        [
            common.deployment(ACK_NS, f"ack-{i}", [("app", f"registry.example.com/bench/ack:{i}")])
            for i in range(5)
        ],
    )
    if h.bot is not None:
        h.bot.services.cluster.get()  # the kubernetes import and connect, before timing
    start_long_runs(h, long_runs)
    # Untimed warm-up: first use of every code path (parser, engine, client pools).
    for text in ack_commands(4):
        h.slash(text)
    h.wait_depth(long_runs)
    results = []
    for _ in range(rounds):
        if long_runs_in_progress(h) < long_runs:
            raise RuntimeError("the long runs ended before the rounds did; raise LONG_TIMEOUT")
        results.append(fire(h, load, ack_commands(commands), long_runs))
    return results


def _ms_or_dash(seconds: float) -> str:
    return "—" if math.isnan(seconds) else common.ms(seconds)


def no_answer(failed: Counter[str]) -> str:
    total = sum(failed.values())
    return f"{total} ({', '.join(f'{n} {k}' for k, n in failed.items())})" if total else "0"


def report_ack(results: Sequence[Round], commands: int, long_runs: int) -> None:
    rows: list[list[object]] = []
    for i, r in enumerate(results, 1):
        rows.append(
            [
                i,
                common.ms(statistics.median(r.client)),
                common.ms(percentile(r.client, 0.99)),
                common.ms(max(r.client)),
                _ms_or_dash(statistics.median(r.server) if r.server else math.nan),
                _ms_or_dash(max(r.server) if r.server else math.nan),
                _ms_or_dash(r.server_mean),
                f"{len(r.client)}/{commands}",
                r.busy,
                no_answer(r.failed),
                f"{r.long_in_progress[0]} → {r.long_in_progress[1]}",
            ]
        )
    client = [s for r in results for s in r.client]
    server = [s for r in results for s in r.server]
    p99 = percentile(client, 0.99)
    rows.append(
        [
            f"**all {len(results)}**",
            common.ms(statistics.median(client)),
            f"**{common.ms(p99)}**",
            common.ms(max(client)),
            _ms_or_dash(statistics.median(server) if server else math.nan),
            _ms_or_dash(max(server) if server else math.nan),
            _ms_or_dash(statistics.fmean(r.server_mean for r in results)),
            f"{len(client)}/{commands * len(results)}",
            sum(r.busy for r in results),
            no_answer(sum((r.failed for r in results), Counter())),
            "",
        ]
    )
    common.table(
        f"ack latency: {commands} concurrent signed slash commands, {long_runs} long runs "
        "in progress",
        [
            "round",
            "client p50",
            "client p99",
            "client max",
            "bot p50",
            "bot max",
            "bot mean (/metrics)",
            "HTTP 200",
            "busy",
            "no answer",
            "long runs in progress (before → after)",
        ],
        rows,
    )
    lost = sum(sum(r.failed.values()) for r in results)
    verdict = "met" if p99 <= ACK_TARGET and not lost else "MISSED"
    print(
        f"\nack p99 over all rounds: {common.ms(p99)} of the answered commands; "
        f"{lost} of {commands * len(results)} got no HTTP answer (target ≤ 100 ms): {verdict}"
    )


# --------------------------------------------------------------------------- part 2: calls


@dataclass(frozen=True)
class CallCount:
    targets: int
    by_method: Counter[str]
    outcome: str
    seconds: float
    files: int


def part_calls(h: Harness, sizes: Sequence[int]) -> list[CallCount]:
    out = []
    for n in sizes:
        ns = f"slack-api-{n}"
        image = f"registry.example.com/bench/img-{n}:1"
        objects = [common.deployment(ns, f"w-{i:03d}", [("app", image)]) for i in range(n)]
        common.create_all(h.plane, [ns], objects)
        h.wait_depth(0)
        channel = f"C_API_{n}"
        first_call = len(h.emulator.calls)
        files_before = len(h.emulator.files)
        t0 = time.perf_counter()
        text = f"--cache-namespace {ns} orchestrate --image {image} -n {ns} --max-targets 200"
        answer = h.slash(text, channel=channel)
        assert answer.status_code == 200 and not answer.body.strip(), answer
        message = final_message(h.emulator, channel, RUN_DEADLINE)
        h.wait_depth(0)  # the job is done: any attachment has been uploaded too
        elapsed = time.perf_counter() - t0
        calls = h.emulator.calls[first_call:]
        out.append(
            CallCount(
                targets=n,
                by_method=Counter(c.method for c in calls),
                outcome=message.text.splitlines()[0][:80],
                seconds=elapsed,
                files=len(h.emulator.files) - files_before,
            )
        )
    return out


def report_calls(results: Sequence[CallCount]) -> None:
    methods = sorted({m for r in results for m in r.by_method})
    rows: list[list[object]] = [
        [f"`{m}`", *(r.by_method.get(m, 0) for r in results)] for m in methods
    ]
    rows.append(["**total**", *(f"**{sum(r.by_method.values())}**" for r in results)])
    rows.append(["run wall (command → job done)", *(f"{r.seconds:.2f} s" for r in results)])
    rows.append(["files attached", *(r.files for r in results)])
    common.table(
        "Slack calls per `orchestrate`, by method",
        ["method", *(f"{r.targets} target{'s' if r.targets > 1 else ''}" for r in results)],
        rows,
    )
    print()
    for r in results:
        print(f"- {r.targets} targets: final message `{r.outcome}`")


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commands", type=int, default=50)
    parser.add_argument("--long-runs", type=int, default=10)
    parser.add_argument("--sizes", default="1,10,50,100", help="targets per orchestrate run")
    parser.add_argument(
        "--listen-backlog",
        type=int,
        default=None,
        help="diagnostic: widen the bot's accept queue to this (default: as the bot builds it)",
    )
    parser.add_argument(
        "--in-process-client",
        action="store_true",
        help="fire the burst from threads of the bot's process (default: a child process)",
    )
    parser.add_argument(
        "--in-process-bot",
        action="store_true",
        help="build the bot in this process, beside the emulator (default: `python -m bot`)",
    )
    parser.add_argument(
        "--spare-workers",
        type=int,
        default=2,
        help="job runner workers beyond the long runs (MYCTL_BOT_JOB_WORKERS = long runs + this)",
    )
    parser.add_argument("--load-generator-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_generator_child:
        return client_loop()
    sizes = [int(s) for s in args.sizes.split(",")]
    # Room for every long run plus a few workers, and a queue for every command of a round:
    # nothing is answered "busy". Fewer workers than commands is the point of a bounded
    # runner: jobs queue instead of all competing with the acks for the bot's one GIL.
    workers = args.long_runs + args.spare_workers
    queue = args.commands + 8
    print(f"machine: {common.machine()}", flush=True)
    print(f"job runner: {workers} workers, queue {queue}", flush=True)
    backlog = args.listen_backlog
    print(f"bot listen backlog: {backlog or 'as built by bot.transport.http'}", flush=True)
    where = "threads of the bot's process" if args.in_process_client else "a child process"
    print(f"load generator: {where}", flush=True)
    bot_where = "this process" if args.in_process_bot else "its own process (python -m bot)"
    print(f"bot: {bot_where}", flush=True)
    load = LoadGenerator(args.in_process_client)
    with harness(workers, queue, backlog, args.in_process_bot) as h:
        try:
            rounds = part_ack(h, load, args.rounds, args.commands, args.long_runs)
        finally:
            load.close()
        report_ack(rounds, args.commands, args.long_runs)
        # Part 2 on an idle bot: the long runs time out first (their own outcome is checked).
        h.wait_depth(0, timeout=RUN_DEADLINE)
        stuck = [m.text.splitlines()[0] for m in h.emulator.messages_in(LONG_CHANNEL)]
        print(f"\nlong runs ended: {Counter(t.split(' ', 1)[0] for t in stuck)}")
        counts = part_calls(h, sizes)
        report_calls(counts)
        violations = h.emulator.violations
        print(f"\nemulator violations (calls real Slack would refuse): {len(violations)}")
        for v in violations[:10]:
            print(f"- {v}")
    print(f"\nload average at the end: {common.machine().rsplit(' ', 1)[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
