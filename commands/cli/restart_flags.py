"""The flags of `restart` and `orchestrate` (and their checks), turned into `RestartOptions`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from commands.values import durations, errors, images, requests

F = TypeVar("F", bound=Callable[..., Any])


def duration(_ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return durations.parse(value, key=f"--{param.name}")
    except errors.ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc


def options(func: F) -> F:
    for decorator in reversed(
        [
            click.option(
                "--match",
                type=click.Choice([mode.value for mode in images.MatchMode]),
                default="exact",
                show_default=True,
                help="exact: same tag or digest; repository: any tag or digest.",
            ),
            click.option("--wait", is_flag=True, help="Follow each rollout to completion."),
            click.option(
                "--timeout", callback=duration, help="With --wait: give up after this (10m)."
            ),
            click.option("--concurrency", type=click.IntRange(1, 64), help="Parallel restarts."),
            click.option(
                "--max-targets",
                type=click.IntRange(1),
                help="Refuse to restart more workloads than this (default 50).",
            ),
            click.option(
                "--allow-stale-pull",
                is_flag=True,
                help="Restart even where a restart cannot pull a new image (digest-pinned, or "
                "IfNotPresent with a mutable tag); such rollouts are verified, not assumed.",
            ),
            click.option(
                "--expect-digest",
                metavar="sha256:…",
                help="The digest the --image tag now points to: workloads already running it "
                "are up to date; after the rollout every new pod must run it.",
            ),
            click.option(
                "--pin-digest",
                is_flag=True,
                help="Set the container image to repo:tag@sha256:… (needs an expected digest) "
                "so every node pulls exactly it, whatever its pull policy.",
            ),
            click.option(
                "--canary",
                type=click.IntRange(1),
                metavar="N",
                help="Restart the first N targets (sorted by namespace, kind, name), wait for "
                "and verify them, then the rest; a canary that is not updated stops the run "
                "and the rest are not started. Implies --wait.",
            ),
        ]
    ):
        func = decorator(func)
    return func


def rollout(
    texts: Sequence[str], kw: dict[str, Any]
) -> tuple[tuple[images.ImageRef, ...], requests.RestartOptions]:
    """The images to roll out and the restart options, with each image's expected digest
    (from `repo:tag@sha256:…` or --expect-digest)."""
    try:
        parsed = [images.parse_rollout(text) for text in texts]
        expected = {str(ref): digest for ref, digest in parsed if digest}
        if kw["expect_digest"] is not None:
            digest = images.parse_digest(kw["expect_digest"])
            if len(parsed) != 1:
                raise errors.UsageError("--expect-digest goes with exactly one --image")
            ref, named = parsed[0]
            if named not in (None, digest):
                raise errors.UsageError(
                    f"--expect-digest {digest} differs from the digest in --image {texts[0]}"
                )
            expected[str(ref)] = digest
    except errors.UsageError as exc:
        raise click.BadParameter(str(exc)) from exc
    if kw["pin_digest"] and (not parsed or set(expected) != {str(ref) for ref, _ in parsed}):
        raise click.UsageError(
            "--pin-digest needs the digest to pin: --expect-digest sha256:… with one --image, "
            "or every --image given as repo:tag@sha256:…"
        )
    options = requests.RestartOptions(
        match=images.MatchMode(kw["match"]),
        wait=kw["wait"] or kw["canary"] is not None,
        timeout_seconds=kw["timeout"],
        concurrency=kw["concurrency"],
        max_targets=kw["max_targets"],
        allow_stale_pull=kw["allow_stale_pull"],
        expected_digests=tuple(sorted(expected.items())),
        pin_digest=kw["pin_digest"],
        canary=kw["canary"],
    )
    return tuple(dict.fromkeys(ref for ref, _digest in parsed)), options
