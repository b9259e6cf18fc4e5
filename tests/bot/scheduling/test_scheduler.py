"""The APScheduler path with its real SQLite job store and the Slack emulator (no cluster).

Misfires are driven with explicit run times in the stored job, not by waiting for a cron tick.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot import metrics
from bot.runs import delivery, engines
from bot.scheduling import leader, registry, scheduler
from commands.kube import memory
from commands.state import store as state_store
from commands.values import clock, errors, settings, workloads
from commands.values import config as config_mod
from tests.support import polling
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_plugin import BOT_TOKEN

REPO = Path(__file__).resolve().parents[3]
MORNING = settings.Schedule(
    "morning", "0 9 * * *", "Europe/Berlin", "C_OPS", ("rollouts", "activity")
)


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def make(
    state_url: str, slack_emulator: SlackEmulator
) -> Iterator[Callable[..., scheduler.Schedules]]:
    made: list[scheduler.Schedules] = []
    cluster = memory.MemoryCluster()
    cluster.add(workloads.Kind.DEPLOYMENT, "web", "front")
    store = state_store.StateStore(state_url)
    config = settings.Settings(schedules=(MORNING,))

    def factory(grace: float = 300.0) -> scheduler.Schedules:
        made.append(
            scheduler.Schedules(
                config,
                delivery.Slack(
                    WebClient(token=BOT_TOKEN, base_url=slack_emulator.api_url), metrics.Metrics()
                ),
                engines.Engines(lambda: cluster, clock.SystemClock()).report_sections(config),
                state_url=state_url,
                store=store,
                options=scheduler.Options(misfire_grace_seconds=grace),
            )
        )
        return made[-1]

    yield factory
    for schedules in made:
        schedules.stop()
    store.close()


def _down_across_a_tick(make: Callable[..., scheduler.Schedules], missed_by: float) -> None:
    """A previous run of the bot stored the job; its 09:00 tick came while nobody ran."""
    before = make()
    before.start_scheduler()
    assert before.scheduler is not None
    before.scheduler.pause()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=missed_by)
    before.scheduler.modify_job("morning", next_run_time=past)
    before.stop_scheduler()


def test_tick_missed_within_the_grace_time_posts_once_on_start(
    make: Callable[..., scheduler.Schedules], slack_emulator: SlackEmulator
) -> None:
    _down_across_a_tick(make, missed_by=60)
    after = make(grace=300)
    after.start_scheduler()
    slack_emulator.wait_for(lambda: slack_emulator.messages_in("C_OPS"))
    polling.wait_until(lambda: after.executed, timeout=10.0, interval=0.02)
    job = after.scheduler.get_job("morning") if after.scheduler else None
    assert job is not None and job.next_run_time > dt.datetime.now(dt.UTC)  # back on the cron
    assert len(slack_emulator.messages_in("C_OPS")) == 1
    assert not after.missed
    assert slack_emulator.violations == []


def test_tick_missed_beyond_the_grace_time_posts_nothing(
    make: Callable[..., scheduler.Schedules], slack_emulator: SlackEmulator
) -> None:
    _down_across_a_tick(make, missed_by=600)
    after = make(grace=300)
    after.start_scheduler()
    polling.wait_until(lambda: after.missed, timeout=10.0, interval=0.02)
    assert [name for name, _ in after.missed] == ["morning"]
    assert slack_emulator.calls_to("chat.postMessage") == []


def test_restart_keeps_the_stored_next_run_time_of_an_unchanged_schedule(
    make: Callable[..., scheduler.Schedules],
) -> None:
    first = make()
    first.start_scheduler()
    assert first.scheduler is not None
    first.scheduler.pause()
    pending = dt.datetime(2030, 1, 1, 8, 0, tzinfo=dt.UTC)
    first.scheduler.modify_job("morning", next_run_time=pending)
    first.stop_scheduler()
    second = make()
    second.start_scheduler()
    (info,) = second.list_schedules()
    assert info.next_run == pending


def test_list_schedules_without_leading_computes_the_next_tick(
    make: Callable[..., scheduler.Schedules],
) -> None:
    (info,) = make().list_schedules()
    assert info.name == "morning" and info.channel == "C_OPS"
    assert info.next_run is not None
    assert info.next_run.astimezone(dt.UTC).hour in (7, 8)  # 09:00 Berlin
    assert info.next_run > dt.datetime.now(dt.UTC)


def test_report_now_posts_to_the_caller_and_is_recorded(
    make: Callable[..., scheduler.Schedules], slack_emulator: SlackEmulator, state_url: str
) -> None:
    posted = make().post_report_now("morning", "U_CALLER", user="U_CALLER")
    assert posted.channel.startswith("D")  # a DM with the caller
    (message,) = slack_emulator.messages_in(posted.channel)
    assert message.blocks[0]["text"]["text"].startswith(":large_green_circle:")
    with state_store.StateStore(state_url) as store:
        (run,) = [r for r in store.latest_runs(10) if r.command == "report"]
    assert (run.source, run.exit_code, run.argv, run.user) == (
        "schedule",
        0,
        ("morning",),
        "U_CALLER",
    )


def test_unknown_schedule_name_is_a_usage_error(make: Callable[..., scheduler.Schedules]) -> None:
    with pytest.raises(errors.UsageError, match=r"unknown schedule 'evening'.*known: morning"):
        make().post_report_now("evening", "C1")


@pytest.mark.parametrize(
    ("cron", "zone", "message"),
    [
        ("61 9 * * *", "UTC", r"schedules\[bad\]\.cron: invalid cron '61 9 \* \* \*'"),
        ("0 9 * * mon-xx", "UTC", r"schedules\[bad\]\.cron: invalid cron"),
        (
            "0 9 * * *",
            "Mars/Olympus",
            r"schedules\[bad\]\.timezone: unknown time zone 'Mars/Olympus'",
        ),
    ],
)
def test_bad_schedule_is_refused_before_anything_starts(
    cron: str, zone: str, message: str, state_url: str
) -> None:
    document = {
        "schedules": [
            {"name": "morning", "cron": "0 9 * * 1-5", "timezone": "UTC", "channel": "C1"},
            {"name": "bad", "cron": cron, "timezone": zone, "channel": "C1"},
        ]
    }
    slack = delivery.Slack(
        WebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/"), metrics.Metrics()
    )
    with (
        state_store.StateStore(state_url) as store,
        pytest.raises(errors.ConfigError, match=message) as caught,
    ):
        # Time zones are checked once, when the configuration is read; crons when triggers are
        # built. A kubeconfig that does not exist: reaching the cluster would raise.
        schedules = scheduler.Schedules(
            config_mod.parse(document),
            slack,
            engines.Engines(memory.MemoryCluster, clock.SystemClock()).report_sections(
                settings.Settings()
            ),
            state_url=state_url,
            store=store,
        )
        leader.campaign(schedules, kubeconfig="/nonexistent/kubeconfig")
    assert caught.value.exit_code == 2
    assert registry.active() is None


def test_process_with_bad_schedule_exits_2_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "myctl.yaml"
    config.write_text(
        "schedules:\n  - {name: nightly, cron: '0 25 * * *', timezone: UTC, channel: C1}\n"
    )
    env = {
        "MYCTL_CONFIG": str(config),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "unused",
        "PATH": "/usr/bin:/bin",
        "KUBECONFIG": str(tmp_path / "missing"),
        "MYCTL_STATE_URL": f"sqlite:///{tmp_path}/s.db",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "schedules[nightly].cron: invalid cron '0 25 * * *'" in done.stderr
