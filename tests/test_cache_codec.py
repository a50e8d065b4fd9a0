"""The parsed-essay cache's codec on real essays: what it reads back is what was parsed, token for
token; what it writes is compact enough that reading an entry costs less than parsing the essay
again (issue 16: at 200 chapters the entries were 33 times their essays, and a warm build read
them more slowly than it parsed the book); and a value of the wrong kind is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from markdown_it.token import Token

from chapbook.cache import ESSAY_CODEC, freeze, storable
from chapbook.cache_codec import CacheDataError
from chapbook.collect.sites import summarise
from chapbook.diagnostics import Diagnostics
from chapbook.markdown.parser import parse_essay
from chapbook.model.essay import ParsedEssay
from chapbook.model.terms import Found

from .conftest import ROOTS

ESSAYS = sorted(p for book in ("field-notes", "arabic", "scripts", "edge", "terms", "briefing")
                for p in (ROOTS / book / "essays").glob("*.md"))


def parsed(essay: Path) -> ParsedEssay:
    return parse_essay(essay.read_text("utf-8", errors="replace"), essay.stem, essay,
                       Diagnostics(), root=essay.parent.parent)


def tokens_as_data(tokens: Any) -> Any:
    """Every field of every token, children included, as plain values to compare."""
    if isinstance(tokens, Token):
        return {**tokens.as_dict(children=True, as_upstream=False),
                "meta": tokens_as_data(tokens.meta)}
    if isinstance(tokens, (list, tuple)):
        return [tokens_as_data(token) for token in tokens]
    if isinstance(tokens, dict):
        return {key: tokens_as_data(value) for key, value in tokens.items()}
    return tokens


@pytest.mark.parametrize("essay", ESSAYS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_an_essay_read_back_is_the_essay_parsed(essay: Path) -> None:
    essay_parsed = parsed(essay)
    kept = storable(essay_parsed)
    back = ESSAY_CODEC.loads(ESSAY_CODEC.dumps(kept))
    assert tokens_as_data(back.tokens) == tokens_as_data(kept.tokens)
    assert tokens_as_data(back.title_tokens) == tokens_as_data(kept.title_tokens)
    assert tokens_as_data(back.env) == tokens_as_data(kept.env)
    assert tokens_as_data(back.footnotes) == tokens_as_data(kept.footnotes)
    assert back.headings == kept.headings and back.front == kept.front
    assert isinstance(back.title_tokens, tuple)
    entry = freeze(summarise(essay_parsed), essay_parsed, Found(), [])
    assert ESSAY_CODEC.loads(ESSAY_CODEC.dumps(entry)) == entry  # the summary, sites and all


def test_entries_are_a_few_times_their_essays() -> None:
    """A token is stored by position with its default fields left out: the field-notes and
    briefing essays' entries (the parsed essay, and its summary) come to under eight times
    their Markdown (33 times before)."""
    essays = [p for p in ESSAYS if p.parent.parent.name in ("field-notes", "briefing")]
    source = sum(p.stat().st_size for p in essays)
    stored = sum(len(ESSAY_CODEC.dumps(storable(essay)))
                 + len(ESSAY_CODEC.dumps(freeze(summarise(essay), essay, Found(), [])))
                 for essay in map(parsed, essays))
    assert stored < 8 * source, (stored, source)


def _stored_tokens() -> tuple[dict[str, Any], list[Any]]:
    """An encoded parsed essay and, inside it, its encoded token list."""
    raw = json.loads(ESSAY_CODEC.dumps(storable(
        parsed(ROOTS / "field-notes" / "essays" / "04-charts.md"))))
    return raw, _field(raw, "tokens")["$tokens"]


def _field(stored: dict[str, Any], name: str) -> Any:
    """A field of a stored dataclass: {"$data": [its type, [name, value, name, value...]]}."""
    fields = stored["$data"][1]
    return fields[fields.index(name) + 1]


def padded(token: list[Any]) -> list[Any]:
    """A stored token with every field written out: type, tag, nesting, level, content, attrs,
    map, children, markup, info, meta, block, hidden."""
    defaults = [None, None, None, 0, "", [], None, None, "", "", None, False, False]
    return token + defaults[len(token):]


@pytest.mark.parametrize("damage", [
    "a number for a type", "text for a nesting", "a number for an attribute name",
    "a list for an attribute value", "a token of one field", "fourteen fields",
    "children that are not tokens", "a map of three lines", "text for hidden",
])
def test_a_token_of_the_wrong_shape_is_refused(damage: str) -> None:
    raw, tokens = _stored_tokens()
    with_attrs = next(t for t in tokens if len(t) > 5 and t[5])
    with_children = next(t for t in tokens if len(t) > 7 and t[7])
    if damage == "a number for a type":
        tokens[0][0] = 7
    elif damage == "text for a nesting":
        tokens[0][2] = "1"
    elif damage == "a number for an attribute name":
        with_attrs[5][0] = 3
    elif damage == "a list for an attribute value":
        with_attrs[5][1] = ["x"]
    elif damage == "a token of one field":
        tokens[0] = tokens[0][:1]
    elif damage == "fourteen fields":
        tokens[0] = tokens[0] + [None] * (14 - len(tokens[0]))
    elif damage == "children that are not tokens":
        with_children[7] = [{"$path": "/etc/passwd"}]
    elif damage == "a map of three lines":
        tokens[0] = padded(tokens[0])
        tokens[0][6] = [1, 2, 3]
    elif damage == "text for hidden":
        tokens[0] = padded(tokens[0])
        tokens[0][12] = "yes"
    with pytest.raises(CacheDataError):
        ESSAY_CODEC.loads(json.dumps(raw).encode())


def test_a_number_too_long_to_read_is_refused() -> None:
    """Python's int() refuses more than 4,300 digits with a ValueError of its own, not JSON's."""
    raw, _ = _stored_tokens()
    body = json.dumps(raw).replace('"$tokens": [[', '"$tokens": [[' + "9" * 5000 + ", ", 1)
    assert "9" * 5000 in body
    with pytest.raises(CacheDataError):
        ESSAY_CODEC.loads(body.encode())


@pytest.mark.parametrize("damage", ["fields as a JSON object", "a field named twice",
                                    "a field left out", "an object where a list was"])
def test_a_dataclass_of_the_wrong_shape_is_refused(damage: str) -> None:
    essay, _ = _stored_tokens()
    fields = essay["$data"][1]
    if damage == "fields as a JSON object":
        essay["$data"][1] = dict(zip(fields[::2], fields[1::2], strict=True))
    elif damage == "a field named twice":
        fields += ["title", "Another title"]
    elif damage == "a field left out":
        at = fields.index("word_count")
        del fields[at:at + 2]
    elif damage == "an object where a list was":
        fields[fields.index("headings") + 1] = {"level": 2, "text": "Planted"}
    with pytest.raises(CacheDataError):
        ESSAY_CODEC.loads(json.dumps(essay).encode())


@pytest.mark.parametrize("entry", [
    '{"$data":["Finding",[[],1]]}',  # a field named by a list: unhashable
    '{"$data":["Finding",[{"$dict":[]},1]]}',
    '{"$data":["Finding",[{"$token":["text","",0,0]},1]]}',
    '{"$data":[{"$path":"Heading"},["level",2,"text","x","id","x","line",1]]}',
    '{"$enum":[{"$path":"Level"},"error"]}',
    '{"$path":"/a","$path":"/b"}',  # one tag, twice
    '{"$tuple":[]' * 5000 + "}" * 5000,  # nested deeper than JSON's decoder goes
], ids=["list as field name", "dict as field name", "token as field name",
        "path as type name", "path as enum name", "a tag twice", "nested 5,000 deep"])
def test_an_entry_of_the_wrong_shape_is_refused_as_an_entry(entry: str) -> None:
    """Whatever its shape, a bad entry is a CacheDataError (the cache sets it aside and makes
    it again), never another exception that would stop the build with a traceback."""
    with pytest.raises(CacheDataError):
        ESSAY_CODEC.loads(entry.encode())
