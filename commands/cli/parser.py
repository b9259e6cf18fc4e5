"""The one argument parser, shared by the terminal and by `/myctl` in Slack.

Each subcommand returns an `Invocation` instead of acting; the group's result callback hands it
to the runtime in `main` when there is one (the terminal), or returns it (Slack parses only).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import click

from commands.cli import restart_flags
from commands.invoke import invocation
from commands.values import errors, images, requests

F = TypeVar("F", bound=Callable[..., Any])


def _image_refs(values: Sequence[str]) -> tuple[images.ImageRef, ...]:
    try:
        return tuple(dict.fromkeys(images.parse(value) for value in values))
    except errors.UsageError as exc:
        raise click.BadParameter(str(exc)) from exc


# Global flags, accepted before or after the subcommand (as cobra's persistent flags are):
# (parameter name, click option declarations, help, the default when given nowhere).
_GLOBALS: tuple[tuple[str, tuple[str, ...], dict[str, Any], Any], ...] = (
    (
        "dry_run",
        ("--dry-run",),
        {
            "is_flag": True,
            "default": None,
            "help": "Change nothing anywhere; show what would happen.",
        },
        False,
    ),
    (
        "output",
        ("--output", "-o"),
        {"type": click.Choice(["text", "json"]), "help": "Result format: text (default) or json."},
        "text",
    ),
    (
        "progress",
        ("--progress",),
        {
            "type": click.Choice(["auto", "text", "json", "none"]),
            "help": "Progress on stderr: auto (default) = a bar on a terminal, nothing otherwise.",
        },
        "auto",
    ),
    (
        "kubeconfig",
        ("--kubeconfig",),
        {"metavar": "PATH", "help": "Kubeconfig file (default: $KUBECONFIG)."},
        None,
    ),
    ("context", ("--context",), {"metavar": "NAME", "help": "Kubeconfig context."}, None),
    (
        "config",
        ("--config",),
        {"metavar": "PATH", "help": "myctl configuration file ($MYCTL_CONFIG)."},
        None,
    ),
    (
        "cache_namespace",
        ("--cache-namespace",),
        {"metavar": "NS", "help": "Namespace of the image cache ConfigMap."},
        None,
    ),
    (
        "cache_name",
        ("--cache-name",),
        {"metavar": "NAME", "help": "Name of the image cache ConfigMap."},
        None,
    ),
)


def global_options(func: F) -> F:
    for name, declarations, attrs, _default in reversed(_GLOBALS):
        func = click.option(*declarations, name, **attrs)(func)
    return func


def _global_values(ctx: click.Context) -> dict[str, Any]:
    """Each global flag from wherever it was given; the same flag given before and after the
    subcommand with different values is a usage error that names it."""
    root = ctx.find_root().params
    values: dict[str, Any] = {}
    for name, declarations, _attrs, default in _GLOBALS:
        before, after = root.get(name), ctx.params.get(name)
        if before is not None and after is not None and before != after:
            raise click.UsageError(
                f"{declarations[0]} given twice with different values ({before!r} and {after!r})"
            )
        chosen = after if after is not None else before
        values[name] = default if chosen is None else chosen
    return values


def scope_options(func: F) -> F:
    func = click.option(
        "--selector", "-l", default=None, help="Label selector that limits the scope."
    )(func)
    func = click.option(
        "--all-namespaces", "-A", is_flag=True, help="Scope: every namespace (minus excluded)."
    )(func)
    func = click.option(
        "--namespace",
        "-n",
        "namespaces",
        multiple=True,
        help="Scope: this namespace (repeatable). For KIND/NAME targets, their namespace.",
    )(func)
    return func


def _build(command: str, **fields: Any) -> invocation.Invocation:
    ctx = click.get_current_context()
    options = invocation.GlobalOptions(**_global_values(ctx))
    scope = invocation.ScopeOptions(
        namespaces=tuple(ctx.params.get("namespaces", ())),
        all_namespaces=bool(ctx.params.get("all_namespaces", False)),
        selector=ctx.params.get("selector"),
    )
    return invocation.Invocation(command=command, options=options, scope=scope, **fields)


class _Group(click.Group):
    """Lists commands in the order of the workflow rather than alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def cli(**_globals: Any) -> None:
    """Roll a freshly pushed image out across a Kubernetes cluster, safely.

    \b
    Exit codes: 0 success, 1 failed or condition not met,
                2 usage or configuration error, 3 partial failure.
    """


class Runner(Protocol):
    def execute(self, invocation: invocation.Invocation) -> int: ...


@cli.result_callback()
@click.pass_context
def _execute(ctx: click.Context, /, result: invocation.Invocation, **_globals: Any) -> Any:
    """The terminal passes a runner as `obj` and gets an exit code; Slack passes none and
    gets the parsed invocation back."""
    runner = ctx.find_root().obj
    if runner is None:
        return result
    ctx.exit(runner.execute(result))


@cli.command()
@restart_flags.options
@click.option("--image", "image", multiple=True, required=True, help="Image to roll out.")
@scope_options
@global_options
def orchestrate(image: tuple[str, ...], **kw: Any) -> invocation.Invocation:
    """check → rebuild (if needed) → select → restart."""
    refs, options = restart_flags.rollout(image, kw)
    return _build("orchestrate", image_refs=refs, restart=options)


@cli.command()
@scope_options
@global_options
def check(**_kw: Any) -> invocation.Invocation:
    """Is the image cache present, well formed, in scope and fresh? (0 valid, 1 rebuild)"""
    return _build("check")


@cli.command()
@click.option("--force", "-f", is_flag=True, help="Do not ask for confirmation.")
@scope_options
@global_options
def rebuild(force: bool, **_kw: Any) -> invocation.Invocation:
    """Scan the workloads in scope and write the image cache."""
    return _build("rebuild", force=force)


@cli.command(name="select")
@click.argument("image", nargs=-1, required=True)
@click.option(
    "--match",
    type=click.Choice([mode.value for mode in images.MatchMode]),
    default="exact",
    show_default=True,
)
@scope_options
@global_options
def select_(image: tuple[str, ...], match: str, **_kw: Any) -> invocation.Invocation:
    """Workloads that run IMAGE, from the cache (0 found, 1 none)."""
    return _build("select", image_refs=_image_refs(image), match=images.MatchMode(match))


@cli.command()
@click.argument("target", nargs=-1)
@click.option("--image", "image", multiple=True, help="Restart the workloads running this image.")
@restart_flags.options
@scope_options
@global_options
def restart(target: tuple[str, ...], image: tuple[str, ...], **kw: Any) -> invocation.Invocation:
    """Rolling restart of TARGET… ([NAMESPACE/]KIND/NAME) or of --image users."""
    if bool(target) == bool(image):
        raise click.UsageError("give either TARGET… or --image IMAGE, not both or neither")
    refs, options = restart_flags.rollout(image, kw)
    return _build("restart", targets=target, image_refs=refs, restart=options)


@cli.command()
@click.argument("run_arg", metavar="[RUN_ID]", required=False)
@click.option("--run", "run_id", metavar="RUN_ID", help="The run to undo (also given alone).")
@click.option("--timeout", callback=restart_flags.duration, help="Give up waiting after this.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Parallel restarts.")
@click.option(
    "--max-targets", type=click.IntRange(1), help="Refuse more workloads than this (default 50)."
)
@global_options
def rollback(
    run_arg: str | None,
    run_id: str | None,
    timeout: float | None,
    concurrency: int | None,
    max_targets: int | None,
    **_globals: Any,
) -> invocation.Invocation:
    """Pin every workload a run restarted back to the digest it ran before, and verify it.

    Default: the latest run that restarted something. Needs the audit trail
    ($MYCTL_STATE_URL), where each run keeps its digests."""
    if run_arg and run_id and run_arg != run_id:
        raise click.UsageError(f"two runs to undo: {run_arg} and --run {run_id}; give one")
    opts = requests.RestartOptions(
        wait=True, timeout_seconds=timeout, concurrency=concurrency, max_targets=max_targets
    )
    return _build("rollback", run_id=run_id or run_arg, restart=opts)


@cli.command()
@global_options
def version(**_globals: Any) -> invocation.Invocation:
    """Print the version."""
    return _build("version")


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@global_options
def completion(shell: str, **_globals: Any) -> invocation.Invocation:
    """Print the shell completion script: eval "$(myctl completion bash)"."""
    return _build("completion", shell=shell)


def usage_text(command: str | None = None) -> str:
    """The help of the whole tool, or of one command (for `/myctl help`)."""
    with click.Context(cli, info_name="myctl") as ctx:
        if command and command in cli.commands:
            sub = cli.commands[command]
            with click.Context(sub, info_name=command, parent=ctx) as sub_ctx:
                return sub.get_help(sub_ctx)
        return cli.get_help(ctx)


def parse(argv: Sequence[str]) -> invocation.Invocation:
    """Parse without running anything; click's usage errors become `errors.UsageError`."""
    try:
        result = cli.main(list(argv), prog_name="myctl", standalone_mode=False, obj=None)
    except click.ClickException as exc:
        raise errors.UsageError(_click_message(exc)) from exc
    if not isinstance(result, invocation.Invocation):
        # --help was asked for: click already printed it to stdout; report it as usage.
        raise errors.UsageError(usage_text())
    return dataclasses.replace(result, argv=tuple(argv))


def _click_message(exc: click.ClickException) -> str:
    buffer = io.StringIO()
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        buffer.write(exc.ctx.get_usage() + "\n")
    buffer.write(f"Error: {exc.format_message()}")
    return buffer.getvalue()
