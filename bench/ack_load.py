"""Slack acks under load: 500 concurrent signed commands while 10 long runs (one a rebuild of
10k workloads) are in progress, beside a bare bolt app under the same burst.
Targets (docs/benchmarks.md): no ack over 3 s; the bot's p99 ≤ 2× the bare bolt app's p99.

    .venv/bin/python -m bench.ack_load [--commands 500] [--long-runs 10] [--workloads 10000]
                                       [--rounds 3]

Everything is local, as in bench/slack_ack.py (whose harness this uses): the control plane
with the fake kubelet, the Slack emulator, the bot as its own `python -m bot` process over HTTP,
and the burst from a load-generator process (one thread and connection per command, released
together). The bare app (bench/bare_bolt.py) is one more process, served the same way.

Long runs: `--long-runs - 1` restarts with `--wait` of Deployments whose pods never become
Ready (each holds a job worker), and, started afresh every round just before the bot's burst,
`/myctl rebuild` of the scope: `--workloads` paused Deployments (paused and replicas 0: no
ReplicaSets, no pods) plus the burst's own 5. A round: the bare app's burst, then the rebuild
(until its progress message is posted), then the bot's burst; then wait for every job of the
round. The burst is half `/myctl check`, half `/myctl --dry-run orchestrate` (real work on the
job runner, which reads the 10k cache), so the bot acks while its own jobs run as well.
Timed per command: request → HTTP 200 at the client, connect included.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import common, slack_ack
from tests.support import processes

BIG_NS = "slack-big"
STUCK_NS = "slack-long"
REBUILD_CHANNEL = "C_REBUILD"
ACK_LIMIT = 3.0  # seconds: Slack shows the user an error after 3 s without an ack
STUCK_TIMEOUT = "30m"  # the stuck restarts outlive every round; the bot is stopped after


def configure(path: Path) -> Path:
    """slack_ack's access rules, a scope over the big namespace, and no approval for rebuild
    (the rebuild is one of the long runs, not a request waiting for a click)."""
    path.write_text(
        textwrap.dedent(
            f"""
            cache: {{namespace: {slack_ack.CACHE_NS}, name: myctl-image-cache, max_age: 1h}}
            scope: {{namespaces: [{slack_ack.ACK_NS}, {BIG_NS}]}}
            slack:
              access:
                restart: {{users: [{slack_ack.USER}]}}
                orchestrate: {{users: [{slack_ack.USER}]}}
                rebuild: {{users: [{slack_ack.USER}]}}
              approvals: {{commands: []}}
            """
        )
    )
    return path


def big_deployment(index: int) -> dict[str, object]:
    image = f"registry.example.com/bench/big-{index % 500}:{index % 7}"
    obj = common.deployment(BIG_NS, f"big-{index:05d}", [("app", image)])
    obj["spec"]["paused"] = True  # the deployment controller creates no ReplicaSet for it
    return obj


@contextlib.contextmanager
def bare_app(api_url: str) -> Iterator[str]:
    port = processes.free_port()
    argv = [sys.executable, "-m", "bench.bare_bolt", str(port), api_url]
    proc = subprocess.Popen(argv, cwd=common.REPO_ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the bare bolt app exited")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(base, timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the bare bolt app did not listen within 60 s")
            time.sleep(0.1)
        yield f"{base}/slack/events"
    finally:
        proc.terminate()
        proc.wait(10)


@dataclass(frozen=True)
class Burst:
    seconds: list[float]  # request → HTTP 200
    failed: int  # no HTTP answer, or not 200
    busy: int

    @classmethod
    def of(cls, outcomes: Sequence[slack_ack.Outcome]) -> Burst:
        answers = [o for o in outcomes if not isinstance(o, str)]
        ok = [seconds for seconds, status, _ in answers if status == 200]
        busy = sum(slack_ack.BUSY_PREFIX in body for _, _, body in answers)
        return cls(ok, len(outcomes) - len(ok), busy)

    @property
    def over(self) -> int:
        return self.failed + sum(s > ACK_LIMIT for s in self.seconds)


def rebuild_running(h: slack_ack.Harness) -> bool:
    latest = h.emulator.messages_in(REBUILD_CHANNEL)[-1:]
    return bool(latest) and not latest[0].text.startswith(slack_ack.OUTCOMES)


def start_rebuild(h: slack_ack.Harness) -> None:
    count = len(h.emulator.messages_in(REBUILD_CHANNEL))
    answer = h.slash("rebuild", channel=REBUILD_CHANNEL)
    assert answer.status_code == 200, answer
    h.emulator.wait_for(
        lambda: len(h.emulator.messages_in(REBUILD_CHANNEL)) > count, timeout=60, interval=0.01
    )


def rebuild_outcome(h: slack_ack.Harness) -> str:
    message = slack_ack.final_message(h.emulator, REBUILD_CHANNEL, slack_ack.RUN_DEADLINE)
    return message.text.splitlines()[0][:80]


def setup(h: slack_ack.Harness, workloads: int, stuck: int) -> None:
    small = [
        common.deployment(
            slack_ack.ACK_NS, f"ack-{i}", [("app", f"registry.example.com/bench/ack:{i}")]
        )
        for i in range(5)
    ]
    common.create_all(h.plane, [slack_ack.ACK_NS, slack_ack.CACHE_NS], small)
    seconds = common.create_all(h.plane, [BIG_NS], [big_deployment(i) for i in range(workloads)])
    print(f"created {workloads} paused Deployments in {seconds:.1f} s", file=sys.stderr)
    start_rebuild(h)  # the cache every burst command reads; untimed
    outcome = rebuild_outcome(h)
    assert outcome.startswith(":white_check_mark:"), outcome
    names = [f"stuck-{i:02d}" for i in range(stuck)]
    never = [slack_ack.never_ready_deployment(STUCK_NS, n) for n in names]
    common.create_all(h.plane, [STUCK_NS], never)
    for name in names:
        text = f"restart {STUCK_NS}/deployment/{name} --wait --timeout {STUCK_TIMEOUT}"
        answer = h.slash(text, channel=slack_ack.LONG_CHANNEL)
        assert answer.status_code == 200, answer
    h.emulator.wait_for(lambda: slack_ack.long_runs_in_progress(h) == stuck, timeout=120)
    for text in slack_ack.ack_commands(4):  # untimed warm-up of every code path
        h.slash(text)
    h.wait_depth(stuck)


def one_round(
    h: slack_ack.Harness, load: slack_ack.LoadGenerator, bare_url: str, commands: int, stuck: int
) -> tuple[Burst, Burst, tuple[int, int], str]:
    texts = slack_ack.ack_commands(commands)
    bare = Burst.of(load.burst(bare_url, texts, [h.emulator.new_response_url() for _ in texts]))
    start_rebuild(h)
    before = slack_ack.long_runs_in_progress(h) + rebuild_running(h)
    urls = [h.emulator.new_response_url() for _ in texts]
    total, count = h.metric("myctl_bot_ack_seconds_sum"), h.metric("myctl_bot_ack_seconds_count")
    bot = Burst.of(load.burst(h.url, texts, urls))
    own = (h.metric("myctl_bot_ack_seconds_sum") - total) / max(
        h.metric("myctl_bot_ack_seconds_count") - count, 1
    )
    print(f"round: the bot's own ack (received → listener done), mean {common.ms(own)}")
    after = slack_ack.long_runs_in_progress(h) + rebuild_running(h)
    outcome = rebuild_outcome(h)
    h.wait_depth(stuck)
    return bare, bot, (before, after), outcome


def p(samples: Sequence[float], q: float) -> str:
    return common.ms(slack_ack.percentile(samples, q)) if samples else "—"


def report(rounds: Sequence[tuple[Burst, Burst, tuple[int, int], str]], commands: int) -> None:
    rows: list[list[object]] = []

    def row(label: object, bare: Burst, bot: Burst, during: str, outcome: str) -> list[object]:
        ratio = slack_ack.percentile(bot.seconds, 0.99) / slack_ack.percentile(bare.seconds, 0.99)
        return [
            label,
            p(bare.seconds, 0.5),
            p(bare.seconds, 0.99),
            p(bot.seconds, 0.5),
            p(bot.seconds, 0.99),
            common.ms(max(bot.seconds)),
            f"**{ratio:.2f}×**",
            f"{bot.over} / {bare.over}",
            bot.busy,
            during,
            outcome,
        ]

    for i, (bare, bot, (before, after), outcome) in enumerate(rounds, 1):
        rows.append(row(i, bare, bot, f"{before} → {after}", outcome))
    pooled_bare = Burst(
        [s for r in rounds for s in r[0].seconds], sum(r[0].failed for r in rounds), 0
    )
    pooled_bot = Burst(
        [s for r in rounds for s in r[1].seconds],
        sum(r[1].failed for r in rounds),
        sum(r[1].busy for r in rounds),
    )
    rows.append(row(f"**all {len(rounds)}**", pooled_bare, pooled_bot, "", ""))
    header = [
        "round",
        "bare p50",
        "bare p99",
        "bot p50",
        "bot p99",
        "bot max",
        "p99 bot / bare",
        f"over {ACK_LIMIT:.0f} s or unanswered (bot / bare)",
        "busy",
        "long runs in progress (before → after the bot's burst)",
        "the round's rebuild",
    ]
    common.table(f"ack of {commands} concurrent commands, bot vs bare bolt app", header, rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=500)
    parser.add_argument("--long-runs", type=int, default=10, help="stuck restarts + 1 rebuild")
    parser.add_argument("--workloads", type=int, default=10_000, help="what the rebuild scans")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spare-workers", type=int, default=2)
    parser.add_argument(
        "--bot-env", action="append", default=[], help="KEY=VALUE for the bot process (diagnostic)"
    )
    args = parser.parse_args(argv)
    stuck = args.long_runs - 1
    print(f"machine: {common.machine()}", flush=True)
    load = slack_ack.LoadGenerator(in_process=False)
    workers = args.long_runs + args.spare_workers
    try:
        with (
            slack_ack.harness(
                workers,
                args.commands + 20,
                None,
                False,
                configure,
                dict(kv.split("=", 1) for kv in args.bot_env),
            ) as h,
            bare_app(h.emulator.api_url) as bare_url,
        ):
            setup(h, args.workloads, stuck)
            rounds = [
                one_round(h, load, bare_url, args.commands, stuck) for _ in range(args.rounds)
            ]
            report(rounds, args.commands)
    finally:
        load.close()
    print(f"finished: {common.machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
