"""One image's entries from an unsharded cache document, without decoding the others.

`select` looks up one or two images, but `json.loads` of a 10k-workload document (1.26 MB of
JSON) builds every entry of every image first: ~10–15 ms of a ~220 ms CLI process
(docs/benchmarks.md §C). `encode_payload` writes one canonical form (sorted keys, no spaces,
ASCII), so the document is

    {"builtAt":"…","images":{"<key>":[{…},…],…},"schemaVersion":1,"scope":{…},"workloads":N}

and a key's entries can be found by text search and decoded alone: in that form a `"` that
follows `{` or `,` always opens a string (a quote inside a string is escaped), so `"<key>":[`
there is an object key, and no key of an entry or of the scope looks like an image. A text in
any other form (an older writer, a hand edit) returns None from `skim`, and the caller decodes
it whole as before.

What `skim` does not check: entries of images nobody looked up; a damaged stored text fails
gzip's checksum first. `check` validates every entry (`skim(text, validated=True)`): each
image's list is matched against the canonical entry grammar below, which accepts only what the
whole decode and `cachedoc.validated_images` accept, at about half the cost of `json.loads`
plus the loop, with no 30k objects to build and free (docs/benchmarks.md §C). Anything it
cannot vouch for goes to the whole decode, which reports it with its own message.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from commands.engine import cachedoc
from commands.values import workloads

_HEAD = '{"builtAt":'
_IMAGES = ',"images":{'
_TAIL = '},"schemaVersion":'
# Between two images' lists: the last entry object of one, then the next key.
_BETWEEN = '}],"'
_decoder = json.JSONDecoder()
# A JSON string as `json.dumps` writes it with ensure_ascii: printable ASCII but `"` and `\`,
# or an escape; `json.loads` accepts exactly these (no raw control characters).
_STRING = r'"[ !#-\[\]-~]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[ !#-\[\]-~]*)*"'


def skim(text: str, *, validated: bool = False) -> cachedoc.Document | None:
    """The document in `text`, its entries decoded on lookup; None when `text` is not in the
    canonical unsharded form (decode it whole). Raises `Corrupt` for a bad header.

    `validated` (check): every entry is checked too, and None (never `Corrupt`) stands for
    anything unusual, so that the whole decode reports it exactly as it always has."""
    if not text.startswith(_HEAD):
        return None
    try:
        built_at, after = _decoder.raw_decode(text, len(_HEAD))
        tail = text.rindex(_TAIL)
        # The header's remaining fields, as one small object: `{"schemaVersion":…}`.
        rest = json.loads("{" + text[tail + 2 :])
    except (ValueError, TypeError):
        return None
    start = after + len(_IMAGES) - 1  # the `{` of the images object
    if text[after : start + 1] != _IMAGES or tail < start or not isinstance(rest, dict):
        return None
    if "images" in rest or "builtAt" in rest:
        return None  # a repeated key (a hand edit): the whole decode keeps the last one
    count = None
    if validated:
        count = _count_valid(text, start, tail + 1)
        if count is None or rest.get("schemaVersion") != cachedoc.SCHEMA_VERSION:
            return None
        try:
            header = cachedoc.header_of({"builtAt": built_at, **rest}, cachedoc.SCHEMA_VERSION)
        except cachedoc.Corrupt:
            return None
    else:
        header = cachedoc.header_of({"builtAt": built_at, **rest}, cachedoc.SCHEMA_VERSION)
    images = SkimmedImages(text, start, tail + 1, count)
    return cachedoc.Document(header.built_at, header.scope, images, header.workloads)


def _count_valid(text: str, start: int, end: int) -> int | None:
    """How many images the object `text[start:end]` holds when every entry of every image is
    well formed; None when anything is not in the canonical grammar (or a key is escaped, so
    two spellings of one key could hide a duplicate)."""
    if text.startswith("{}", start) and start + 2 == end:
        return 0
    match = _image_pattern().match
    keys: set[str] = set()
    at = start + 1
    while True:
        found = match(text, at)
        if found is None or "\\" in found[1] or found[1] in keys:
            return None
        keys.add(found[1])
        at = found.end()
        if at >= end - 1:
            return len(keys) if at == end - 1 else None  # at the object's closing brace
        if text[at] != ",":
            return None
        at += 1


@functools.cache
def _image_pattern() -> re.Pattern[str]:
    """`"<key>":[<entry>,…]`, compiled on first use: `select` never needs it. An entry has
    sorted keys and what `validated_images` requires (a known kind, a string namespace and
    name, a list of containers), the containers being strings as `build` writes them."""
    kinds = "|".join(re.escape(kind.value) for kind in workloads.Kind)
    entry = (
        rf'\{{"containers":\[(?:{_STRING}(?:,{_STRING})*)?\],'
        rf'"kind":"(?:{kinds})","name":{_STRING},"namespace":{_STRING}\}}'
    )
    return re.compile(rf"({_STRING}):\[(?:{entry}(?:,{entry})*)?\]")


class SkimmedImages(Mapping[str, tuple[cachedoc.Entry, ...]]):
    """`images` of a canonical document: a lookup decodes and checks that key's list only;
    iterating decodes (and validates) them all, as `cachedoc.from_json` would."""

    def __init__(self, text: str, start: int, end: int, count: int | None = None) -> None:
        self._text = text
        self._start, self._end = start, end  # the images object: text[start:end]
        self._count = count  # known when every entry was validated
        self._found: dict[str, tuple[cachedoc.Entry, ...] | None] = {}
        self._whole: cachedoc.LazyImages | None = None

    def __getitem__(self, image: str) -> tuple[cachedoc.Entry, ...]:
        entries = self._lookup(image)
        if entries is None:
            raise KeyError(image)
        return entries

    def __contains__(self, image: object) -> bool:
        return isinstance(image, str) and self._lookup(image) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        if self._count is not None:
            return self._count
        if self._text.startswith("{}", self._start):
            return 0
        return self._text.count(_BETWEEN, self._start, self._end) + 1

    def _lookup(self, image: str) -> tuple[cachedoc.Entry, ...] | None:
        if image in self._found:
            return self._found[image]
        needle = json.dumps(image) + ":["
        at = self._text.find(needle, self._start, self._end)
        while at != -1 and self._text[at - 1] not in "{,":
            at = self._text.find(needle, at + 1, self._end)
        found = None if at == -1 else self._decode(image, at + len(needle) - 1)
        self._found[image] = found
        return found

    def _decode(self, image: str, at: int) -> tuple[cachedoc.Entry, ...]:
        try:
            items, _end = _decoder.raw_decode(self._text, at)
            raw = cachedoc.validated_images({"images": {image: items}})
        except ValueError as exc:  # JSONDecodeError
            raise cachedoc.Corrupt(f"the cache document does not parse ({exc})") from exc
        return cachedoc.LazyImages(raw)[image]

    def _all(self) -> cachedoc.LazyImages:
        if self._whole is None:
            payload: Any = cachedoc.parse(self._text)
            self._whole = cachedoc.LazyImages(cachedoc.validated_images(payload))
        return self._whole
