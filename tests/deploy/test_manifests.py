"""deploy/: every kustomize variant and the Helm chart render, pass a server-side dry-run
apply on the real API server, keep secrets out of the manifests, and agree with each other.

docs/operations.md describes the installs these tests stand for.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.deploy import render
from tests.support import controlplane as cp

# The first render may build kustomize and helm (scripts/tools-build, minutes when cold).
pytestmark = pytest.mark.timeout(1800)

HTTP = ("--set", "mode=http", "--set", "ingress.enabled=true")
VARIANTS: dict[str, Callable[[], list[render.Obj]]] = {
    "kustomize-base": lambda: render.kustomize(render.DEPLOY / "base"),
    "kustomize-socket-mode": lambda: render.kustomize(render.DEPLOY / "overlays" / "socket-mode"),
    "kustomize-http": lambda: render.kustomize(render.DEPLOY / "overlays" / "http"),
    "helm-default": lambda: render.helm(),
    "helm-with-namespace": lambda: render.helm("--set", "namespace.create=true"),
    "helm-http": lambda: render.helm(*HTTP),
    "helm-ha": lambda: render.helm("--values", str(render.CHART / "ci" / "ha-values.yaml")),
}
# Environment variables that carry credentials: each must come from a Secret key.
SECRET_ENV = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MYCTL_STATE_URL"}


def _container(objects: list[render.Obj]) -> dict[str, Any]:
    (deployment,) = render.by_kind(objects, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


@pytest.mark.kube
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_passes_a_server_side_dry_run(
    control_plane: cp.ControlPlane, variant: str
) -> None:
    objects = VARIANTS[variant]()
    # Namespaced objects are checked against a namespace that exists; the Namespace itself is
    # dry-run like everything else.
    control_plane.apply_manifest_file(render.DEPLOY / "base" / "namespace.yaml")

    assert render.dry_run_apply(control_plane, objects) == []
    assert {"Deployment", "ServiceAccount", "ClusterRole", "Role"} <= {o["kind"] for o in objects}


# The overlays include the Namespace; the chart renders it on request (values.yaml says why).
NAMESPACE = ("--set", "namespace.create=true")


@pytest.mark.parametrize(
    ("overlay", "chart_args"),
    [("socket-mode", NAMESPACE), ("http", (*NAMESPACE, *HTTP))],
)
def test_chart_and_overlay_render_the_same_objects_for_equal_settings(
    overlay: str, chart_args: tuple[str, ...]
) -> None:
    kustomized = render.kustomize(render.DEPLOY / "overlays" / overlay)
    charted = render.helm(*chart_args)

    assert render.identities(charted) == render.identities(kustomized)
    for kind in ("ClusterRole", "Role"):
        (a,), (b,) = render.by_kind(kustomized, kind), render.by_kind(charted, kind)
        assert a["rules"] == b["rules"], f"{kind} rules differ"
    ours, theirs = _container(kustomized), _container(charted)
    assert [e["name"] for e in ours["env"]] == [e["name"] for e in theirs["env"]]
    for key in ("ports", "livenessProbe", "readinessProbe", "securityContext", "volumeMounts"):
        assert ours[key] == theirs[key], key
    (dk,), (dh,) = render.by_kind(kustomized, "Deployment"), render.by_kind(charted, "Deployment")
    assert dk["spec"]["replicas"] == dh["spec"]["replicas"] == 2
    pod_k, pod_h = dk["spec"]["template"]["spec"], dh["spec"]["template"]["spec"]
    assert pod_k["securityContext"] == pod_h["securityContext"]
    assert pod_k["volumes"] == pod_h["volumes"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_credentials_come_from_secret_references_never_inline(variant: str) -> None:
    objects = VARIANTS[variant]()
    env = {e["name"]: e for e in _container(objects)["env"]}

    assert not render.by_kind(objects, "Secret")
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MYCTL_STATE_URL"} <= env.keys()
    for name in SECRET_ENV & env.keys():
        assert "value" not in env[name], name
        assert env[name]["valueFrom"]["secretKeyRef"]["name"], name
    socket_mode = "socket-mode" in variant or variant in ("helm-default", "helm-with-namespace")
    assert ("SLACK_APP_TOKEN" in env) == socket_mode
    # Trigger secrets: a whole optional Secret, each key a variable named by secret_env.
    assert _container(objects)["envFrom"] == [
        {"secretRef": {"name": "myctl-triggers", "optional": True}}
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_pods_run_hardened_with_probes_and_limits(variant: str) -> None:
    objects = VARIANTS[variant]()
    (deployment,) = render.by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = _container(objects)

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/var/lib/myctl", "/tmp", "/etc/myctl"} <= mounts
    assert deployment["spec"]["replicas"] >= 2
    assert render.by_kind(objects, "PodDisruptionBudget")
    # Above the bot's own 25 s stop grace (docs/operations.md).
    assert pod["terminationGracePeriodSeconds"] > 25


def test_only_the_http_variants_have_a_service_and_an_ingress() -> None:
    for variant, render_variant in VARIANTS.items():
        kinds = {o["kind"] for o in render_variant()}
        exposed = "http" in variant or variant == "helm-ha"
        assert ("Service" in kinds) == exposed, variant
        assert ("Ingress" in kinds) == exposed, variant


def test_ha_values_scale_out_and_keep_two_through_drains() -> None:
    objects = VARIANTS["helm-ha"]()
    (deployment,) = render.by_kind(objects, "Deployment")
    (pdb,) = render.by_kind(objects, "PodDisruptionBudget")

    assert deployment["spec"]["replicas"] == 3
    assert pdb["spec"]["minAvailable"] == 2


def test_chart_values_schema_rejects_a_bad_value() -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        render.helm("--set", "mode=websocket")
    assert "mode" in failed.value.stderr


@pytest.mark.kube
def test_the_dry_run_rejects_a_manifest_the_api_server_would_refuse(
    control_plane: cp.ControlPlane,
) -> None:
    objects = VARIANTS["kustomize-base"]()
    control_plane.apply_manifest_file(render.DEPLOY / "base" / "namespace.yaml")
    _container(objects)["securityContext"]["runAsUser"] = "ten thousand and one"

    failures = render.dry_run_apply(control_plane, objects)

    assert len(failures) == 1
    assert failures[0].startswith("Deployment/myctl: ")
    assert "securityContext.runAsUser" in failures[0]


@pytest.mark.parametrize("values", [None, render.CHART / "ci" / "ha-values.yaml"])
def test_the_chart_passes_helm_lint_strict(values: Path | None) -> None:
    args = ["--values", str(values)] if values else []
    result = subprocess.run(
        [render.tools()["helm"], "lint", "--strict", str(render.CHART), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=render.helm_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
