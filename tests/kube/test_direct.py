"""Which kubeconfigs the direct client serves (kube/direct.py), and which keep the official loader.

No API server needed: these read kubeconfig documents only. The requests themselves are covered
by tests/kube/test_adapter.py, whose clusters connect through the direct client.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from commands.kube import direct, endpoints, kubeconfig, transport


def _doc(cluster: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    return {
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }


def test_a_client_certificate_context_is_served_directly_with_paths_beside_the_file() -> None:
    doc = _doc({"certificate-authority": "ca.crt"}, {"client-certificate": "/abs/admin.crt"})
    found = endpoints.endpoint(doc, "ctx", Path("/home/me/.kube"), {})
    assert found is not None
    assert (found.host, found.ca_file, found.cert_file) == (
        "https://127.0.0.1:6443",
        "/home/me/.kube/ca.crt",
        "/abs/admin.crt",
    )


def test_inline_data_and_a_token_are_decoded() -> None:
    ca = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()
    doc = _doc({"certificate-authority-data": ca}, {"token": "s3cret"})
    found = endpoints.endpoint(doc, "ctx", Path("."), {})
    assert found is not None
    assert (found.ca_pem, found.token) == ("-----BEGIN CERTIFICATE-----\n", "s3cret")
    assert "s3cret" not in repr(found)


@pytest.mark.parametrize(
    "cluster, user",
    [
        ({}, {"exec": {"command": "aws"}}),
        ({}, {"auth-provider": {"name": "oidc"}}),
        ({}, {"username": "a", "password": "b"}),
        ({"proxy-url": "http://proxy:3128"}, {"token": "t"}),
        ({"certificate-authority-data": "not base64!"}, {"token": "t"}),
    ],
)
def test_contexts_that_need_more_keep_the_official_loader(
    cluster: dict[str, Any], user: dict[str, Any]
) -> None:
    assert endpoints.endpoint(_doc(cluster, user), "ctx", Path("."), {}) is None


def test_a_proxy_in_the_environment_keeps_the_official_loader() -> None:
    doc = _doc({}, {"token": "t"})
    assert endpoints.endpoint(doc, "ctx", Path("."), {"HTTPS_PROXY": "http://p:3128"}) is None


def test_kubeconfig_load_returns_an_endpoint_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(_doc({"insecure-skip-tls-verify": True}, {"token": "t"})))
    plain = kubeconfig.load(str(path), None, environ={})
    assert not isinstance(plain, endpoints.Endpoint)
    assert plain.host == "https://127.0.0.1:6443"
    chosen = kubeconfig.load(str(path), None, environ={}, direct=True)
    assert isinstance(chosen, endpoints.Endpoint) and not chosen.verify
    api = transport.configure(chosen, 4)
    assert isinstance(api, direct.DirectClient)
    assert api.configuration.host == "https://127.0.0.1:6443"
    api.close()
