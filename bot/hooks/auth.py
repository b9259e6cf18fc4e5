"""Authenticating a webhook, per registry, in constant time (docs/triggers.md).

| source | credential |
|---|---|
| github | `X-Hub-Signature-256: sha256=HEX`, HMAC-SHA256 of the raw body with the secret |
| harbor | `Authorization` equals the secret (Harbor's "Auth Header" field) |
| distribution | `Authorization: Bearer SECRET` (the registry's notification `headers`) |
| dockerhub, quay | `?token=SECRET` in the URL: neither can sign nor set headers |

`verify` answers yes or no and nothing else: which part was wrong is no business of a caller
that may be an attacker. Only the header (or query) the source needs is read, and for GitHub
the body is only hashed, never parsed.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping

from commands.values import triggers

Source = triggers.Source
_SIGNATURE_PREFIX = "sha256="


def verify(
    source: triggers.Source,
    secret: str,
    *,
    headers: Mapping[str, str],
    query: str,
    body: bytes,
) -> bool:
    """Whether the request carries `secret` the way `source` sends it.

    `headers` must have lower-case names; `query` is the raw query string (without `?`).
    """
    if not secret:
        return False  # an empty secret would make an empty credential valid
    key = secret.encode("utf-8")
    if source is Source.GITHUB:
        provided = headers.get("x-hub-signature-256", "")
        if not provided.startswith(_SIGNATURE_PREFIX):
            return False
        expected = hmac.new(key, body, hashlib.sha256).hexdigest()
        return _equal(expected, provided[len(_SIGNATURE_PREFIX) :].lower())
    if source is Source.HARBOR:
        return _equal(secret, headers.get("authorization", ""))
    if source is Source.DISTRIBUTION:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        # Both sides are compared even when the scheme is wrong: equal time either way.
        return _equal(secret, token.strip()) & (scheme.lower() == "bearer")
    if source in (Source.DOCKERHUB, Source.QUAY):
        tokens = urllib.parse.parse_qs(query, keep_blank_values=True).get("token", [])
        # Two tokens are ambiguous: a proxy and the app might each read a different one.
        return len(tokens) == 1 and _equal(secret, tokens[0])
    return False


def _equal(expected: str, provided: str) -> bool:
    """Constant time for equal lengths (`hmac.compare_digest`); bytes, so any text compares."""
    return hmac.compare_digest(expected.encode("utf-8"), provided.encode("utf-8"))
