"""The error tree. Every error knows its exit code; only `cli.main` turns errors into exits.

Errors are classed by what happens next, as in kopf: a `TemporaryError` may be retried by the
layer that raised it; everything else stops the operation.

    MyctlError                      exit 1  (the operation failed)
    ├── UsageError                  exit 2  bad flags, arguments or image references
    │   ├── ConfirmationRequired    exit 2  `rebuild` without a terminal and without --force
    │   └── BlastRadiusExceeded     exit 2  more targets than --max-targets
    ├── ConfigError                 exit 2  a configuration key or value is invalid
    ├── ClusterError                exit 1  the Kubernetes API said no
    │   ├── ClusterUnreachable      exit 2  no API server answers, or the kubeconfig is unusable
    │   ├── PermissionDenied        exit 2  RBAC forbids a verb on a resource
    │   ├── NotFound                exit 1  the object does not exist
    │   └── TemporaryError          exit 1  worth retrying (after retries are exhausted: exit 1)
    │       ├── CacheConflict               the cache ConfigMap changed under us (HTTP 409)
    │       ├── WatchExpired                a watch's resourceVersion is too old (HTTP 410)
    │       └── ServerError                 5xx, 429 or a timeout
    ├── Cancelled                   exit 1  the user answered no
    ├── CacheInvalid                exit 2  `select` cannot use the cache (missing, corrupt)
    └── CacheTooLarge               exit 1  even compressed, the cache does not fit a ConfigMap
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


class MyctlError(Exception):
    """Base of every error myctl raises on purpose. `str(err)` is the one line users see."""

    exit_code: int = EXIT_FAILED


class UsageError(MyctlError):
    """Bad flags, arguments or image references."""

    exit_code = EXIT_USAGE


class ConfirmationRequired(UsageError):
    """`rebuild` without a terminal and without --force."""


class BlastRadiusExceeded(UsageError):
    """More targets than --max-targets."""


class ConfigError(MyctlError):
    """A configuration problem; the message names the key (`restart.concurrency: ...`)."""

    exit_code = EXIT_USAGE


class ClusterError(MyctlError):
    """The Kubernetes API said no (exit 1, as every MyctlError unless it says otherwise)."""


class ClusterUnreachable(ClusterError):
    """No API server answers, or the kubeconfig is unusable: the fix is in the user's setup."""

    exit_code = EXIT_USAGE


class PermissionDenied(ClusterError):
    """RBAC refused. The message names verb, resource and namespace so the fix is obvious."""

    exit_code = EXIT_USAGE

    def __init__(self, verb: str, resource: str, namespace: str | None, detail: str = "") -> None:
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        where = f'in namespace "{namespace}"' if namespace else "at cluster scope"
        text = f"permission denied: cannot {verb} {resource} {where}"
        super().__init__(f"{text} ({detail})" if detail else text)
        self._detail = detail

    def __reduce__(self) -> tuple[type[PermissionDenied], tuple[str, str, str | None, str]]:
        # Pickled as it was made (an engine process sends it back: commands/invoke/worker.py).
        return type(self), (self.verb, self.resource, self.namespace, self._detail)


class NotFound(ClusterError):
    """The object does not exist."""


class TemporaryError(ClusterError):
    """Worth retrying; once the retries are exhausted it fails the operation as any other."""


class CacheConflict(TemporaryError):
    """The cache ConfigMap changed under us (HTTP 409)."""


class ServerError(TemporaryError):
    """5xx, 429 or a timeout."""


class WatchExpired(TemporaryError):
    """The watch must start again from a fresh read (the API compacted past its version)."""


class CacheInvalid(MyctlError):
    """`select` cannot use the cache (missing, corrupt): rebuild it first."""

    exit_code = EXIT_USAGE


class CacheTooLarge(MyctlError):
    """Even compressed, the cache does not fit a ConfigMap."""


class Cancelled(MyctlError):
    """The user answered no."""


class EngineLost(MyctlError):
    """The process running the engine ended mid-run: what it did is only what it reported."""
