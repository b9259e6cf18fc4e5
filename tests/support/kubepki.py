"""Certificates and kubeconfigs for the local control plane (tests/support/controlplane.py).

`make_pki` writes a throwaway CA and the certificates a loopback Kubernetes needs, with the
`openssl` CLI (EC P-256 keys: fast to generate). `write_kubeconfig` writes a one-context
kubeconfig with a client certificate or a bearer token; tests use it to act as the admin, as
a ServiceAccount, or as a client of a server that is not there.

Files only: no processes are started and nothing is sent over the network.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _make_cert(pki: Path, name: str, subject: str, ext: str) -> None:
    """An EC P-256 key and a certificate signed by pki/ca (EC keys: fast to generate)."""
    (pki / f"{name}.ext").write_text(
        ext + "\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=pki,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "3650", "-out", f"{name}.crt", "-extfile", f"{name}.ext",
        cwd=pki,
    )  # fmt: skip


def write_kubeconfig(
    path: Path,
    server: str,
    ca_file: Path,
    *,
    user: str,
    cert: Path | None = None,
    key: Path | None = None,
    token: str | None = None,
    namespace: str | None = None,
) -> Path:
    """Write a one-context kubeconfig with either a client cert or a bearer token."""
    creds: dict[str, str] = {}
    if token is not None:
        creds["token"] = token
    if cert is not None and key is not None:
        creds.update({"client-certificate": str(cert), "client-key": str(key)})
    context: dict[str, str] = {"cluster": "myctl-test", "user": user}
    if namespace:
        context["namespace"] = namespace
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "myctl-test",
                "cluster": {"server": server, "certificate-authority": str(ca_file)},
            }
        ],
        "users": [{"name": user, "user": creds}],
        "contexts": [{"name": "myctl-test", "context": context}],
        "current-context": "myctl-test",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path


def make_pki(pki: Path) -> None:
    """Write into `pki`: the CA (ca.crt/ca.key), the API server's serving cert (apiserver),
    the admin (system:masters) and controller-manager client certs, and the service-account
    signing key (sa.key/sa.pub, so TokenRequest works)."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
        "-subj", "/CN=myctl-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        cwd=pki,
    )  # fmt: skip
    client = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
    _make_cert(
        pki,
        "apiserver",
        "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1",
    )
    _make_cert(
        pki,
        "admin",
        "/O=system:masters/CN=myctl-admin",
        client + "extendedKeyUsage=clientAuth",
    )
    _make_cert(
        pki,
        "controller-manager",
        "/CN=system:kube-controller-manager",
        client + "extendedKeyUsage=clientAuth",
    )
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sa.key",
        cwd=pki,
    )  # fmt: skip
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
