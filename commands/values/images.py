"""Image references, normalized the way container runtimes resolve them.

`nginx`, `docker.io/nginx` and `index.docker.io/library/nginx` all mean
`docker.io/library/nginx:latest`. The tag defaults to `latest` only when there is neither tag nor
digest; when both are given the digest is the identity (the runtime pulls by digest and ignores
the tag), so the normalized form drops the tag.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from commands.values import errors

DEFAULT_DOMAIN = "docker.io"
# Docker Hub's legacy aliases: both are rewritten to docker.io by containerd and CRI-O.
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
# Grammar from the distribution reference package (docker/distribution/reference/regexp.go).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}")
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
# distribution's NameTotalLengthMax: registry host, port and path together.
NAME_MAX = 255
# The longest digest in use is `sha512:` + 128 hex digits; room for a longer algorithm name.
_DIGEST_MAX = 200
# A reference echoed in an error is cut here: the error reaches Slack (docs/reliability.md).
_SHOWN_MAX = 80
# A tag that names a fixed build is not assumed: only digests are immutable for a runtime.


class MatchMode(enum.Enum):
    """How `select` compares references."""

    EXACT = "exact"  # same repository and same tag, or same digest
    REPOSITORY = "repository"  # same repository, any tag or digest


@dataclass(frozen=True, order=True)
class ImageRef:
    """A normalized reference: `repository` always includes the domain."""

    repository: str
    tag: str | None
    digest: str | None
    # The tag written beside a digest (`repo:1.4@sha256:…`, what `--pin-digest` writes). Not
    # part of the identity — the runtime pulls the digest — but a workload pinned that way
    # still belongs to the tag's rollouts, so exact matching and the cache index know it.
    pinned_tag: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"

    @property
    def pinned_by_digest(self) -> bool:
        return self.digest is not None

    @property
    def tag_form(self) -> str | None:
        """`repo:tag` for a reference pinned beside its tag, else None."""
        return f"{self.repository}:{self.pinned_tag}" if self.pinned_tag else None

    def matches(self, other: ImageRef, mode: MatchMode) -> bool:
        if mode is MatchMode.REPOSITORY:
            return self.repository == other.repository
        return str(self) == str(other) or (other.digest is None and self.tag_form == str(other))


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + "…")


def parse(text: str) -> ImageRef:
    """Parse and normalize `text`; raise `UsageError` with the reason if it is not a reference."""
    raw = text.strip()
    if not raw:
        raise errors.UsageError("image reference is empty")
    if any(ch.isspace() for ch in raw):
        raise errors.UsageError(f"invalid image reference {_shown(text)}: contains whitespace")
    name, digest = raw, None
    if "@" in raw:
        name, digest = raw.split("@", 1)
        if not _DIGEST.fullmatch(digest) or len(digest) > _DIGEST_MAX:
            raise errors.UsageError(
                f"invalid image reference {_shown(text)}: bad digest {_shown(digest)}"
            )
        digest = digest.lower()
    tag = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise errors.UsageError(
                f"invalid image reference {_shown(text)}: bad tag {_shown(tag)}"
            )
    if len(name) > NAME_MAX:
        raise errors.UsageError(
            f"invalid image reference {_shown(text)}: name longer than {NAME_MAX} characters"
        )
    domain, path = _split_domain(name, text)
    if not _PATH.fullmatch(path):
        reason = "repository names must be lowercase" if path.lower() != path else "bad name"
        raise errors.UsageError(f"invalid image reference {_shown(text)}: {reason}")
    if domain in _DOCKER_HUB_ALIASES:
        domain = DEFAULT_DOMAIN
        if "/" not in path:
            path = f"library/{path}"
    pinned_tag = None
    if digest:
        # The digest is the identity; a tag beside it only says which rollouts it belongs to.
        tag, pinned_tag = None, tag
    elif tag is None:
        tag = "latest"
    return ImageRef(repository=f"{domain}/{path}", tag=tag, digest=digest, pinned_tag=pinned_tag)


def _split_domain(name: str, original: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    # Same rule as the runtimes: the first component is a registry only if it looks like a host.
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _DOMAIN.fullmatch(first):
            raise errors.UsageError(
                f"invalid image reference {_shown(original)}: bad registry {_shown(first)}"
            )
        return first.lower(), rest
    return DEFAULT_DOMAIN, name


def parse_rollout(text: str) -> tuple[ImageRef, str | None]:
    """An image to roll out, and the digest its tag now points to when the text names both.

    `repo:tag@sha256:D` means "the tag, which now is D": workloads are selected by the tag
    (they run `repo:tag`) and D is the expected digest. Any other form is `parse(text)` with no
    expected digest.
    """
    ref = parse(text)
    raw = text.strip()
    if ref.digest is None or "@" not in raw:
        return ref, None
    name = raw.split("@", 1)[0]
    if name.rfind(":") <= name.rfind("/"):
        return ref, None  # `repo@sha256:D`: the digest itself is the reference
    return parse(name), ref.digest


def parse_digest(text: str, *, key: str = "--expect-digest") -> str:
    """A `sha256:<64 hex>` digest, lower-cased; anything else is a usage error naming `key`."""
    digest = text.strip().lower()
    if not _SHA256.fullmatch(digest):
        raise errors.UsageError(
            f"{key}: {_shown(text)} is not a digest; expected sha256: followed by 64 hex digits"
        )
    return digest


def digest_of_image_id(image_id: str) -> str | None:
    """`sha256:…` from a container status' imageID, whatever form the runtime wrote.

    containerd and CRI-O write `repo@sha256:…`, dockershim wrote `docker-pullable://repo@sha256:…`,
    some runtimes a bare `sha256:…`; a container that has not started yet has "" (None here).
    """
    text = image_id.strip()
    if not text:
        return None
    candidate = text.rsplit("@", 1)[-1].rsplit("://", 1)[-1].lower()
    if not candidate.startswith("sha256:") and re.fullmatch(r"[0-9a-f]{64}", candidate):
        candidate = f"sha256:{candidate}"
    return candidate if _SHA256.fullmatch(candidate) else None


def short_digest(digest: str | None) -> str:
    """`sha256:1234567890ab…`: enough to tell digests apart in a message."""
    if not digest:
        return "(none)"
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:12]}…" if len(hexpart) > 12 else digest


def with_digest(image: str, digest: str) -> str:
    """`image` (as written in a pod spec) pinned to `digest`: `repo:tag@sha256:…`."""
    return f"{image.split('@', 1)[0]}@{digest}"


def try_parse(text: str) -> ImageRef | None:
    """Like `parse`, but None for references a cluster may hold yet we cannot read."""
    try:
        return parse(text)
    except errors.UsageError:
        return None
