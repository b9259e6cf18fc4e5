import pytest

from commands.values import errors, images

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "text",
    ["nginx", "docker.io/nginx", "index.docker.io/library/nginx", "docker.io/library/nginx:latest"],
)
def test_docker_hub_short_forms_normalize_to_one_reference(text: str) -> None:
    assert str(images.parse(text)) == "docker.io/library/nginx:latest"


def test_tag_defaults_to_latest_only_without_tag_or_digest() -> None:
    assert str(images.parse("nginx:1.27")) == "docker.io/library/nginx:1.27"
    assert str(images.parse(f"nginx@{DIGEST}")) == f"docker.io/library/nginx@{DIGEST}"


def test_digest_is_the_identity_when_tag_and_digest_are_given() -> None:
    ref = images.parse(f"registry.example.com/team/api:1.4.2@{DIGEST}")
    assert str(ref) == f"registry.example.com/team/api@{DIGEST}"
    assert ref.pinned_by_digest


def test_registry_with_port_is_kept() -> None:
    ref = images.parse("localhost:5000/api:2")
    assert ref.repository == "localhost:5000/api"
    assert ref.tag == "2"


def test_user_repository_on_docker_hub_gets_no_library_prefix() -> None:
    assert str(images.parse("bitnami/redis:7")) == "docker.io/bitnami/redis:7"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("Nginx:1", "lowercase"),
        ("nginx:bad tag", "whitespace"),
        ("nginx@sha256:xyz", "bad digest"),
        ("nginx:" + "x" * 200, "bad tag"),
    ],
)
def test_malformed_references_are_usage_errors(text: str, reason: str) -> None:
    with pytest.raises(errors.UsageError, match=reason) as caught:
        images.parse(text)
    assert caught.value.exit_code == 2


def test_repository_match_ignores_tag_and_digest() -> None:
    wanted = images.parse("registry.example.com/team/api:1.4.2")
    other_tag = images.parse("registry.example.com/team/api:1.4.1")
    by_digest = images.parse(f"registry.example.com/team/api@{DIGEST}")
    assert not other_tag.matches(wanted, images.MatchMode.EXACT)
    assert other_tag.matches(wanted, images.MatchMode.REPOSITORY)
    assert by_digest.matches(wanted, images.MatchMode.REPOSITORY)
    assert not images.parse("registry.example.com/team/web:1.4.2").matches(
        wanted, images.MatchMode.REPOSITORY
    )


HEX = "ab" * 32


@pytest.mark.parametrize(
    ("image_id", "digest"),
    [
        (f"docker.io/library/nginx@sha256:{HEX}", f"sha256:{HEX}"),  # containerd, CRI-O
        (f"docker-pullable://nginx@sha256:{HEX}", f"sha256:{HEX}"),  # dockershim
        (f"sha256:{HEX}", f"sha256:{HEX}"),  # a bare digest
        (f"127.0.0.1:5000/team/api@sha256:{HEX.upper()}", f"sha256:{HEX}"),
        (HEX, f"sha256:{HEX}"),
        ("", None),  # a container that has not started
        ("docker.io/library/nginx:1.27", None),
        ("sha256:abc", None),
    ],
)
def test_image_ids_normalize_to_a_sha256_digest(image_id: str, digest: str | None) -> None:
    assert images.digest_of_image_id(image_id) == digest


def test_tag_and_digest_name_the_tag_to_select_and_the_digest_to_expect() -> None:
    ref, expected = images.parse_rollout(f"ghcr.io/acme/api:1.4@sha256:{HEX}")
    assert (str(ref), expected) == ("ghcr.io/acme/api:1.4", f"sha256:{HEX}")
    assert images.parse_rollout(f"ghcr.io/acme/api@sha256:{HEX}")[1] is None
    assert images.parse_rollout("localhost:5000/api:2")[1] is None


def test_a_malformed_digest_is_a_usage_error_naming_the_flag() -> None:
    with pytest.raises(errors.UsageError, match="--expect-digest"):
        images.parse_digest("sha256:xyz")
