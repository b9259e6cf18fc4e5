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

What this does not check: entries of images nobody looked up. `check` decodes and validates
the whole document, and a damaged stored text fails gzip's checksum first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from commands.engine import cachedoc

_HEAD = '{"builtAt":'
_IMAGES = ',"images":{'
_TAIL = '},"schemaVersion":'
# Between two images' lists: the last entry object of one, then the next key.
_BETWEEN = '}],"'
_decoder = json.JSONDecoder()


def skim(text: str) -> cachedoc.Document | None:
    """The document in `text`, its entries decoded on lookup; None when `text` is not in the
    canonical unsharded form (decode it whole). Raises `Corrupt` for a bad header."""
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
    header = cachedoc.header_of({"builtAt": built_at, **rest}, cachedoc.SCHEMA_VERSION)
    images = SkimmedImages(text, start, tail + 1)
    return cachedoc.Document(header.built_at, header.scope, images, header.workloads)


class SkimmedImages(Mapping[str, tuple[cachedoc.Entry, ...]]):
    """`images` of a canonical document: a lookup decodes and checks that key's list only;
    iterating decodes (and validates) them all, as `cachedoc.from_json` would."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self._text = text
        self._start, self._end = start, end  # the images object: text[start:end]
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
