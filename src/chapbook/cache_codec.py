"""Cache entries as data: JSON that can only ever become the types a cache names.

pickle runs whatever a file tells it to, so a cache read with it hands the build machine to
anyone who can write build/. This codec writes plain JSON with a tag on each value that is not
JSON already (a tuple, a dict with other keys than text, a path, a markdown-it token, one of the
dataclasses a cache declares, as its name and a flat [field, value, ...] list), and reads back
nothing else: an unknown tag, a JSON object that is not one tag, a field a dataclass does not
have (or has twice), or a token, path, tuple or dict of the wrong shape is an error, and the
entry is not used. A dataclass's field values are not checked against its annotations: a cache
that reads back numbers it will trust checks them itself (cache.CachedPiece.fits).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from markdown_it.token import Token

# A token is stored as a list of its fields by position, in this order (the ones most tokens leave
# at their defaults last), and without the defaults it ends with: a text token is five values, not
# thirteen named ones. Its attributes are a flat [name, value, ...] list; its children a list of
# such tokens; its meta any other encoded value.
_TOKEN_FIELDS = ("type", "tag", "nesting", "level", "content", "attrs", "map", "children",
                 "markup", "info", "meta", "block", "hidden")
_TOKEN_DEFAULTS: tuple[Any, ...] = (None, None, None, 0, "", [], None, None, "", "", None, False,
                                    False)
_LEAST_FIELDS = 4  # type, tag, nesting and level are always written
# Tokens nest as deep as the essay's lists and quotes (markdown-it stops at 100): written and read
# back no deeper (a token's children, counted from each tagged token). Other values are written
# no deeper, and read back as deep as JSON's decoder goes (about 1,000, then RecursionError).
MAX_DEPTH = 200


class CacheDataError(ValueError):
    """An entry that is not what this codec writes."""


class Codec:
    """Encodes and decodes the values of one cache; `types` are the dataclasses and enums it
    may hold, by name."""

    def __init__(self, types: Iterable[type]) -> None:
        self.types = {kind.__name__: kind for kind in types}
        self.fields = {kind: frozenset(f.name for f in dataclasses.fields(kind))
                       for kind in self.types.values() if dataclasses.is_dataclass(kind)}

    def dumps(self, value: Any) -> bytes:
        return json.dumps(self._encode(value, 0), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")

    def loads(self, data: bytes) -> Any:
        """The value `data` encodes. JSON's own decoder builds the lists and text, and hands
        each object it reads (a tagged value, innermost first) to _tagged()."""
        try:
            return json.loads(data.decode("utf-8"), object_pairs_hook=self._tagged)
        # (ValueError: JSON's own errors, a number too long for int(), and CacheDataError;
        # RecursionError: nesting deeper than JSON's decoder goes)
        except (UnicodeDecodeError, ValueError, RecursionError) as err:
            raise CacheDataError(str(err)) from err

    def _encode(self, value: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CacheDataError("nested too deep")
        depth += 1
        if isinstance(value, enum.Enum):  # before str: an enum may be a str too
            return {"$enum": [type(value).__name__, value.value]}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            if value and all(isinstance(item, Token) for item in value):
                return {"$tokens": [self._token_fields(item, depth) for item in value]}
            return [self._encode(item, depth) for item in value]
        if isinstance(value, tuple):
            return {"$tuple": [self._encode(item, depth) for item in value]}
        if isinstance(value, dict):
            return {"$dict": [[self._encode(k, depth), self._encode(v, depth)]
                              for k, v in value.items()]}
        if isinstance(value, Path):
            return {"$path": str(value)}
        if isinstance(value, Token):
            return {"$token": self._token_fields(value, depth)}
        if dataclasses.is_dataclass(value) and type(value).__name__ in self.types:
            return {"$data": [type(value).__name__,
                              [part for f in dataclasses.fields(value)
                               for part in (f.name, self._encode(getattr(value, f.name),
                                                                 depth))]]}
        raise CacheDataError(f"cannot store a {type(value).__name__}")

    def _token_fields(self, token: Token, depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise CacheDataError("nested too deep")
        fields = [token.type, token.tag, token.nesting, token.level, token.content,
                  [part for pair in token.attrs.items() for part in pair], token.map,
                  None if token.children is None
                  else [self._token_fields(child, depth + 1) for child in token.children],
                  token.markup, token.info,
                  self._encode(token.meta, depth + 1) if token.meta else None,
                  token.block, token.hidden]
        while len(fields) > _LEAST_FIELDS and fields[-1] == _TOKEN_DEFAULTS[len(fields) - 1]:
            fields.pop()
        return fields

    def _tagged(self, pairs: list[tuple[str, Any]]) -> Any:
        """A tagged value from its JSON object's one member, whose value is decoded already; an
        object of any other shape (two members, the same one twice) is refused."""
        if len(pairs) != 1:
            raise CacheDataError("not a tagged value")
        (tag, body), = pairs
        if tag == "$tuple" and type(body) is list:
            return tuple(body)
        if tag == "$dict" and type(body) is list:
            if not all(type(p) is list and len(p) == 2 for p in body):
                raise CacheDataError("a dict entry is not a pair")
            try:
                return {key: item for key, item in body}
            except TypeError as err:  # an unhashable key
                raise CacheDataError(str(err)) from err
        if tag == "$path" and type(body) is str:
            return Path(body)
        if tag == "$enum" and type(body) is list and len(body) == 2:
            kind = self.types.get(body[0]) if type(body[0]) is str else None
            if kind is None or not issubclass(kind, enum.Enum):
                raise CacheDataError(f"unknown enum {body[0]!r}")
            try:
                return kind(body[1])
            except ValueError as err:
                raise CacheDataError(str(err)) from err
        if tag == "$token":
            return self._token(body, 0)
        if tag == "$tokens" and type(body) is list and body:
            return [self._token(item, 0) for item in body]
        if tag == "$data" and type(body) is list and len(body) == 2:
            return self._dataclass(body[0], body[1])
        raise CacheDataError(f"unknown tag {tag!r}")

    def _token(self, stored: Any, depth: int) -> Token:
        """A token from its fields by position (see _TOKEN_FIELDS), each of the kind a token
        holds; anything else is refused."""
        if depth > MAX_DEPTH:
            raise CacheDataError("nested too deep")
        if type(stored) is not list or not _LEAST_FIELDS <= len(stored) <= len(_TOKEN_FIELDS):
            raise CacheDataError("not a token")
        (type_, tag, nesting, level, content, attrs, map_, children, markup, info, meta, block,
         hidden) = stored + list(_TOKEN_DEFAULTS[len(stored):])
        if not (type(type_) is str and type(tag) is str and nesting in (-1, 0, 1)
                and type(nesting) is int and type(level) is int and type(content) is str
                and type(markup) is str and type(info) is str and type(block) is bool
                and type(hidden) is bool and type(attrs) is list and len(attrs) % 2 == 0):
            raise CacheDataError("a token's field is of the wrong kind")
        names, values = attrs[::2], attrs[1::2]
        if attrs and not (all(type(name) is str for name in names)
                          and all(type(value) in (str, int, float) for value in values)):
            raise CacheDataError("a token's attributes are not text")
        if map_ is not None and not (type(map_) is list and len(map_) == 2
                                     and type(map_[0]) is int and type(map_[1]) is int):
            raise CacheDataError("a token's map is not two line numbers")
        if children is not None:
            if type(children) is not list:
                raise CacheDataError("a token's children are not tokens")
            children = [self._token(child, depth + 1) for child in children]
        meta = {} if meta is None else meta  # (decoded already, as every tagged value is)
        if type(meta) is not dict:
            raise CacheDataError("a token's meta is not a dict")
        return Token(type_, tag, nesting, dict(zip(names, values, strict=True)), map_, level,
                     children, content, markup, info, meta, block, hidden)

    def _dataclass(self, name: Any, body: Any) -> Any:
        """One of the cache's dataclasses from its fields, [name, value, name, value, ...]."""
        kind = self.types.get(name) if type(name) is str else None
        fields = self.fields.get(kind) if kind is not None else None
        if fields is None or type(body) is not list or len(body) % 2:
            raise CacheDataError(f"unknown type {name!r}")
        names = body[::2]
        if not all(type(field) is str for field in names):
            raise CacheDataError(f"{name} has a field whose name is not text")
        values = dict(zip(names, body[1::2], strict=True))
        if len(values) != len(names) or set(values) != fields:
            raise CacheDataError(f"{name} has other fields")
        try:
            return kind(**values)
        except TypeError as err:
            raise CacheDataError(str(err)) from err
