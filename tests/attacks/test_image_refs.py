"""Image references: the valid forms normalize as runtimes do, the invalid ones are usage errors
(exit 2) with a short reason, and no text whatsoever makes `images.parse` raise anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.values import errors, images
from tests.attacks import strategies

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx:latest"),
        ("localhost:5000/api", "localhost:5000/api:latest"),
        ("registry.example.com:5000/team/api:1.4.2", "registry.example.com:5000/team/api:1.4.2"),
        ("ghcr.io/acme/platform/team/api:v1", "ghcr.io/acme/platform/team/api:v1"),
        (f"ghcr.io/acme/api:v1@{DIGEST}", f"ghcr.io/acme/api@{DIGEST}"),
        (
            f"ghcr.io/acme/api@{DIGEST.upper().replace('SHA256', 'sha256')}",
            f"ghcr.io/acme/api@{DIGEST}",
        ),
        ("[::1]:5000/api:1", "[::1]:5000/api:1"),
        ("Registry.Example.com/api:1", "registry.example.com/api:1"),  # hosts are case-blind
        ("a/b__c/d-e.f:TAG_1.0-x", "docker.io/a/b__c/d-e.f:TAG_1.0-x"),
    ],
)
def test_valid_forms_normalize_as_runtimes_do(text: str, normalized: str) -> None:
    assert str(images.parse(text)) == normalized


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NGINX", "lowercase"),
        ("ghcr.io/Acme/api:1", "lowercase"),
        ("", "empty"),
        ("nginx latest", "whitespace"),
        ("nginx:", "bad tag"),
        ("nginx:-x", "bad tag"),
        ("nginx:" + "t" * 129, "bad tag"),
        ("nginx@sha256:xyz", "bad digest"),
        ("nginx@sha256:" + "a" * 500, "bad digest"),
        ("reg istry/x", "whitespace"),
        ("-bad.host/x", "bad registry"),
        ("x//y", "bad name"),
        ("a/" + "b" * 300, "longer than 255"),
    ],
)
def test_invalid_forms_are_usage_errors_with_a_short_reason(text: str, reason: str) -> None:
    with pytest.raises(errors.UsageError) as caught:
        images.parse(text)
    message = str(caught.value)
    assert reason in message
    assert len(message) < 300, "the reference is cut when echoed (it reaches Slack)"


references = st.one_of(
    st.text(max_size=80),
    st.lists(st.text(alphabet="ab0._-", min_size=1, max_size=60), max_size=6).map("/".join),
    st.builds(
        lambda d, p, t, g: d + p + t + g,
        st.sampled_from(("", "ghcr.io/", "localhost:5000/", "[::1]:1/", "A.b/", "x:y/")),
        st.text(alphabet="abcAZ09._-/", max_size=40),
        st.sampled_from(("", ":", ":1", ":v1.0-x", ":" + "t" * 130, ":é")),
        st.sampled_from(("", "@", "@sha256:", "@" + DIGEST, "@md5:" + "0" * 32, "@@")),
    ),
    st.sampled_from(strategies.WORDS + strategies.QUIRKS),
)


@strategies.MANY
@given(references)
def test_no_text_makes_image_parsing_raise_anything_but_a_usage_error(text: str) -> None:
    try:
        ref = images.parse(text)
    except errors.UsageError as exc:
        assert len(str(exc)) < 400
        return
    # What parses is normalized and stable: parsing its own output gives it back.
    assert images.parse(str(ref)) == ref
    assert ref.repository == ref.repository.strip()
    assert ref.tag is not None or ref.digest is not None
