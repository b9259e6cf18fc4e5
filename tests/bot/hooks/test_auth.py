"""Each registry's credential is checked, and anything else is refused."""

from __future__ import annotations

import pytest

from bot.hooks import auth
from commands.values import triggers
from tests.bot.hooks import payloads

Source = triggers.Source
SECRET = payloads.SECRET
BODY = b'{"any": "body"}'


def _verify(source: Source, headers: dict[str, str], query: str = "", body: bytes = BODY) -> bool:
    return auth.verify(source, SECRET, headers=headers, query=query, body=body)


def test_a_github_signature_of_the_raw_body_is_accepted() -> None:
    headers = {"x-hub-signature-256": payloads.github_signature(BODY)}
    assert _verify(Source.GITHUB, headers)


def test_a_github_body_changed_after_signing_is_refused() -> None:
    headers = {"x-hub-signature-256": payloads.github_signature(BODY)}
    assert not _verify(Source.GITHUB, headers, body=BODY.replace(b"body", b"bodY"))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-hub-signature-256": ""},
        {"x-hub-signature-256": payloads.github_signature(BODY, "other secret")},
        {"x-hub-signature-256": payloads.github_signature(BODY)[len("sha256=") :]},
        {"x-hub-signature": "sha1=" + "0" * 40},  # the legacy SHA-1 header is not enough
    ],
)
def test_a_missing_or_wrong_github_signature_is_refused(headers: dict[str, str]) -> None:
    assert not _verify(Source.GITHUB, headers)


def test_harbor_authorization_must_equal_the_secret() -> None:
    assert _verify(Source.HARBOR, {"authorization": SECRET})
    assert not _verify(Source.HARBOR, {"authorization": f"Bearer {SECRET}"})
    assert not _verify(Source.HARBOR, {"authorization": SECRET + "x"})
    assert not _verify(Source.HARBOR, {})


def test_distribution_needs_a_bearer_token() -> None:
    assert _verify(Source.DISTRIBUTION, {"authorization": f"Bearer {SECRET}"})
    assert _verify(Source.DISTRIBUTION, {"authorization": f"bearer {SECRET}"})
    assert not _verify(Source.DISTRIBUTION, {"authorization": SECRET})
    assert not _verify(Source.DISTRIBUTION, {"authorization": f"Basic {SECRET}"})
    assert not _verify(Source.DISTRIBUTION, {"authorization": "Bearer wrong"})
    assert not _verify(Source.DISTRIBUTION, {})


@pytest.mark.parametrize("source", [Source.DOCKERHUB, Source.QUAY])
def test_token_sources_need_the_token_in_the_query(source: Source) -> None:
    assert _verify(source, {}, query=f"token={SECRET}")
    assert _verify(source, {}, query=f"other=1&token={SECRET}")
    assert not _verify(source, {}, query="token=wrong")
    assert not _verify(source, {}, query="")
    assert not _verify(source, {}, query=f"token={SECRET}&token=wrong")  # ambiguous
    assert not _verify(source, {"authorization": SECRET}, query="")


@pytest.mark.parametrize("source", list(Source))
def test_an_empty_secret_accepts_nothing(source: Source) -> None:
    headers = {"authorization": "", "x-hub-signature-256": payloads.github_signature(BODY, "")}
    assert not auth.verify(source, "", headers=headers, query="token=", body=BODY)
