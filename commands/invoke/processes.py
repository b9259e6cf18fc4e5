"""Engine processes: run invocations in worker processes (commands/invoke/worker.py), reused.

For a long-lived front door (the bot): its acks must not wait behind CPU-heavy steps that hold
the GIL (docs/benchmarks.md §D). Each caller thread borrows one worker for one invocation and
waits on its pipe, which holds no GIL; progress events, log records and the canary question
come back over that pipe and are handled on the caller's thread, as if the engine ran there.

Workers start from a fork server that has imported only the engine (not the parent's modules),
at a lower CPU priority, at most `size` of them; an idle one is reused, one that grew large
(a 100k rebuild) is retired after its run. A worker that dies mid-run is an `EngineLost`
error (exit 1): what it did before is in the progress events already relayed. Closing the pool
stops idle workers only; a running one ends with its run, or with this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from commands.invoke import dispatch, invocation, worker
from commands.values import errors, events, restarts, settings

log = logging.getLogger(__name__)

# A worker whose resident memory is above this after a run is retired: Python keeps the
# arenas a big document needed, and `size` such workers would hold them all.
RETIRE_RSS_BYTES = 256 << 20
# Seconds a closing pool gives each worker to exit after its pipe closed.
EXIT_GRACE = 2.0

# What the fork server imports once, so that a new worker starts with the engine and the
# Kubernetes client already in memory (shared with the server until written): a fork, not
# a second of imports, when a burst needs more workers.
PRELOAD = [
    "commands.invoke.worker",
    "commands.invoke.dispatch",
    "commands.engine.rebuild",
    "commands.engine.restart",
    "commands.engine.orchestrate",
    "commands.kube.client",
]

Gate = Callable[[tuple[restarts.TargetOutcome, ...]], bool]


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def rss(self) -> int:
        try:
            with open(f"/proc/{self.process.pid}/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def stop(self) -> None:
        self.conn.close()  # an idle worker exits on EOF
        self.process.join(EXIT_GRACE)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(EXIT_GRACE)


class EnginePool:
    def __init__(self, recipe: worker.Recipe, size: int) -> None:
        if size < 1:
            raise ValueError("an engine pool needs at least one worker")
        self._recipe = recipe
        self._size = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._running: set[int] = set()
        self._closed = False
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        self._context = context

    def warm(self) -> None:
        """Start one worker ahead of the first run (in the background: the start takes time)."""

        def start() -> None:
            with self._size:
                made = self._start()
                with self._lock:
                    if self._closed:
                        made.stop()
                    else:
                        self._idle.append(made)

        threading.Thread(target=start, name="myctl-engine-warm", daemon=True).start()

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker.serve,
            args=(theirs, self._recipe, os.getpid()),
            name="myctl-engine",
            daemon=True,
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _borrow(self) -> _Worker:
        self._size.acquire()
        with self._lock:
            if self._closed:
                self._size.release()
                raise errors.EngineLost("the engine processes are stopping")
            while self._idle:
                found = self._idle.pop()
                if found.process.is_alive():
                    return found
                found.conn.close()  # died while idle (killed, out of memory): reaped here
                found.process.join(0)
        try:
            made = self._start()
        except Exception:
            self._size.release()
            raise
        return made

    def _give_back(self, used: _Worker, *, healthy: bool) -> None:
        with self._lock:
            self._running.discard(used.process.pid or 0)
            keep = healthy and not self._closed and used.rss() <= RETIRE_RSS_BYTES
            if keep:
                self._idle.append(used)
        if not keep:
            used.stop()
        self._size.release()

    def running(self) -> tuple[int, ...]:
        """The process ids of the workers running an invocation now."""
        with self._lock:
            return tuple(self._running)

    def execute(
        self,
        inv: invocation.Invocation,
        config: settings.Settings,
        *,
        report: events.Reporter,
        gate: Gate,
    ) -> dispatch.Result:
        """Run `inv` in a worker, relaying its events to `report` and its canary question to
        `gate`; return its result or raise its error, as `dispatch.execute` would."""
        task = worker.Task(config, inv.options.dry_run, invocation=inv)
        result: dispatch.Result = self._exchange(task, report, gate)
        return result

    def call(self, function: str, config: settings.Settings, *args: Any) -> Any:
        """`function(engine, *args)` in a worker ("module:function" of a read-only engine
        step, e.g. commands.engine.plans:gather); its result or its error."""
        task = worker.Task(config, dry_run=True, call=function, args=args)
        return self._exchange(task, events.discard, _never_asked)

    def _exchange(self, task: worker.Task, report: events.Reporter, gate: Gate) -> Any:
        used = self._borrow()
        healthy = False
        with self._lock:
            self._running.add(used.process.pid or 0)
        try:
            used.conn.send(("run", task))
            outcome = _relay(used.conn, report, gate)
            healthy = True
        except (EOFError, OSError) as exc:
            used.process.join(EXIT_GRACE)
            raise errors.EngineLost(
                f"the engine process running {task.what} ended unexpectedly "
                f"(exit code {used.process.exitcode}); what it reported before is shown above"
            ) from exc
        finally:
            self._give_back(used, healthy=healthy)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def idle(self) -> tuple[int, ...]:
        """The process ids of the workers waiting for a run."""
        with self._lock:
            return tuple(each.process.pid or 0 for each in self._idle)

    def close(self) -> None:
        """Stop the idle workers; a running one finishes its run and stops when given back,
        as a job thread would (a process that exits takes it along: worker.ORPHAN_POLL)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for each in idle:
            each.stop()


def _never_asked(_canary: tuple[restarts.TargetOutcome, ...]) -> bool:
    return False


def _relay(conn: Connection, report: events.Reporter, gate: Gate) -> Any:
    while True:
        kind, payload = conn.recv()
        if kind == "event":
            _safely(report, payload)
        elif kind == "log":
            record = logging.makeLogRecord(payload)
            logger = logging.getLogger(record.name)
            if logger.isEnabledFor(record.levelno):
                logger.handle(record)
        elif kind == "gate?":
            conn.send(("gate", _ask(gate, payload)))
        elif kind in ("result", "error"):
            return payload


def _safely(report: events.Reporter, event: events.Event) -> None:
    try:
        report(event)
    except Exception as exc:
        # The run goes on: a progress message that cannot be shown is not a reason to stop it.
        log.warning("could not report progress: %s", type(exc).__name__)


def _ask(gate: Gate, canary: tuple[restarts.TargetOutcome, ...]) -> bool | BaseException:
    """The gate's answer, or the error it raised (raised again in the worker, as here)."""
    try:
        return bool(gate(canary))
    except Exception as exc:
        return worker.sendable(exc)
