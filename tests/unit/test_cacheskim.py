"""Looking images up in an unsharded cache document without decoding the rest (cacheskim)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Any

import pytest

from commands.engine import cachedoc, cacheskim, cachestore, rebuild, select
from commands.kube import memory
from commands.values import images, settings, workloads
from tests.unit.helpers import make_engine

SCOPE = settings.Scope().as_document()
# Keys a naive text search would confuse: a prefix of another, quotes and non-ASCII escaped.
KEYS = (
    "registry.example.com/team/api:1.4",
    "registry.example.com/team/api:1.4.2",
    'weird/"quoted":tag',
    "registry.example.com/équipe/api:1",
)


def _entry(name: str, *containers: str) -> dict[str, Any]:
    return {"kind": "Deployment", "namespace": "shop", "name": name, "containers": list(containers)}


def _document(**raw: list[dict[str, Any]]) -> cachedoc.Document:
    images_: dict[str, list[Mapping[str, Any]]] = {
        key: raw.get(f"k{i}", [_entry(f"w{i}", "app")]) for i, key in enumerate(KEYS)
    }
    return cachedoc.Document("2026-12-01T09:00:00Z", SCOPE, cachedoc.LazyImages(images_), 4)


def _text(document: cachedoc.Document) -> str:
    encoded = cachedoc.encode(document)
    if encoded.compressed:
        return gzip.decompress(encoded.binary_data[cachedoc.BINARY_KEY]).decode()
    return encoded.data[cachedoc.DATA_KEY]


def test_every_image_is_found_as_the_whole_decode_finds_it() -> None:
    document = _document(k1=[_entry("a", "app", "sidecar"), _entry("b", "app")])
    skimmed = cacheskim.skim(_text(document))
    assert skimmed is not None
    assert (skimmed.built_at, skimmed.scope, skimmed.workloads) == (
        "2026-12-01T09:00:00Z",
        SCOPE,
        4,
    )
    assert len(skimmed.images) == len(KEYS)
    for key in KEYS:
        assert key in skimmed.images
        assert skimmed.images[key] == document.images[key]
    assert "registry.example.com/team/api" not in skimmed.images
    assert "registry.example.com/team/api:1" not in skimmed.images
    with pytest.raises(KeyError):
        skimmed.images["docker.io/library/nginx:1.27"]
    assert sorted(skimmed.images) == sorted(KEYS)  # iterating decodes the whole


def test_an_empty_document_has_no_images() -> None:
    empty = cachedoc.Document("2026-12-01T09:00:00Z", SCOPE, cachedoc.LazyImages({}), 0)
    skimmed = cacheskim.skim(_text(empty))
    assert skimmed is not None
    assert len(skimmed.images) == 0 and KEYS[0] not in skimmed.images


@pytest.mark.parametrize(
    "dump",
    [
        lambda payload: json.dumps(payload),  # spaces after separators
        lambda payload: json.dumps(payload, separators=(",", ":")),  # keys unsorted
        lambda payload: json.dumps({"schemaVersion": 2, "images": 3, "builtAt": "x"}),  # an index
    ],
)
def test_other_forms_are_left_to_the_whole_decode(dump: Any) -> None:
    payload = {"schemaVersion": 1, "images": {KEYS[0]: [_entry("w", "app")]}, "scope": SCOPE}
    assert cacheskim.skim(dump({"builtAt": "2026-12-01T09:00:00Z", **payload})) is None


def test_a_damaged_entry_is_corrupt_when_looked_up() -> None:
    text = _text(_document(k1=[{"kind": "Pod", "namespace": "shop", "name": "x"}]))
    skimmed = cacheskim.skim(text)
    assert skimmed is not None
    assert skimmed.images[KEYS[0]]  # another image's entries are not checked
    with pytest.raises(cachedoc.Corrupt, match="malformed"):
        skimmed.images[KEYS[1]]


def test_an_unknown_schema_version_is_corrupt() -> None:
    text = _text(_document()).replace('"schemaVersion":1', '"schemaVersion":7')
    with pytest.raises(cachedoc.Corrupt, match="unknown schema version 7"):
        cacheskim.skim(text)


def test_select_reads_a_skimmed_document_and_check_the_whole() -> None:
    cluster = memory.MemoryCluster()
    image = "registry.example.com/team/api:1.4.2"
    for index in range(3):
        cluster.add(workloads.Kind.DEPLOYMENT, "shop", f"api-{index}", image)
    engine = make_engine(cluster)
    rebuild.run(engine)
    stored = cachestore.read(engine, all_shards=False)
    assert stored is not None and isinstance(stored.document.images, cacheskim.SkimmedImages)
    whole = cachestore.read(engine, all_shards=True)
    assert whole is not None and isinstance(whole.document.images, cachedoc.LazyImages)
    found = select.run(engine, [images.parse(image)])
    assert [match.workload.name for match in found.matches] == ["api-0", "api-1", "api-2"]
