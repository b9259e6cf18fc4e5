"""Looking images up in an unsharded cache document without decoding the rest (cacheskim)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Any

import pytest

from commands.engine import cachedoc, cacheskim, cachestore, check, rebuild, select
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
    assert whole is not None and len(whole.document.images) == 1  # every entry validated
    found = select.run(engine, [images.parse(image)])
    assert [match.workload.name for match in found.matches] == ["api-0", "api-1", "api-2"]


def _large_text(**raw: list[dict[str, Any]]) -> str:
    """A canonical document of 300 images, `raw` replacing some images' entries."""
    listed: dict[str, list[Mapping[str, Any]]] = {
        f"registry.example.com/team/app-{i:03}:1": [_entry(f"w{i}-{j}", "app") for j in range(3)]
        for i in range(300)
    }
    listed.update(raw)
    document = cachedoc.Document("2026-12-01T09:00:00Z", SCOPE, cachedoc.LazyImages(listed), 900)
    return _text(document)


DEEP = "registry.example.com/team/app-297:1"


@pytest.mark.parametrize(
    "entries",
    [
        [_entry("a", "app"), {"kind": "Pod", "namespace": "shop", "name": "x", "containers": []}],
        [{"kind": "Deployment", "namespace": "shop", "name": "x"}],
        [{"kind": "Deployment", "namespace": 3, "name": "x", "containers": []}],
        [{"kind": "Deployment", "namespace": "shop", "name": "x", "containers": "app"}],
        [{**_entry("x", "app"), "extra": 1}],
        [_entry("x", "app", 7)],  # type: ignore[arg-type]
        [],
        ["not an entry"],
    ],
)
def test_check_validates_a_deep_entry_exactly_as_the_whole_decode(entries: list[Any]) -> None:
    text = _large_text(**{DEEP: entries})
    try:
        expected: object = cachedoc.from_json(json.loads(text))
    except cachedoc.Corrupt as exc:
        expected = str(exc)
    checked = cacheskim.skim(text, validated=True)
    if isinstance(expected, str):
        assert checked is None  # left to the whole decode, which gives its own message
        assert "malformed" in expected
    elif checked is not None:  # what the fast path accepts, the whole decode accepts alike
        assert isinstance(expected, cachedoc.Document)
        assert (checked.built_at, checked.scope, checked.workloads) == (
            expected.built_at,
            expected.scope,
            expected.workloads,
        )
        assert len(checked.images) == len(expected.images) == 300
        assert checked.images[DEEP] == expected.images[DEEP]


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace('app-150:1"', 'app-15\\u0030:1"'),  # an escaped key
        lambda text: text.replace("app-151:1", "app-150:1"),  # a repeated key
        lambda text: text.replace(',"schemaVersion":1', ',"images":{},"schemaVersion":1'),
        lambda text: text.replace('"namespace":"shop"}]', '"namespace":"shop"}],', 1),
        lambda text: text.replace('"schemaVersion":1', '"schemaVersion":2'),
    ],
)
def test_what_the_fast_check_cannot_vouch_for_goes_to_the_whole_decode(edit: Any) -> None:
    text = edit(_large_text())
    assert text != _large_text()
    assert cacheskim.skim(text, validated=True) is None


def test_check_reports_a_malformed_entry_deep_in_a_large_cache() -> None:
    cluster = memory.MemoryCluster()
    cluster.add(workloads.Kind.DEPLOYMENT, "shop", "api-0", "registry.example.com/team/api:1")
    engine = make_engine(cluster)
    rebuild.run(engine)
    bad = [{"kind": "Pod", "namespace": "shop", "name": "x", "containers": []}]
    encoded = cachedoc.encode_payload(json.loads(_large_text(**{DEEP: bad})))
    cache = engine.settings.cache
    index = cluster.read_cache(cache.namespace, cache.name)
    assert index is not None
    cluster.write_cache(
        cache.namespace,
        cache.name,
        data=encoded.data,
        binary_data=encoded.binary_data,
        resource_version=index.resource_version,
    )
    result = check.run(engine)
    assert not result.valid
    assert (
        result.reason
        == f"the cache document is malformed (ValueError: bad workload entry under {DEEP})"
    )
