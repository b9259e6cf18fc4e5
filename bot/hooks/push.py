"""What a parsed webhook yields: `Push` values, or `InvalidPayload`."""

from __future__ import annotations

from dataclasses import dataclass


class InvalidPayload(ValueError):
    """The body is not the documented payload (bad JSON, wrong types, missing fields).

    The message says what is wrong and where (`event_data.resources[0].tag: expected a
    string`), never echoes the body: it may go back to the registry and into the audit trail.
    """


@dataclass(frozen=True)
class Push:
    """One tag pushed to one repository."""

    repository: str  # normalized, with its registry host: `ghcr.io/acme/api`
    tag: str
    digest: str | None  # `sha256:…` where the payload has it (Docker Hub and Quay do not)
    event_id: str | None = None  # the registry's id for this event, where it has one

    @property
    def reference(self) -> str:
        """`repo:tag@sha256:…`, or `repo:tag`: the form `orchestrate --image` takes."""
        base = f"{self.repository}:{self.tag}"
        return f"{base}@{self.digest}" if self.digest else base


@dataclass(frozen=True)
class Parsed:
    """A payload's pushes, and what it held that is deliberately not a push (with why)."""

    pushes: tuple[Push, ...]
    skipped: tuple[str, ...] = ()
    # Ids the registry gave the whole delivery's events (distribution, Harbor CloudEvents):
    # the de-duplication key where the registry sends no delivery header.
    event_ids: tuple[str, ...] = ()
