"""Registry webhook payloads, hostile and generated, through `bot.hooks.handler.handle` for every
source: documented shapes with random values, wrong-typed fields anywhere, truncated bodies and
credentials of another trigger. The handler answers 2xx or 4xx; it never raises and never
answers 5xx (503 only means "runner full", which these tests never make it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.hooks import handler
from commands.values import triggers
from tests.attacks import strategies
from tests.bot.hooks import payloads
from tests.bot.hooks.support import Bot, trigger

Source = triggers.Source
SECRET = payloads.SECRET
JSON_TYPES = {
    Source.HARBOR: "application/cloudevents+json",
    Source.DISTRIBUTION: payloads.DISTRIBUTION_CONTENT_TYPE,
}
SAFE = {200, 202, 400, 401, 413, 415, 429}


def credentials(source: Source, body: bytes, secret: str = SECRET) -> tuple[dict[str, str], str]:
    if source is Source.GITHUB:
        return {
            "X-GitHub-Event": "package",
            "X-Hub-Signature-256": payloads.github_signature(body, secret),
            "X-GitHub-Delivery": "d-" + str(hash(body)),
        }, ""
    if source is Source.HARBOR:
        return {"Authorization": secret}, ""
    if source is Source.DISTRIBUTION:
        return {"Authorization": f"Bearer {secret}"}, ""
    return {}, f"token={secret}"


def deliver(
    source: Source, body: bytes, *, bot: Bot | None = None, secret: str = SECRET, **trig: Any
) -> handler.Response:
    headers, query = credentials(source, body, secret)
    return handler.handle(
        trigger(source, **trig),
        SECRET,
        method="POST",
        headers=headers,
        query=query,
        body=body,
        content_type=JSON_TYPES.get(source, "application/json"),
        services=(bot or Bot.create()).services,
    )


names = st.text(max_size=40)
tags = st.one_of(st.text(max_size=20), st.sampled_from(("v1", "latest", "", "x" * 200)))
digests = st.one_of(st.just(payloads.DIGEST_A), st.text(max_size=80), st.just("sha256:" + "Z" * 64))


def documents(source: Source) -> st.SearchStrategy[Any]:
    """The source's documented payload, with random values in the fields that matter."""
    if source is Source.GITHUB:
        return st.builds(
            lambda o, n, t, d, k: payloads.github_package(owner=o, name=n, tag=t, digest=d, key=k),
            names, names, tags, digests, st.sampled_from(("package", "registry_package")),
        )  # fmt: skip
    if source is Source.DOCKERHUB:
        return st.builds(lambda r, t: payloads.dockerhub_push(repo_name=r, tag=t), names, tags)
    if source is Source.HARBOR:
        resources = st.lists(st.tuples(tags, digests), min_size=1, max_size=4)
        return st.one_of(
            st.builds(
                lambda h, r, res: payloads.harbor_cloudevent(
                    host=h, repo_full_name=r, resources=res
                ),
                names, names, resources,
            ),
            st.builds(
                lambda h, r, res: payloads.harbor_default(host=h, repo_full_name=r, resources=res),
                names, names, resources,
            ),
        )  # fmt: skip
    if source is Source.DISTRIBUTION:
        event = st.builds(
            lambda i, r, t, d, h: payloads.distribution_event(
                event_id=i, repository=r, tag=t, digest=d, host=h
            ),
            names, names, st.none() | tags, digests, names,
        )  # fmt: skip
        return st.lists(event, max_size=5).map(lambda es: payloads.envelope(*es))
    return st.builds(
        lambda u, t: payloads.quay_push(docker_url=u, tags=t),
        names, st.lists(tags, max_size=4).map(tuple),
    )  # fmt: skip


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(node))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return copy


@st.composite
def mutated(draw: st.DrawFn, source: Source) -> Any:
    """A documented payload with one field anywhere (or the whole document) of a wrong type."""
    document = draw(documents(source))
    path = draw(st.sampled_from(_paths(document)))
    return _replace(document, path, draw(json_values))


@pytest.mark.parametrize("source", list(Source))
def test_documented_shapes_with_random_values_are_never_a_crash(source: Source) -> None:
    @strategies.FEW
    @given(documents(source))
    def check(document: Any) -> None:
        response = deliver(source, payloads.encode(document))
        assert response.status in SAFE - {401, 413, 415}, response
        json.loads(response.body())  # the answer is always JSON

    check()


@pytest.mark.parametrize("source", list(Source))
def test_wrong_typed_fields_anywhere_are_4xx_or_ignored_never_a_crash(source: Source) -> None:
    @strategies.MID
    @given(mutated(source))
    def check(document: Any) -> None:
        response = deliver(source, payloads.encode(document))
        assert response.status in SAFE - {401, 413, 415}, response
        if response.status == 202:
            for item in response.pushes:  # whatever was accepted is a valid reference
                assert item.reference

    check()


@pytest.mark.parametrize("source", list(Source))
def test_truncated_bodies_are_400_and_nothing_is_claimed(source: Source) -> None:
    body = payloads.encode(
        {
            Source.GITHUB: payloads.github_package(),
            Source.DOCKERHUB: payloads.dockerhub_push(),
            Source.HARBOR: payloads.harbor_cloudevent(),
            Source.DISTRIBUTION: payloads.envelope(payloads.distribution_event(event_id="e1")),
            Source.QUAY: payloads.quay_push(),
        }[source]
    )
    for cut in (0, 1, 2, len(body) // 3, len(body) // 2, len(body) - 1):
        bot = Bot.create()
        response = deliver(source, body[:cut], bot=bot)
        assert response.status == 400, (cut, response)
        assert bot.claims.seen == set() and bot.runs_after_settling() == []


@pytest.mark.parametrize("source", list(Source))
@pytest.mark.parametrize(
    "body", [b"\xff\xfe\x00", b"[]", b"null", b'"push"', b"1e999", b'{"a":' * 5000]
)
def test_non_object_and_non_utf8_bodies_are_400(source: Source, body: bytes) -> None:
    assert deliver(source, body).status == 400


@pytest.mark.parametrize("source", list(Source))
def test_a_valid_credential_for_one_trigger_is_refused_by_another(source: Source) -> None:
    """Trigger A's secret signs the body; trigger B (its own secret) must answer 401."""
    bot = Bot.create()
    body = payloads.encode(
        payloads.envelope(payloads.distribution_event(event_id="e1"))
        if source is Source.DISTRIBUTION
        else payloads.github_package()
        if source is Source.GITHUB
        else payloads.dockerhub_push()
        if source is Source.DOCKERHUB
        else payloads.harbor_cloudevent()
        if source is Source.HARBOR
        else payloads.quay_push()
    )
    response = deliver(source, body, bot=bot, secret="the-secret-of-trigger-a")
    assert (response.status, response.result) == (401, handler.Result.UNAUTHORIZED)
    assert b"trigger-a" not in response.body() and SECRET.encode() not in response.body()
    assert bot.claims.seen == set() and bot.runs_after_settling() == []
