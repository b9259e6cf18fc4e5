"""Every registry's documented payload parses into normalized pushes; anything else is clear."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from bot.hooks import push, sources
from commands.values import triggers
from tests.bot.hooks import payloads
from tests.bot.hooks.support import trigger

Source = triggers.Source
Push = push.Push


def _parse(
    source: Source, document: object, headers: dict[str, str] | None = None, **options: Any
) -> push.Parsed:
    body = document if isinstance(document, bytes) else payloads.encode(document)
    return sources.parse(trigger(source, **options), headers or {}, body)


def _github(document: object, event: str = "package") -> push.Parsed:
    return _parse(Source.GITHUB, document, {"x-github-event": event})


# --- GitHub --------------------------------------------------------------------------------


def test_a_github_package_event_is_a_push_to_ghcr_with_tag_and_digest() -> None:
    parsed = _github(payloads.github_package())
    assert parsed.pushes == (Push("ghcr.io/acme/api", "v1.2.3", payloads.DIGEST_A),)


@pytest.mark.parametrize("action", ["published", "updated"])
def test_the_older_registry_package_event_is_read_too(action: str) -> None:
    document = payloads.github_package(key="registry_package", action=action, tag="main")
    parsed = _github(document, event="registry_package")
    assert parsed.pushes == (Push("ghcr.io/acme/api", "main", payloads.DIGEST_A),)


def test_the_github_owner_is_lower_cased() -> None:
    parsed = _github(payloads.github_package(owner="MixedCase-Org"))
    assert parsed.pushes[0].repository == "ghcr.io/mixedcase-org/api"


def test_a_github_package_that_is_not_a_container_is_skipped() -> None:
    parsed = _github(payloads.github_package(package_type="npm"))
    assert parsed.pushes == ()
    assert "not a container" in parsed.skipped[0]


def test_an_untagged_github_version_is_skipped() -> None:
    parsed = _github(payloads.github_package(tag=""))
    assert parsed.pushes == () and "untagged" in parsed.skipped[0]


@pytest.mark.parametrize(
    ("event", "document"),
    [
        ("ping", {"zen": "Keep it logically awesome.", "hook_id": 1}),
        ("push", {"ref": "refs/heads/main"}),
        ("package", payloads.github_package(action="deleted")),
        ("", payloads.github_package()),
    ],
)
def test_other_github_events_and_actions_are_skipped(event: str, document: object) -> None:
    parsed = _github(document, event=event)
    assert parsed.pushes == () and parsed.skipped


# --- Docker Hub ----------------------------------------------------------------------------


def test_a_docker_hub_push_is_on_docker_io_without_a_digest() -> None:
    parsed = _parse(Source.DOCKERHUB, payloads.dockerhub_push(repo_name="acme/api", tag="1.0"))
    assert parsed.pushes == (Push("docker.io/acme/api", "1.0", None),)


def test_a_docker_hub_official_image_normalizes_like_a_runtime() -> None:
    parsed = _parse(Source.DOCKERHUB, payloads.dockerhub_push(repo_name="library/nginx"))
    assert parsed.pushes[0].repository == "docker.io/library/nginx"


# --- Harbor --------------------------------------------------------------------------------


def test_a_harbor_default_push_uses_the_resource_url_host() -> None:
    parsed = _parse(Source.HARBOR, payloads.harbor_default())
    assert parsed.pushes == (Push("hub.harbor.example.com/team/api", "v2", payloads.DIGEST_A),)
    assert parsed.event_ids == ()


def test_a_harbor_cloudevent_push_carries_its_event_id() -> None:
    parsed = _parse(Source.HARBOR, payloads.harbor_cloudevent(event_id="ev-1"))
    assert parsed.pushes == (
        Push("hub.harbor.example.com/team/api", "v2", payloads.DIGEST_A, event_id="ev-1"),
    )
    assert parsed.event_ids == ("ev-1",)


def test_a_harbor_push_by_digest_reports_no_tag_and_is_skipped() -> None:
    document = payloads.harbor_default(
        resources=[(payloads.DIGEST_B, payloads.DIGEST_B), ("v3", payloads.DIGEST_A)]
    )
    parsed = _parse(Source.HARBOR, document)
    assert [p.tag for p in parsed.pushes] == ["v3"]
    assert "by digest" in parsed.skipped[0]


@pytest.mark.parametrize(
    "document",
    [
        payloads.harbor_default(kind="PULL_ARTIFACT"),
        payloads.harbor_cloudevent(kind="harbor.artifact.deleted"),
    ],
)
def test_other_harbor_events_are_skipped(document: dict[str, Any]) -> None:
    parsed = _parse(Source.HARBOR, document)
    assert parsed.pushes == () and "not an artifact push" in parsed.skipped[0]


def test_the_trigger_registry_replaces_the_harbor_host() -> None:
    parsed = _parse(Source.HARBOR, payloads.harbor_default(), registry="harbor.internal:8443")
    assert parsed.pushes[0].repository == "harbor.internal:8443/team/api"


# --- distribution --------------------------------------------------------------------------


def test_a_distribution_envelope_yields_tagged_manifest_pushes_only() -> None:
    document = payloads.envelope(
        payloads.distribution_event(event_id="e1", media_type=payloads.LAYER, tag=None),
        payloads.distribution_event(event_id="e2", repository="team/api", tag="v1"),
        payloads.distribution_event(
            event_id="e3",
            repository="team/web",
            tag="v9",
            digest=payloads.DIGEST_B,
            media_type=payloads.OCI_MANIFEST,
        ),
        payloads.distribution_event(event_id="e4", action="pull"),
        payloads.distribution_event(event_id="e5", tag=None, media_type=payloads.OCI_MANIFEST),
    )
    parsed = _parse(Source.DISTRIBUTION, document)
    assert parsed.pushes == (
        Push("registry.example.com:5000/team/api", "v1", payloads.DIGEST_A, "e2"),
        Push("registry.example.com:5000/team/web", "v9", payloads.DIGEST_B, "e3"),
    )
    assert len(parsed.skipped) == 3
    assert parsed.event_ids == ("e1", "e2", "e3", "e4", "e5")


def test_a_multi_arch_push_yields_the_tagged_index() -> None:
    document = payloads.envelope(
        payloads.distribution_event(event_id="p1", tag=None, media_type=payloads.OCI_MANIFEST),
        payloads.distribution_event(
            event_id="p2", tag=None, digest=payloads.DIGEST_B, media_type=payloads.OCI_MANIFEST
        ),
        payloads.distribution_event(
            event_id="i", tag="v1", digest=payloads.DIGEST_INDEX, media_type=payloads.OCI_INDEX
        ),
    )
    parsed = _parse(Source.DISTRIBUTION, document)
    assert [(p.tag, p.digest) for p in parsed.pushes] == [("v1", payloads.DIGEST_INDEX)]


def test_the_trigger_registry_overrides_request_host() -> None:
    document = payloads.envelope(payloads.distribution_event(event_id="e", host="registry"))
    parsed = _parse(Source.DISTRIBUTION, document, registry="registry.example.com")
    assert parsed.pushes[0].repository == "registry.example.com/team/api"


def test_a_request_host_that_is_no_registry_host_is_skipped_with_advice() -> None:
    document = payloads.envelope(payloads.distribution_event(event_id="e", host="registry"))
    parsed = _parse(Source.DISTRIBUTION, document)
    assert parsed.pushes == ()
    assert "set the trigger's registry" in parsed.skipped[0]


def test_a_local_registry_host_keeps_its_port() -> None:
    document = payloads.envelope(payloads.distribution_event(event_id="e", host="127.0.0.1:5000"))
    assert _parse(Source.DISTRIBUTION, document).pushes[0].repository == "127.0.0.1:5000/team/api"


# --- Quay ----------------------------------------------------------------------------------


def test_a_quay_push_yields_each_updated_tag() -> None:
    parsed = _parse(Source.QUAY, payloads.quay_push(tags=("latest", "v4")))
    assert parsed.pushes == (
        Push("quay.io/acme/api", "latest", None),
        Push("quay.io/acme/api", "v4", None),
    )


def test_the_early_quay_mapping_of_tags_is_read_by_its_keys() -> None:
    parsed = _parse(Source.QUAY, payloads.quay_push(tags={"latest": "b750fe79269d2ec9a3c5"}))
    assert parsed.pushes == (Push("quay.io/acme/api", "latest", None),)


def test_a_self_hosted_quay_keeps_its_host() -> None:
    parsed = _parse(Source.QUAY, payloads.quay_push(docker_url="quay.corp.example/acme/api"))
    assert parsed.pushes[0].repository == "quay.corp.example/acme/api"


# --- malformed -----------------------------------------------------------------------------


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("source", "body", "message"),
    [
        (Source.DISTRIBUTION, b"not json", "body is not JSON"),
        (Source.DISTRIBUTION, b"\xff\xfe", "not UTF-8"),
        (Source.DISTRIBUTION, _deep(100), "nests too deeply"),
        (Source.DISTRIBUTION, _deep(100_000), "nests too deeply"),
        (Source.DISTRIBUTION, b'{"events": 1' + b"0" * 5000 + b"}", "JSON"),
        (Source.DISTRIBUTION, b"[]", "body: expected an object"),
        (Source.DISTRIBUTION, b'{"events": {}}', "events: expected an array"),
        (Source.DISTRIBUTION, b'{"events": ["x"]}', "events[0]: expected an object"),
        (
            Source.DISTRIBUTION,
            payloads.encode(
                payloads.envelope(
                    {
                        "action": "push",
                        "target": {"mediaType": payloads.MANIFEST_V2, "repository": 7, "tag": "v1"},
                    }
                )
            ),
            "events[0].target.repository: expected a string",
        ),
        (
            Source.DISTRIBUTION,
            payloads.encode(
                payloads.envelope(payloads.distribution_event(event_id="e", repository="Team/API"))
            ),
            "must be lowercase",
        ),
        (
            Source.DISTRIBUTION,
            payloads.encode(
                payloads.envelope(payloads.distribution_event(event_id="e", digest="sha256:short"))
            ),
            "bad digest",
        ),
        (
            Source.DOCKERHUB,
            b'{"repository": {"repo_name": "acme/api"}, "push_data": {"tag": 5}}',
            "push_data.tag: expected a string",
        ),
        (Source.DOCKERHUB, b'{"repository": "acme/api"}', "repository: expected an object"),
        (
            Source.HARBOR,
            b'{"type": "PUSH_ARTIFACT", "event_data": '
            b'{"repository": {"repo_full_name": "a/b"}, "resources": "x"}}',
            "event_data.resources: expected an array",
        ),
        (
            Source.HARBOR,
            b'{"type": "PUSH_ARTIFACT", "event_data": {"repository": {}, "resources": []}}',
            "event_data.repository.repo_full_name",
        ),
        (
            Source.QUAY,
            b'{"docker_url": "quay.io/acme/api", "updated_tags": "latest"}',
            "updated_tags: expected an array",
        ),
        (
            Source.QUAY,
            b'{"docker_url": "quay.io", "updated_tags": ["x"]}',
            "docker_url: 'quay.io' names no repository",
        ),
        (
            Source.QUAY,
            b'{"docker_url": "quay.io/acme/api", "updated_tags": ["bad tag!"]}',
            "bad tag",
        ),
    ],
)
def test_a_malformed_payload_is_invalid_with_a_clear_reason(
    source: Source, body: bytes, message: str
) -> None:
    with pytest.raises(push.InvalidPayload) as caught:
        sources.parse(trigger(source), {"x-github-event": "package"}, body)
    assert message in str(caught.value)


def test_a_github_payload_with_wrong_types_is_invalid() -> None:
    document = payloads.github_package()
    document["package"]["package_version"]["container_metadata"]["tag"] = ["v1"]
    with pytest.raises(push.InvalidPayload, match=r"container_metadata\.tag: expected an object"):
        _github(document)


def test_every_source_rejects_a_non_object_without_another_exception() -> None:
    for source in Source:
        for body in (b"null", b"1", b'"x"', b"[]", b"{}", b'{"events": [null]}'):
            with contextlib.suppress(push.InvalidPayload):
                sources.parse(trigger(source), {"x-github-event": "package"}, body)
