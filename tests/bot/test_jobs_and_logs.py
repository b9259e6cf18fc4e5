"""The job runner while draining (jobs it holds finish, nothing new is taken) and the two log
formats: text by default, JSON lines with the run's context, never a credential."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading
from collections.abc import Iterator

import pytest

from bot import config as config_mod
from bot import jobs, logs
from commands.values import errors


def test_a_draining_runner_lets_its_jobs_finish_and_refuses_new_ones() -> None:
    runner = jobs.JobRunner(workers=2, queue=2)
    refused: list[str] = []
    runner.rejected = refused.append
    release = threading.Event()
    done: list[str] = []

    def job() -> None:
        release.wait(10)
        done.append("finished")

    assert runner.try_submit(job) is not None
    runner.drain()

    assert runner.try_submit(job) is None
    assert not runner.has_room() and runner.draining
    assert not runner.wait_idle(0.05)  # still running: the grace period is not over
    release.set()
    assert runner.wait_idle(10)
    assert done == ["finished"] and refused == ["draining"] and runner.depth == 0
    runner.shutdown()


def test_a_job_starts_once_the_requests_being_answered_are_and_never_waits_for_ever() -> None:
    runner = jobs.JobRunner(workers=1, queue=1)
    started = threading.Event()
    try:
        with runner.answering:
            assert runner.try_submit(started.set) is not None
            assert not started.wait(0.3)  # acks first: the job waits while a request is answered
        assert started.wait(5)  # ...and starts once it was

        runner.max_defer = 0.2
        later = threading.Event()
        with runner.answering:  # a request that never ends (sustained traffic)
            assert runner.try_submit(later.set) is not None
            assert later.wait(5)  # deferred at most max_defer, never starved
    finally:
        runner.shutdown()


def test_log_format_is_text_by_default_and_anything_else_is_a_configuration_error() -> None:
    assert config_mod.log_format({}) == "text"
    assert config_mod.log_format({"MYCTL_LOG_FORMAT": "JSON"}) == "json"
    with pytest.raises(errors.ConfigError, match="MYCTL_LOG_FORMAT"):
        config_mod.log_format({"MYCTL_LOG_FORMAT": "xml"})


@pytest.fixture
def stderr() -> Iterator[io.StringIO]:
    captured = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield captured
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def test_json_lines_carry_the_run_context_and_mask_credentials(stderr: io.StringIO) -> None:
    logs.configure("json", secrets=["signing-secret-value-123"], stream=stderr)
    log = logging.getLogger("bot.test")

    def in_a_run() -> None:
        logs.bind_run(run_id="r-1", command="restart", user="U1", channel="C1")
        log.info("token %s and %s", "xoxb-123-abc", "signing-secret-value-123")
        logs.bind_outcome(3)
        log.warning("done")

    thread = threading.Thread(target=in_a_run)
    thread.start()
    thread.join(10)
    contextvars.Context().run(log.info, "outside any run")  # as a fresh job's context is

    first, second, third = (json.loads(line) for line in stderr.getvalue().splitlines())
    assert first["message"] == "token [redacted] and [redacted]"
    assert (first["run_id"], first["command"], first["user"], first["channel"]) == (
        "r-1", "restart", "U1", "C1",
    )  # fmt: skip
    assert "outcome" not in first and second["outcome"] == 3 and second["level"] == "WARNING"
    assert third["logger"] == "bot.test" and "run_id" not in third
    assert first["time"].endswith("Z")


def test_text_stays_the_default_format(stderr: io.StringIO) -> None:
    logs.configure("text", stream=stderr)
    logging.getLogger("bot.test").info("hello")

    line = stderr.getvalue().strip()
    assert line.endswith("INFO bot.test: hello") and not line.startswith("{")
