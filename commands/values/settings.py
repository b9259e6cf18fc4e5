"""Settings: nested frozen dataclasses. Each field says its unit and why its default is what it is.

Built by `config.parse` from the YAML file, then overridden by flags at the edge. The environment
is read once, at the edge, never here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from commands.values import triggers as trigger_values
from commands.values import workloads

ALL_KINDS = (workloads.Kind.DEPLOYMENT, workloads.Kind.STATEFULSET, workloads.Kind.DAEMONSET)


@dataclass(frozen=True)
class CacheSettings:
    namespace: str = "myctl"  # the bot's own namespace: its Role grants ConfigMap access there
    name: str = "myctl-image-cache"
    # Seconds. Ten minutes: new workloads appear within one deploy cycle, and a rebuild of 10k
    # workloads costs a few seconds of API server time, so refreshing more often is wasteful.
    max_age_seconds: float = 600.0
    # Bytes one ConfigMap of the cache may hold (after gzip) before the cache is sharded. 256 KiB,
    # not the API server's 1 MiB limit (SHARD_BYTES_LIMIT): `select` decodes the whole shard it
    # reads, so the shard size bounds its latency (docs/benchmarks.md §0: ~20k workloads a
    # shard). Tests set a few KiB to force several shards.
    shard_bytes: int = 256 * 1024
    # Shard ConfigMaps NAME-0 … NAME-(max_shards-1): the Role's resourceNames list exactly these
    # (RBAC has no name patterns), so raising it means extending the Role. 16 × 256 KiB holds
    # ~350k workloads at the ~12 bytes each measured in docs/benchmarks.md.
    max_shards: int = 16


# The API server's 1 MiB ConfigMap limit (shared with Secrets) minus 4 KiB for keys and labels:
# the largest `cache.shard_bytes` accepted.
SHARD_BYTES_LIMIT = 1024 * 1024 - 4096


@dataclass(frozen=True)
class Scope:
    """Which workloads the cache indexes. The cache records the scope it was built for."""

    namespaces: tuple[str, ...] = ()  # empty = all namespaces
    # kube-system holds the cluster's own machinery; restarting it from a chat is never intended.
    exclude_namespaces: tuple[str, ...] = ("kube-system",)
    selector: str = ""  # a Kubernetes label selector, passed to the API as-is
    kinds: tuple[workloads.Kind, ...] = ALL_KINDS

    def includes_namespace(self, namespace: str) -> bool:
        if self.namespaces and namespace not in self.namespaces:
            return False
        return namespace not in self.exclude_namespaces

    def as_document(self) -> dict[str, object]:
        """Canonical form stored in the cache, compared for equality by `check`."""
        return {
            "namespaces": sorted(self.namespaces),
            "excludeNamespaces": sorted(self.exclude_namespaces),
            "selector": self.selector.strip(),
            "kinds": sorted(kind.value for kind in self.kinds),
        }

    def describe(self) -> str:
        spaces = ", ".join(self.namespaces) if self.namespaces else "all namespaces"
        if self.exclude_namespaces:
            spaces += f" except {', '.join(self.exclude_namespaces)}"
        selector = f", selector {self.selector!r}" if self.selector else ""
        kinds = ", ".join(kind.value for kind in self.kinds)
        return f"{spaces}{selector}; kinds {kinds}"


@dataclass(frozen=True)
class RestartSettings:
    # Parallel patches. Eight keeps a large restart fast without bursting past the client-side
    # rate limits API servers commonly run with (priority-and-fairness seats per user).
    concurrency: int = 8
    # Blast-radius guard: restarting more than this many workloads in one go needs an explicit
    # raise, because a typo in an image name should not be able to restart the whole cluster.
    max_targets: int = 50
    # Seconds `--wait` follows rollouts, like `kubectl rollout status --timeout`.
    wait_timeout_seconds: float = 600.0


@dataclass(frozen=True)
class KubeSettings:
    """How long one request to the API server may take (the adapter's retries and the watch's
    resumption are in docs/reliability.md)."""

    # Seconds to connect: a loopback or in-cluster API answers in milliseconds, 5 s covers a
    # slow VPN.
    connect_timeout_seconds: float = 5.0
    # Seconds a request may go without a byte of its answer before it is retried (3 attempts):
    # a 500-object list page takes well under a second on a healthy API server; 30 s leaves room
    # for a loaded one while making sure nothing waits forever. Tests set 2 s to meet a stalled
    # connection quickly.
    read_timeout_seconds: float = 30.0

    @property
    def request_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds, as the Kubernetes adapter takes them."""
        return (self.connect_timeout_seconds, self.read_timeout_seconds)


@dataclass(frozen=True)
class AccessRule:
    """Who may run one command from Slack. Empty everywhere = nobody (for mutating commands)."""

    users: tuple[str, ...] = ()
    usergroups: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApprovalSettings:
    commands: tuple[str, ...] = ("rebuild",)
    approver_users: tuple[str, ...] = ()
    approver_usergroups: tuple[str, ...] = ()
    required: int = 1
    allow_self_approval: bool = False  # four eyes by default
    expiry_seconds: float = 900.0  # 15 minutes: long enough to find an approver, short enough
    # that an approval still matches the state of the cluster it was asked about.
    # From Slack, a good canary (--canary N) pauses the run for Continue / Stop, decided like an
    # approval (approvers, expiry: no decision in time stops the run). Off: the rest follows.
    canary: bool = False


@dataclass(frozen=True)
class SlackSettings:
    access: tuple[tuple[str, AccessRule], ...] = ()
    approvals: ApprovalSettings = ApprovalSettings()

    def access_rule(self, command: str) -> AccessRule | None:
        for name, rule in self.access:
            if name == command:
                return rule
        return None


@dataclass(frozen=True)
class Schedule:
    name: str
    cron: str
    timezone: str
    channel: str
    reports: tuple[str, ...] = ("cache", "images", "rollouts", "activity")


@dataclass(frozen=True)
class StateSettings:
    url: str = "sqlite:///myctl-state.db"  # relative to the working directory


@dataclass(frozen=True)
class Settings:
    cache: CacheSettings = CacheSettings()
    scope: Scope = Scope()
    restart: RestartSettings = RestartSettings()
    kube: KubeSettings = KubeSettings()
    slack: SlackSettings = SlackSettings()
    schedules: tuple[Schedule, ...] = field(default_factory=tuple)
    state: StateSettings = StateSettings()
    triggers: tuple[trigger_values.Trigger, ...] = field(default_factory=tuple)  # docs/triggers.md
