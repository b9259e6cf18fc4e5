"""A parsed command line, independent of click, and the settings it implies."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from commands.values import config, errors, images, requests, settings, workloads

MUTATING_COMMANDS = frozenset({"rebuild", "restart", "orchestrate", "rollback"})


@dataclass(frozen=True)
class GlobalOptions:
    dry_run: bool = False
    output: str = "text"  # text | json
    progress: str = "auto"  # auto (a bar on a terminal) | text | json | none
    kubeconfig: str | None = None
    context: str | None = None
    config: str | None = None
    cache_namespace: str | None = None
    cache_name: str | None = None


@dataclass(frozen=True)
class ScopeOptions:
    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    selector: str | None = None


@dataclass(frozen=True)
class Invocation:
    command: str
    options: GlobalOptions = GlobalOptions()
    scope: ScopeOptions = ScopeOptions()
    force: bool = False
    image_refs: tuple[images.ImageRef, ...] = ()
    match: images.MatchMode = images.MatchMode.EXACT  # select's --match
    targets: tuple[str, ...] = ()
    restart: requests.RestartOptions = field(default_factory=requests.RestartOptions)
    shell: str = ""
    run_id: str | None = None  # rollback --run
    argv: tuple[str, ...] = ()  # as typed, for the audit trail

    def target_refs(self) -> tuple[workloads.WorkloadRef, ...]:
        if len(self.scope.namespaces) > 1 and any(t.count("/") == 1 for t in self.targets):
            raise errors.UsageError(
                "KIND/NAME targets need one --namespace; use NAMESPACE/KIND/NAME with several"
            )
        default = self.scope.namespaces[0] if self.scope.namespaces else "default"
        return tuple(workloads.parse_target(text, default) for text in self.targets)


def settings_for(invocation: Invocation, environ: Mapping[str, str]) -> settings.Settings:
    """Configuration file (--config or MYCTL_CONFIG), then flags on top."""
    path = invocation.options.config or environ.get("MYCTL_CONFIG")
    return with_overrides(config.load(path), invocation)


def with_overrides(base: settings.Settings, invocation: Invocation) -> settings.Settings:
    opts, scope = invocation.options, invocation.scope
    cache = base.cache
    if opts.cache_namespace:
        cache = dataclasses.replace(
            cache, namespace=config.namespace_name(opts.cache_namespace, "--cache-namespace")
        )
    if opts.cache_name:
        cache = dataclasses.replace(
            cache, name=config.namespace_name(opts.cache_name, "--cache-name")
        )
    new_scope = base.scope
    if scope.all_namespaces and scope.namespaces:
        raise errors.UsageError("--all-namespaces and --namespace cannot be combined")
    if scope.all_namespaces:
        new_scope = dataclasses.replace(new_scope, namespaces=())
    elif scope.namespaces:
        # Also the namespace of `restart KIND/NAME` targets; explicit targets ignore the scope.
        new_scope = dataclasses.replace(
            new_scope,
            namespaces=tuple(
                sorted({config.namespace_name(ns, "--namespace") for ns in scope.namespaces})
            ),
        )
    if scope.selector is not None:
        new_scope = dataclasses.replace(new_scope, selector=scope.selector)
    return dataclasses.replace(base, cache=cache, scope=new_scope)
