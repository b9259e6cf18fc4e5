"""An engine process: runs one invocation at a time for the process that started it.

Why a process (docs/benchmarks.md §D): a 10k-workload rebuild or a large cache decode holds the
GIL for whole seconds, and in the bot that is the GIL its listener needs to ack Slack within
3 s. Here that work runs at a lower CPU priority, beside the listener instead of inside it.

Everything it says goes over one pipe, as (kind, payload) pairs (commands/invoke/processes.py is
the other end): `event` (a progress event), `log` (a log record, handled by the parent's own
logging so its run fields, format and secret masking apply), `gate?` (the canary question,
answered by a `gate` message), then `result` or `error`. It ends when the pipe closes or the
process that started it is gone.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from commands.values import errors, events, restarts, settings

log = logging.getLogger(__name__)

# Where the functions a Task may `call` live: the engine's read-only steps.
ENGINE_PACKAGE = "commands.engine."
# How often the orphan check runs: how long a worker may outlive a killed parent.
ORPHAN_POLL = 1.0


@dataclass(frozen=True)
class Recipe:
    """How a worker connects to the cluster: the parent's own kubeconfig and context."""

    kubeconfig: str | None
    context: str | None
    nice: int = 0  # added to the worker's niceness: its CPU yields to the parent's
    log_level: int = logging.INFO  # the parent's: records below it are not even sent
    kube: settings.KubeSettings = field(default_factory=settings.KubeSettings)  # timeouts


@dataclass(frozen=True)
class Task:
    """One piece of work: an `Invocation` to dispatch (pickled as it is: plain values), or a
    read-only engine function `call`ed as "module:function" with the engine and `args`."""

    settings: settings.Settings
    dry_run: bool
    invocation: Any = None
    call: str = ""
    args: tuple[Any, ...] = ()

    @property
    def what(self) -> str:
        return self.call or str(self.invocation.command)


class _Pipe:
    """The worker's end; the engine's threads report through it, so sends take a lock."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, kind: str, payload: Any) -> None:
        with self._lock:
            self._conn.send((kind, payload))

    def ask(self, kind: str, payload: Any) -> Any:
        # The answer may take minutes (a canary waits for a click): only the send is locked,
        # so other threads' events and log lines are not held behind it. Only the thread
        # running the task ever reads.
        self.send(kind, payload)
        return self._conn.recv()[1]

    def recv(self) -> Any:
        return self._conn.recv()


class _Forward(logging.Handler):
    """Sends each record, already rendered, to the parent."""

    def __init__(self, pipe: _Pipe) -> None:
        super().__init__()
        self._pipe = pipe

    def emit(self, record: logging.LogRecord) -> None:
        fields = {
            "name": record.name,
            "levelno": record.levelno,
            "levelname": record.levelname,
            "msg": record.getMessage(),
            "exc_text": self.formatter_exc(record),
            "created": record.created,
        }
        with contextlib.suppress(OSError, ValueError):  # the parent is gone: nobody to tell
            self._pipe.send("log", fields)

    @staticmethod
    def formatter_exc(record: logging.LogRecord) -> str | None:
        if record.exc_info:
            return logging.Formatter().formatException(record.exc_info)
        return record.exc_text


def _exit_when_orphaned(parent: int) -> None:
    """A worker must not run on (a restart half-done, unreported) once its parent is killed."""

    def watch() -> None:
        while True:
            time.sleep(ORPHAN_POLL)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # a new process took the pid: ours is gone
                os._exit(1)

    threading.Thread(target=watch, name="myctl-orphan-check", daemon=True).start()


def sendable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling as what it is; else a MyctlError with its text."""
    try:
        back = pickle.loads(pickle.dumps(exc))
        if type(back) is type(exc) and str(back) == str(exc):
            return exc
    except Exception:
        pass
    if isinstance(exc, errors.MyctlError):
        plain = errors.MyctlError(str(exc))
        plain.exit_code = exc.exit_code
        return plain
    return RuntimeError(f"{type(exc).__name__}: {exc}")


def serve(conn: Connection, recipe: Recipe, parent: int) -> None:
    """The worker's main loop (the target of the process the pool starts)."""
    if recipe.nice:
        with contextlib.suppress(OSError):
            os.nice(recipe.nice)
    _exit_when_orphaned(parent)
    pipe = _Pipe(conn)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(_Forward(pipe))
    root.setLevel(recipe.log_level)
    cluster_of: Callable[[], Any] = _connector(recipe)
    while True:
        try:
            message = pipe.recv()
        except (EOFError, OSError):
            return  # the pool closed: nothing more to run
        if message[0] == "run":
            _run(pipe, message[1], cluster_of)


def _connector(recipe: Recipe) -> Callable[[], Any]:
    made: list[Any] = []

    def cluster() -> Any:
        # Connected on first use and kept: one client, one connection pool, for every run.
        if not made:
            from commands.kube import client

            timeout = recipe.kube.request_timeout
            made.append(client.connect(recipe.kubeconfig, recipe.context, request_timeout=timeout))
            log.debug("engine process %d connected to the cluster", os.getpid())
        return made[0]

    return cluster


def _run(pipe: _Pipe, task: Task, cluster_of: Callable[[], Any]) -> None:
    from commands.engine.context import Engine
    from commands.invoke import dispatch

    def report(event: events.Event) -> None:
        pipe.send("event", event)

    def gate(canary: tuple[restarts.TargetOutcome, ...]) -> bool:
        answer = pipe.ask("gate?", canary)
        if isinstance(answer, BaseException):
            raise answer  # the gate's own error, as the engine would see it in one process
        return bool(answer)

    def engine() -> Engine:
        return Engine(
            cluster=cluster_of(),
            settings=task.settings,
            report=report,
            dry_run=task.dry_run,
            continue_after_canary=gate,
        )

    try:
        if task.call:
            result = _function(task.call)(engine(), *task.args)
        else:
            result = dispatch.execute(task.invocation, engine, dispatch.already_approved)
    except Exception as exc:
        if not isinstance(exc, errors.MyctlError):
            log.error("engine process: %s crashed", task.what, exc_info=exc)
        pipe.send("error", sendable(exc))
        return
    try:
        pipe.send("result", result)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        log.error("engine process: the result of %s cannot be sent", task.what)
        pipe.send("error", sendable(exc))


def _function(call: str) -> Callable[..., Any]:
    module, _, name = call.partition(":")
    if not module.startswith(ENGINE_PACKAGE):
        raise ValueError(f"not an engine function: {call!r}")
    found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return found
