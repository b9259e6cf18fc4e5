"""`myctl`: the terminal front door. The only place where errors become exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from commands.cli import parser, render
from commands.engine.context import Engine
from commands.invoke import dispatch, invocation
from commands.kube import port
from commands.values import clock, errors, events, settings

if TYPE_CHECKING:
    from commands.engine import rebuild
    from commands.state.store import StateStore
    from commands.state.trail import Trail

Connect = Callable[[invocation.GlobalOptions, settings.Settings], port.Cluster]


def connect_to_kubernetes(
    options: invocation.GlobalOptions, config: settings.Settings
) -> port.Cluster:
    from commands.kube import client  # lazy: the kubernetes package costs ~0.3 s to import

    # One pooled connection per parallel restart, so --concurrency is not throttled by the pool.
    return client.connect(
        options.kubeconfig,
        options.context,
        concurrency=config.restart.concurrency,
        request_timeout=config.kube.request_timeout,
    )


@dataclass
class Runtime:
    """What the terminal provides: environment, a cluster connection, a clock, the terminal.

    Tests pass an in-memory cluster and a fake clock here instead of patching anything."""

    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    connect: Connect = connect_to_kubernetes
    clock: clock.Clock = field(default_factory=clock.SystemClock)
    stdin_is_tty: Callable[[], bool] = lambda: sys.stdin.isatty()
    stderr_is_tty: Callable[[], bool] = lambda: sys.stderr.isatty()
    argv: tuple[str, ...] = ()  # as typed, for the audit trail

    def execute(self, inv: invocation.Invocation) -> int:
        audit = _Audit.open(self.environ, inv, self.argv)
        code, summary, details = self._execute(inv, audit.store)
        audit.finish(code, summary, details)
        return code

    def _execute(
        self, inv: invocation.Invocation, store: StateStore | None
    ) -> tuple[int, str, dict[str, Any] | None]:
        json_output = inv.options.output == "json"
        try:
            result = self._run(inv, store)
        except errors.MyctlError as exc:
            if json_output:
                payload = {"command": inv.command, "exit_code": exc.exit_code, "error": str(exc)}
                click.echo(json.dumps(payload))
            else:
                click.echo(f"error: {exc}", err=True)
            return exc.exit_code, str(exc), None
        if json_output:
            click.echo(json.dumps(result.to_json(), indent=2))
        else:
            for line in render.text_lines(result):
                click.echo(line)
        # The result's JSON is the run's audit record: `rollback` reads the digests back from it.
        return result.exit_code, result.summary(), result.to_json()

    def _run(self, inv: invocation.Invocation, store: StateStore | None) -> dispatch.Result:
        if inv.command == "completion":
            return dispatch.Message("completion", _completion_script(inv.shell))
        needs_answer = inv.command == "rebuild" and not inv.force and not inv.options.dry_run
        if needs_answer and not self.stdin_is_tty():
            # Never hang waiting for an answer nobody can give (CI, cron, pipes).
            raise errors.ConfirmationRequired(
                "rebuild replaces the image cache and needs confirmation: stdin is not a "
                "terminal, so pass --force (or use --dry-run to see the diff)"
            )

        def make_engine() -> Engine:
            settings = invocation.settings_for(inv, self.environ)
            return Engine(
                cluster=self.connect(inv.options, settings),
                settings=settings,
                clock=self.clock,
                report=self._reporter(inv.options),
                dry_run=inv.options.dry_run,
            )

        return dispatch.execute(inv, make_engine, _ask if not inv.force else _yes, history=store)

    def _reporter(self, options: invocation.GlobalOptions) -> events.Reporter:
        mode = options.progress
        if mode == "json":
            return render.JsonProgress(sys.stderr)
        if mode == "text":
            return render.LineProgress(sys.stderr)
        if mode == "auto" and options.output == "text" and self.stderr_is_tty():
            return render.BarProgress(sys.stderr)
        return events.discard


class _Audit:
    """Records CLI runs in the audit trail when a state store is configured (MYCTL_STATE_URL):
    a terminal user's restarts then show up in `/myctl history` beside Slack's. Best effort
    (commands/state/trail.py): the trail must not stop an operator in an incident."""

    def __init__(
        self, store: StateStore | None = None, trail: Trail | None = None, run_id: str | None = None
    ) -> None:
        self._store, self._trail, self._run_id = store, trail, run_id

    @property
    def store(self) -> StateStore | None:
        return self._store

    @classmethod
    def open(
        cls, environ: Mapping[str, str], inv: invocation.Invocation, argv: tuple[str, ...]
    ) -> _Audit:
        url = environ.get("MYCTL_STATE_URL")
        if not url or inv.command in ("version", "completion"):
            return cls()
        # lazy: SQLAlchemy is slow to import
        from commands.state import store as state_store
        from commands.state import trail

        try:
            store = state_store.StateStore(url)
        except errors.MyctlError as exc:
            _warn(f"audit trail unavailable: {exc}")
            return cls()
        recorder = trail.Trail(store, warn=lambda text: _warn(f"audit trail unavailable: {text}"))
        run_id = recorder.start(
            command=inv.command,
            argv=argv,
            user=environ.get("USER") or environ.get("LOGNAME") or "unknown",
            channel="terminal",
            source="cli",
            dry_run=inv.options.dry_run,
        )
        return cls(store, recorder, run_id)

    def finish(self, exit_code: int, summary: str, details: dict[str, Any] | None) -> None:
        if self._store is None or self._trail is None:
            return
        try:
            self._trail.finish(self._run_id, exit_code, summary, details)
        finally:
            self._store.close()


def _warn(text: str) -> None:
    click.echo(f"warning: {text}", err=True)


def _ask(plan: rebuild.Plan) -> bool:
    stats = plan.stats
    click.echo(
        f"The new cache has {stats.images} images over {stats.workloads} workloads "
        f"({stats.size_bytes} bytes{', gzip' if stats.compressed else ''}); changes:",
        err=True,
    )
    for line in plan.diff.lines()[:50] or ["  (none)"]:
        click.echo(f"  {line}", err=True)
    return click.confirm("Continue?", default=False, err=True)


def _yes(_plan: rebuild.Plan) -> bool:
    return True


def _completion_script(shell: str) -> str:
    from click.shell_completion import get_completion_class

    completion_class = get_completion_class(shell)
    if completion_class is None:  # click.Choice already restricts the shell
        raise errors.UsageError(f"unsupported shell {shell!r}")
    return completion_class(parser.cli, {}, "myctl", "_MYCTL_COMPLETE").source()


def main() -> None:
    parser.cli.main(prog_name="myctl", obj=Runtime(argv=tuple(sys.argv[1:])))


if __name__ == "__main__":
    main()
