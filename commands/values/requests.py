"""What a restart is asked to do, as one value from the parser to the engine. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass

from commands.values import images, workloads


@dataclass(frozen=True)
class RestartOptions:
    """The restart flags of `restart` and `orchestrate`, carried unchanged from the parser (or a
    registry hook) through `orchestrate` to `restart`."""

    match: images.MatchMode = images.MatchMode.EXACT
    wait: bool = False  # follow each rollout to completion and verify the digests it runs
    timeout_seconds: float | None = None  # default: settings.restart.wait_timeout_seconds
    concurrency: int | None = None  # default: settings.restart.concurrency
    max_targets: int | None = None  # default: settings.restart.max_targets
    allow_stale_pull: bool = False  # restart even where a restart cannot pull a new image
    # (normalized image reference, `sha256:…`): the digest each image's tag now points to.
    # Targets already running it are up to date; after the rollout every new pod must run it.
    expected_digests: tuple[tuple[str, str], ...] = ()
    pin_digest: bool = False  # set the image to `repo:tag@sha256:…` instead of annotating only
    # --canary N (implies wait): restart the first N targets to patch (sorted by namespace,
    # kind, name), verify them, and only then the rest; None: every target in one wave.
    canary: int | None = None

    def expected_for(self, image: images.ImageRef) -> str | None:
        return dict(self.expected_digests).get(str(image))


@dataclass(frozen=True)
class Pin:
    """`rollback`: set `containers` of `target` to their image at `digest` (`sha256:…`), the
    digest they ran before the run being undone, and verify that the new pods run exactly it."""

    target: workloads.WorkloadRef
    containers: tuple[str, ...]
    digest: str
