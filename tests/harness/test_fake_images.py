"""How the fake kubelet reads image references (no cluster needed)."""

from __future__ import annotations

import pytest

from tests.support import fake_images

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("image", "key"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx:latest"),
        ("acme/app:1.2", "docker.io/acme/app:1.2"),
        ("ghcr.io/acme/app", "ghcr.io/acme/app:latest"),
        ("localhost/app:dev", "localhost/app:dev"),
        ("127.0.0.1:5000/team/app:v1", "127.0.0.1:5000/team/app:v1"),
        (f"nginx@{DIGEST}", f"docker.io/library/nginx@{DIGEST}"),
        (f"nginx:1.27@{DIGEST}", f"docker.io/library/nginx@{DIGEST}"),
    ],
)
def test_references_normalize_as_container_runtimes_do(image: str, key: str) -> None:
    assert fake_images.normalize(image).key == key


@pytest.mark.parametrize(
    ("image", "loopback"),
    [
        ("127.0.0.1:5000/app", True),
        ("127.1.2.3:80/app:v1", True),
        ("localhost:5000/app", True),
        ("[::1]:5000/app", True),
        ("registry.example.com/app", False),
        ("nginx", False),
        ("localhost.example.com/app", False),
    ],
)
def test_only_registries_on_this_machine_are_asked_over_http(image: str, loopback: bool) -> None:
    assert fake_images.normalize(image).loopback is loopback


def test_the_docker_form_uses_the_short_name() -> None:
    assert fake_images.normalize("docker.io/library/nginx").familiar == "nginx"
    assert fake_images.normalize("acme/app").familiar == "acme/app"
    assert fake_images.normalize("ghcr.io/acme/app").familiar == "ghcr.io/acme/app"


def test_the_default_pull_policy_is_always_only_for_latest() -> None:
    assert fake_images.default_pull_policy(fake_images.normalize("nginx")) == "Always"
    assert fake_images.default_pull_policy(fake_images.normalize("nginx:1")) == "IfNotPresent"
    pinned = fake_images.normalize(f"nginx@{DIGEST}")
    assert fake_images.default_pull_policy(pinned) == "IfNotPresent"


def test_moving_a_tag_gives_a_new_reproducible_digest() -> None:
    key = fake_images.normalize("acme/app:1").key
    start = fake_images.synthetic_digest(key)
    moved = fake_images.next_digest(key, start)
    assert moved != start
    assert moved == fake_images.next_digest(key, start)
    assert fake_images.next_digest(key, moved) not in (start, moved)


def test_overrides_map_references_to_digests_and_skip_bad_values() -> None:
    key = fake_images.override_key("docker.io/acme/app:1")
    data = {key: f"acme/app:1@{DIGEST}", "typo": "acme/app:2@sha256:short", "x": "no digest"}
    assert fake_images.parse_overrides(data) == {"docker.io/acme/app:1": DIGEST}
    assert all(c.isalnum() or c in "-._" for c in key)
