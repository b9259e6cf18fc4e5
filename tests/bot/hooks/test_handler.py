"""`handler.handle`: one request in, one response decision out, for every registry."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from bot.hooks import coalesce, handler, request
from commands.values import errors, triggers
from tests.bot.hooks import payloads
from tests.bot.hooks.support import Bot, trigger

Source = triggers.Source
Result = handler.Result
SECRET = payloads.SECRET
JSON = "application/json"


def _signed(source: Source, body: bytes, secret: str = SECRET) -> tuple[dict[str, str], str]:
    """Headers and query that authenticate `body` for `source` with `secret`."""
    if source is Source.GITHUB:
        return {
            "X-GitHub-Event": "package",
            "X-Hub-Signature-256": payloads.github_signature(body, secret),
            "X-GitHub-Delivery": "d-1",
        }, ""
    if source is Source.HARBOR:
        return {"Authorization": secret}, ""
    if source is Source.DISTRIBUTION:
        return {"Authorization": f"Bearer {secret}"}, ""
    return {}, f"token={secret}"


DOCUMENTS: dict[Source, tuple[dict[str, Any], str, str]] = {
    Source.GITHUB: (
        payloads.github_package(),
        JSON,
        "ghcr.io/acme/api:v1.2.3@" + payloads.DIGEST_A,
    ),
    Source.DOCKERHUB: (payloads.dockerhub_push(), JSON, "docker.io/acme/api:latest"),
    Source.HARBOR: (
        payloads.harbor_cloudevent(),
        "application/cloudevents+json",
        "hub.harbor.example.com/team/api:v2@" + payloads.DIGEST_A,
    ),
    Source.DISTRIBUTION: (
        payloads.envelope(payloads.distribution_event(event_id="e1")),
        payloads.DISTRIBUTION_CONTENT_TYPE,
        "registry.example.com:5000/team/api:v1@" + payloads.DIGEST_A,
    ),
    Source.QUAY: (payloads.quay_push(), JSON, "quay.io/acme/api:latest"),
}


def _handle(
    bot: Bot,
    source: Source,
    body: bytes | request.Body,
    *,
    headers: dict[str, str] | None = None,
    query: str = "",
    content_type: str | None = JSON,
    method: str = "POST",
    **options: Any,
) -> handler.Response:
    return handler.handle(
        trigger(source, **options),
        SECRET,
        method=method,
        headers=headers or {},
        query=query,
        body=body,
        content_type=content_type,
        services=bot.services,
    )


def _deliver(
    bot: Bot, source: Source, document: object, content_type: str = JSON, **options: Any
) -> handler.Response:
    body = payloads.encode(document)
    headers, query = _signed(source, body)
    return _handle(
        bot, source, body, headers=headers, query=query, content_type=content_type, **options
    )


@pytest.mark.parametrize("source", list(Source))
def test_a_documented_push_is_accepted_and_becomes_one_run(source: Source) -> None:
    bot = Bot.create()
    document, content_type, reference = DOCUMENTS[source]
    response = _deliver(bot, source, document, content_type)
    assert (response.status, response.result) == (202, Result.ACCEPTED)
    assert [p.reference for p in response.pushes] == [reference]
    assert json.loads(response.body())["pushes"] == [{"image": reference, "outcome": "scheduled"}]
    (run,) = bot.runs_after_settling()
    assert run.reference == reference and run.trigger == f"{source.value}-acme"


@pytest.mark.parametrize("source", list(Source))
def test_a_wrong_credential_is_401_and_nothing_runs(source: Source) -> None:
    bot = Bot.create()
    document, content_type, _ = DOCUMENTS[source]
    body = payloads.encode(document)
    headers, query = _signed(source, body, secret="not the secret")
    response = _handle(bot, source, body, headers=headers, query=query, content_type=content_type)
    assert (response.status, response.result) == (401, Result.UNAUTHORIZED)
    assert json.loads(response.body()) == {"result": "unauthorized"}
    assert bot.claims.seen == set() and bot.runs_after_settling() == []


@pytest.mark.parametrize("source", list(Source))
def test_a_missing_credential_is_401(source: Source) -> None:
    bot = Bot.create()
    document, content_type, _ = DOCUMENTS[source]
    headers = {"X-GitHub-Event": "package"}
    response = _handle(
        bot, source, payloads.encode(document), headers=headers, content_type=content_type
    )
    assert response.status == 401


def test_a_body_changed_after_signing_is_401() -> None:
    bot = Bot.create()
    body = payloads.encode(payloads.github_package(tag="v1"))
    headers, _ = _signed(Source.GITHUB, body)
    tampered = body.replace(b'"v1"', b'"v6"')
    response = _handle(bot, Source.GITHUB, tampered, headers=headers)
    assert response.status == 401 and bot.runs_after_settling() == []


def test_nothing_is_parsed_before_authentication() -> None:
    """A body that would be invalid still answers 401 when unauthenticated, not 400."""
    bot = Bot.create()
    response = _handle(
        bot, Source.DISTRIBUTION, b"{not json", headers={"Authorization": "Bearer x"}
    )
    assert response.status == 401


def test_only_post_is_allowed() -> None:
    response = _handle(Bot.create(), Source.QUAY, b"{}", method="GET", query=f"token={SECRET}")
    assert (response.status, response.result) == (405, Result.INVALID)
    assert ("Allow", "POST") in response.headers


class _Unreadable:
    def read(self, size: int = -1, /) -> bytes:
        raise AssertionError("the body must not be read when Content-Length is too large")


def test_a_declared_body_over_one_mebibyte_is_413_before_reading() -> None:
    headers = {
        "Content-Length": str(request.MAX_BODY_BYTES + 1),
        "Authorization": f"Bearer {SECRET}",
    }
    response = _handle(Bot.create(), Source.DISTRIBUTION, _Unreadable(), headers=headers)
    assert (response.status, response.result) == (413, Result.INVALID)


def test_an_undeclared_body_over_one_mebibyte_is_413() -> None:
    stream = io.BytesIO(b" " * (request.MAX_BODY_BYTES + 10))
    response = _handle(
        Bot.create(), Source.DISTRIBUTION, stream, headers={"Authorization": f"Bearer {SECRET}"}
    )
    assert response.status == 413


def test_a_body_of_exactly_one_mebibyte_is_read() -> None:
    document = payloads.envelope(payloads.distribution_event(event_id="e1"))
    body = payloads.encode(document)
    body += b" " * (request.MAX_BODY_BYTES - len(body))
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Length": str(len(body))}
    response = _handle(
        Bot.create(), Source.DISTRIBUTION, io.BytesIO(body + b"next request"), headers=headers
    )
    assert response.status == 202


def test_a_bad_content_length_is_400() -> None:
    response = _handle(Bot.create(), Source.QUAY, b"{}", headers={"Content-Length": "-1"})
    assert response.status == 400


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"],
)
def test_a_body_that_is_not_json_is_415(content_type: str | None) -> None:
    response = _handle(
        Bot.create(), Source.QUAY, b"{}", content_type=content_type, query=f"token={SECRET}"
    )
    assert (response.status, response.result) == (415, Result.INVALID)


def test_the_content_type_header_is_used_when_none_is_passed() -> None:
    body = payloads.encode(payloads.quay_push())
    response = _handle(
        Bot.create(),
        Source.QUAY,
        body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        query=f"token={SECRET}",
        content_type=None,
    )
    assert response.status == 202


def test_an_authenticated_malformed_payload_is_400_invalid_with_the_reason() -> None:
    response = _deliver(Bot.create(), Source.DOCKERHUB, {"repository": {"repo_name": 3}})
    assert (response.status, response.result) == (400, Result.INVALID)
    assert "repository.repo_name: expected a string" in json.loads(response.body())["reason"]


def test_a_push_outside_the_trigger_images_is_202_ignored_and_nothing_runs() -> None:
    bot = Bot.create()
    response = _deliver(
        bot,
        Source.QUAY,
        payloads.quay_push(docker_url="quay.io/evil/api"),
        images=("quay.io/acme/*",),
    )
    assert (response.status, response.result) == (202, Result.IGNORED)
    assert "quay.io/evil/api matches none of images" in json.loads(response.body())["ignored"]
    assert bot.runs_after_settling() == [] and bot.claims.seen == set()


def test_a_layer_only_envelope_is_ignored() -> None:
    document = payloads.envelope(
        payloads.distribution_event(event_id="l", media_type=payloads.LAYER, tag=None)
    )
    response = _deliver(
        Bot.create(), Source.DISTRIBUTION, document, payloads.DISTRIBUTION_CONTENT_TYPE
    )
    assert response.result is Result.IGNORED


def test_a_github_ping_is_acknowledged_as_ignored() -> None:
    bot = Bot.create()
    body = payloads.encode({"zen": "Design for failure.", "hook_id": 1})
    headers, _ = _signed(Source.GITHUB, body)
    headers["X-GitHub-Event"] = "ping"
    response = _handle(bot, Source.GITHUB, body, headers=headers)
    assert (response.status, response.result) == (202, Result.IGNORED)


def test_the_same_github_delivery_twice_runs_once() -> None:
    bot = Bot.create()
    first = _deliver(bot, Source.GITHUB, payloads.github_package())
    second = _deliver(bot, Source.GITHUB, payloads.github_package())
    assert first.result is Result.ACCEPTED
    assert (second.status, second.result) == (200, Result.DUPLICATE)
    assert len(bot.runs_after_settling()) == 1


def test_a_replayed_github_body_under_a_new_delivery_id_is_a_duplicate() -> None:
    bot = Bot.create()
    body = payloads.encode(payloads.github_package())
    headers, _ = _signed(Source.GITHUB, body)
    assert _handle(bot, Source.GITHUB, body, headers=headers).result is Result.ACCEPTED
    headers["X-GitHub-Delivery"] = "forged-new-id"
    assert _handle(bot, Source.GITHUB, body, headers=headers).result is Result.DUPLICATE


def test_a_distribution_event_delivered_again_is_a_duplicate() -> None:
    bot = Bot.create()
    document = payloads.envelope(payloads.distribution_event(event_id="same"))
    assert _deliver(bot, Source.DISTRIBUTION, document).result is Result.ACCEPTED
    retried = payloads.envelope(payloads.distribution_event(event_id="same"))
    retried["events"][0]["timestamp"] = "2026-01-01T09:00:05Z"  # the id, not the bytes, decides
    assert _deliver(bot, Source.DISTRIBUTION, retried).result is Result.DUPLICATE


def test_three_distribution_deliveries_of_a_multi_arch_push_make_one_run() -> None:
    bot = Bot.create()
    events = [
        ("m1", payloads.DIGEST_A, payloads.OCI_MANIFEST),
        ("m2", payloads.DIGEST_B, payloads.OCI_MANIFEST),
        ("idx", payloads.DIGEST_INDEX, payloads.OCI_INDEX),
    ]
    for event_id, digest, media_type in events:
        document = payloads.envelope(
            payloads.distribution_event(event_id=event_id, digest=digest, media_type=media_type)
        )
        assert _deliver(bot, Source.DISTRIBUTION, document).status == 202
        bot.clock.advance(0.01)
    (run,) = bot.runs_after_settling()
    assert run.digest == payloads.DIGEST_INDEX and run.pushes == 3


def test_the_runner_full_is_503_with_retry_after_and_the_retry_is_not_a_duplicate() -> None:
    bot = Bot.create()
    bot.room = False
    document, _, _ = DOCUMENTS[Source.DISTRIBUTION]
    busy = _deliver(bot, Source.DISTRIBUTION, document)
    assert (busy.status, busy.result) == (503, Result.BUSY)
    assert ("Retry-After", str(handler.BUSY_RETRY_AFTER_SECONDS)) in busy.headers
    bot.room = True
    assert _deliver(bot, Source.DISTRIBUTION, document).result is Result.ACCEPTED


def test_an_unavailable_state_store_is_503_so_the_registry_retries() -> None:
    bot = Bot.create()

    def broken(trigger: str, key: str, keep: object) -> bool:
        raise errors.MyctlError("state database error: connection refused")

    services = handler.Services(claim_delivery=broken, coalescer=bot.coalescer, limiter=bot.limiter)
    body = payloads.encode(payloads.quay_push())
    response = handler.handle(
        trigger(Source.QUAY),
        SECRET,
        method="POST",
        headers={},
        query=f"token={SECRET}",
        body=body,
        content_type=JSON,
        services=services,
    )
    assert (response.status, response.result) == (503, Result.BUSY)


def test_over_the_rate_limit_is_429_with_retry_after() -> None:
    bot = Bot.create()
    outcomes = []
    for tag in ("v1", "v2", "v3"):
        response = _deliver(
            bot, Source.QUAY, payloads.quay_push(tags=(tag,)), rate_limit_per_hour=2
        )
        outcomes.append((response.status, response.result))
    assert outcomes == [(202, Result.ACCEPTED), (202, Result.ACCEPTED), (429, Result.RATE_LIMITED)]
    assert ("Retry-After", "3600") in response.headers
    assert len(bot.runs_after_settling()) == 2


def test_pushes_that_join_a_pending_run_do_not_count_against_the_rate_limit() -> None:
    bot = Bot.create()
    document = payloads.harbor_default()
    for occur_at in range(5):  # five retries-with-new-bodies of one push, within the window
        document["occur_at"] = occur_at
        assert _deliver(bot, Source.HARBOR, document, rate_limit_per_hour=1).status == 202
    assert len(bot.runs_after_settling()) == 1


def test_a_push_during_a_run_is_accepted_as_a_follow_up() -> None:
    bot = Bot.create()
    _deliver(bot, Source.QUAY, payloads.quay_push())
    (run,) = bot.runs_after_settling()
    document = payloads.quay_push()
    document["homepage"] += "?again"  # another delivery
    response = _deliver(bot, Source.QUAY, document)
    assert json.loads(response.body())["pushes"][0]["outcome"] == coalesce.Outcome.FOLLOW_UP.value
    bot.coalescer.finished(run)
    (follow_up,) = bot.runs_after_settling()
    assert follow_up.follow_up


def test_the_audit_details_never_contain_the_secret() -> None:
    bot = Bot.create()
    for source in Source:
        document, content_type, _ = DOCUMENTS[source]
        for secret in (SECRET, "wrong"):
            body = payloads.encode(document)
            headers, query = _signed(source, body, secret)
            response = _handle(
                bot, source, body, headers=headers, query=query, content_type=content_type
            )
            text = (
                json.dumps(response.audit_details(trigger(source)))
                + response.body().decode()
                + str(response.headers)
            )
            assert SECRET not in text
