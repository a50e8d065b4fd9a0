"""Cache entries as data: JSON that can only ever become the types a cache names.

pickle runs whatever a file tells it to, so a cache read with it hands the build machine to
anyone who can write build/. This codec writes plain JSON with a tag on each value that is not
JSON already (a tuple, a dict with other keys than text, a path, a markdown-it token, one of the
dataclasses a cache declares), and reads back nothing else: an unknown tag, a field a dataclass
does not have, or a value of the wrong kind is an error, and the entry is not used.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from markdown_it.token import Token

_TOKEN_FIELDS = ("type", "tag", "nesting", "attrs", "map", "level", "children", "content",
                 "markup", "info", "meta", "block", "hidden")
MAX_DEPTH = 200  # tokens nest as deep as the essay's lists and quotes; markdown-it stops at 100


class CacheDataError(ValueError):
    """An entry that is not what this codec writes."""


class Codec:
    """Encodes and decodes the values of one cache; `types` are the dataclasses and enums it
    may hold, by name."""

    def __init__(self, types: Iterable[type]) -> None:
        self.types = {kind.__name__: kind for kind in types}

    def dumps(self, value: Any) -> bytes:
        return json.dumps(self._encode(value, 0), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")

    def loads(self, data: bytes) -> Any:
        try:
            raw = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            raise CacheDataError(str(err)) from err
        return self._decode(raw, 0)

    def _encode(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CacheDataError("nested too deep")
        depth += 1
        if isinstance(value, enum.Enum):  # before str: an enum may be a str too
            return {"$enum": [type(value).__name__, value.value]}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self._encode(item, depth) for item in value]
        if isinstance(value, tuple):
            return {"$tuple": [self._encode(item, depth) for item in value]}
        if isinstance(value, dict):
            return {"$dict": [[self._encode(k, depth), self._encode(v, depth)]
                              for k, v in value.items()]}
        if isinstance(value, Path):
            return {"$path": str(value)}
        if isinstance(value, Token):
            return {"$token": {name: self._encode(getattr(value, name), depth)
                               for name in _TOKEN_FIELDS}}
        if dataclasses.is_dataclass(value) and type(value).__name__ in self.types:
            return {"$data": [type(value).__name__,
                              {f.name: self._encode(getattr(value, f.name), depth)
                               for f in dataclasses.fields(value)}]}
        raise CacheDataError(f"cannot store a {type(value).__name__}")

    def _decode(self, raw: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CacheDataError("nested too deep")
        depth += 1
        if raw is None or isinstance(raw, (bool, int, float, str)):
            return raw
        if isinstance(raw, list):
            return [self._decode(item, depth) for item in raw]
        if not isinstance(raw, dict) or len(raw) != 1:
            raise CacheDataError("not a tagged value")
        (tag, body), = raw.items()
        if tag == "$tuple" and isinstance(body, list):
            return tuple(self._decode(item, depth) for item in body)
        if tag == "$dict" and isinstance(body, list):
            pairs = [self._decode(pair, depth) for pair in body]
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise CacheDataError("a dict entry is not a pair")
            try:
                return {key: item for key, item in pairs}
            except TypeError as err:  # an unhashable key
                raise CacheDataError(str(err)) from err
        if tag == "$path" and isinstance(body, str):
            return Path(body)
        if tag == "$enum" and isinstance(body, list) and len(body) == 2:
            kind = self.types.get(str(body[0]))
            if kind is None or not issubclass(kind, enum.Enum):
                raise CacheDataError(f"unknown enum {body[0]!r}")
            try:
                return kind(body[1])
            except ValueError as err:
                raise CacheDataError(str(err)) from err
        if tag == "$token" and isinstance(body, dict) and set(body) == set(_TOKEN_FIELDS):
            return self._token(body, depth)
        if tag == "$data" and isinstance(body, list) and len(body) == 2:
            return self._dataclass(body[0], body[1], depth)
        raise CacheDataError(f"unknown tag {tag!r}")

    def _token(self, body: dict[str, Any], depth: int) -> Token:
        fields = {name: self._decode(body[name], depth) for name in _TOKEN_FIELDS}
        kinds = {"type": str, "tag": str, "nesting": int, "attrs": dict, "level": int,
                 "content": str, "markup": str, "info": str, "meta": dict, "block": bool,
                 "hidden": bool}
        for name, kind in kinds.items():
            if not isinstance(fields[name], kind):
                raise CacheDataError(f"a token's {name} is not a {kind.__name__}")
        if fields["children"] is not None and not (
                isinstance(fields["children"], list)
                and all(isinstance(child, Token) for child in fields["children"])):
            raise CacheDataError("a token's children are not tokens")
        if fields["map"] is not None and not (
                isinstance(fields["map"], list) and len(fields["map"]) == 2
                and all(isinstance(n, int) for n in fields["map"])):
            raise CacheDataError("a token's map is not two line numbers")
        if not all(isinstance(k, str) and isinstance(v, (str, int, float))
                   for k, v in fields["attrs"].items()):
            raise CacheDataError("a token's attributes are not text")
        return Token(**fields)

    def _dataclass(self, name: Any, body: Any, depth: int) -> Any:
        kind = self.types.get(str(name))
        if kind is None or not dataclasses.is_dataclass(kind) or not isinstance(body, dict):
            raise CacheDataError(f"unknown type {name!r}")
        names = {f.name for f in dataclasses.fields(kind)}
        if set(body) != names:
            raise CacheDataError(f"{name} has other fields")
        try:
            return kind(**{key: self._decode(value, depth) for key, value in body.items()})
        except TypeError as err:
            raise CacheDataError(str(err)) from err
