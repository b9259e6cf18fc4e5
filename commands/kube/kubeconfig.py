"""Where the kube adapter's connection settings come from: a kubeconfig, or the pod's own identity.

Kept apart from `client` because it does one other thing: it turns files and the environment
into a `kubernetes.client.Configuration`, and every way that can go wrong into one
`ClusterUnreachable` line that names the file and context. Messages never quote the file's
content: a YAML error snippet or a loader message could otherwise carry a token to a terminal,
a log or Slack.

`kubernetes` is imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from commands.kube import endpoints, lean
from commands.values import errors

DEFAULT_PATH = "~/.kube/config"
# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents, a
# few milliseconds less of every CLI command than the pure-Python one (docs/benchmarks.md §C).
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(
    kubeconfig: str | None,
    context: str | None,
    *,
    environ: Mapping[str, str] | None = None,
    direct: bool = False,
) -> Any:
    """A `kubernetes.client.Configuration` (typed Any: the library has no stubs); with
    `direct`, a `endpoints.Endpoint` instead when one plain kubeconfig file is all it takes (see
    kube/direct.py: that skips the official loader's imports).

    Order, as kubectl: an explicit path, else `$KUBECONFIG` (a `:`-separated list, missing
    entries ignored), else `~/.kube/config`, else the in-cluster service account when
    `KUBERNETES_SERVICE_HOST` is set.
    """
    env = os.environ if environ is None else environ
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise errors.ClusterUnreachable(f"kubeconfig {path} does not exist or is not a file")
        return _from_files([path], context, env if direct else None)
    if env.get("KUBECONFIG"):
        paths = [Path(p).expanduser() for p in env["KUBECONFIG"].split(os.pathsep) if p]
        existing = [p for p in paths if p.is_file()]
        if not existing:
            listed = ", ".join(str(p) for p in paths)
            raise errors.ClusterUnreachable(f"KUBECONFIG names no existing file ({listed})")
        return _from_files(existing, context, env if direct else None)
    default = Path(DEFAULT_PATH).expanduser()
    if default.is_file():
        return _from_files([default], context, env if direct else None)
    if env.get("KUBERNETES_SERVICE_HOST"):
        return _in_cluster()
    raise errors.ClusterUnreachable(
        f"no kubeconfig: pass --kubeconfig, set KUBECONFIG or create {DEFAULT_PATH} "
        "(inside a pod the service account is used automatically)"
    )


def _from_files(
    paths: list[Path], context: str | None, direct_env: Mapping[str, str] | None
) -> Any:
    """`direct_env`: the environment, when a `endpoints.Endpoint` may be returned."""
    names = ", ".join(str(p) for p in paths)
    contexts: list[str] = []
    current = ""
    secrets: list[str] = []
    docs = [_read_yaml(path) for path in paths]
    for doc in docs:
        for entry in doc.get("contexts") or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                contexts.append(entry["name"])
        for entry in doc.get("users") or []:
            user = entry.get("user") if isinstance(entry, dict) else None
            if isinstance(user, dict):
                secrets.extend(
                    str(user[k]) for k in ("token", "password", "client-key-data") if user.get(k)
                )
        # As kubectl: the first file that sets current-context wins.
        if not current and isinstance(doc.get("current-context"), str):
            current = doc["current-context"]
    chosen = context or current
    if not chosen:
        raise errors.ClusterUnreachable(
            f"kubeconfig {names} sets no current-context: pass --context "
            f"(available: {', '.join(contexts) or 'none'})"
        )
    if chosen not in contexts:
        raise errors.ClusterUnreachable(
            f'context "{chosen}" not found in kubeconfig {names} '
            f"(available: {', '.join(contexts) or 'none'})"
        )
    if direct_env is not None and len(docs) == 1:
        found = endpoints.endpoint(docs[0], chosen, paths[0].parent, direct_env)
        if found is not None:
            return found
    lean.load()
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config_module

    k8s_config: Any = k8s_config_module  # its loaders are untyped
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_kube_config(
            config_file=os.pathsep.join(str(p) for p in paths),
            context=chosen,
            client_configuration=configuration,
            # Never write refreshed credentials back into the user's file.
            persist_config=False,
        )
    except Exception as exc:  # the loader raises ConfigException, KeyError, TypeError, OSError...
        raise errors.ClusterUnreachable(
            f'cannot use context "{chosen}" of kubeconfig {names}: {_redact(exc, secrets)}'
        ) from exc
    if not configuration.host:
        raise errors.ClusterUnreachable(
            f'context "{chosen}" of kubeconfig {names} names no cluster server'
        )
    return configuration


def _in_cluster() -> Any:
    lean.load()
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config_module

    k8s_config: Any = k8s_config_module  # its loaders are untyped
    configuration = k8s_client.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=configuration)
    except Exception as exc:  # ConfigException when the token or CA file is missing
        raise errors.ClusterUnreachable(
            f"in-cluster configuration unusable (service account token or CA missing): "
            f"{_first_line(exc)}"
        ) from exc
    return configuration


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise errors.ClusterUnreachable(f"cannot read kubeconfig {path}: {reason}") from exc
    try:
        doc = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        # Only the position: the problem snippet would quote the file, tokens included.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise errors.ClusterUnreachable(f"kubeconfig {path} is not valid YAML{where}") from exc
    if not isinstance(doc, dict):
        raise errors.ClusterUnreachable(
            f"kubeconfig {path} is not a kubeconfig (expected a mapping with clusters, "
            "users and contexts)"
        )
    return doc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _redact(exc: BaseException, secrets: list[str]) -> str:
    text = _first_line(exc)
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text
