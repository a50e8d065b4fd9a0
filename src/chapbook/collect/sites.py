"""An essay's sites: the tokens the collect phase decides about (links, figures and tables,
cross-references, citations), each kind found in one fixed order. They are found twice: once
when the essay is parsed, to note what collect needs to know of each (model.essay.EssaySummary),
and again when its tokens are read for an edition, to write into each what collect decided
(model.book.TokenChanges). So the book is collected from its essays' summaries alone, and an
essay whose rendered EPUB document is kept is never read at all."""

from __future__ import annotations

from typing import Any

from markdown_it.token import Token

from chapbook.markdown.parser import text_words
from chapbook.markdown.tokens import inline_children
from chapbook.model.essay import (
    CitationSite,
    EssaySummary,
    FloatSite,
    LinkSite,
    ParsedEssay,
    ReferenceSite,
)

# (token, the stream it stands in, its line)
Found = tuple[Token, list[Token], int]


def _streams(essay: ParsedEssay, title: bool = True) -> list[list[Token]]:
    """The essay's text, its title as written (for links and references), then its notes."""
    return [essay.tokens, *([list(essay.title_tokens)] if title else []),
            *(list(note.tokens) for note in essay.footnotes)]


def _inline(streams: list[list[Token]], kind: str) -> list[Found]:
    return [(token, stream, line) for stream in streams
            for token, line in inline_children(stream, kind)]


def link_tokens(essay: ParsedEssay) -> list[Found]:
    return _inline(_streams(essay), "link_open")


def float_tokens(essay: ParsedEssay) -> list[Found]:
    """Each figure and table, at the top of the essay's text."""
    return [(token, essay.tokens, _float_line(token) or 0) for token in essay.tokens
            if token.type in ("figure_open", "table_open")
            and token.meta.get("kind") in ("figure", "table")]


def reference_tokens(essay: ParsedEssay) -> list[Found]:
    return _inline(_streams(essay), "crossref")


def citation_tokens(essay: ParsedEssay) -> list[Found]:
    """Each citation in reading order (its text, then its notes); one made a note by a notes
    style keeps the line it was written on."""
    return [(token, stream, token.meta.get("line", line))
            for token, stream, line in _inline(_streams(essay, title=False), "citation")]


FINDERS = {"link": link_tokens, "float": float_tokens, "reference": reference_tokens,
           "citation": citation_tokens}


def _place(link: Token, stream: list[Token]) -> tuple[list[Token], int] | None:
    """The children list a link stands in, and its position there."""
    for token in stream:
        children = token.children or []
        position = next((i for i, child in enumerate(children) if child is link), None)
        if position is not None:
            return children, position
    return None


def _link_site(link: Token, stream: list[Token], line: int) -> LinkSite:
    place = _place(link, stream)
    empty = place is not None and place[1] + 1 < len(place[0]) \
        and place[0][place[1] + 1].type == "link_close"
    return LinkSite(str(link.attrGet("href") or ""), line, place is not None, empty)


def _float_line(token: Token) -> int | None:
    return token.meta.get("line") or (token.map[0] + 1 if token.map else None)


def _caption(token: Token) -> str:
    if token.type == "figure_open":
        return str(token.meta.get("caption", ""))
    return "".join(child.content for child in token.meta.get("caption_tokens", [])
                   if child.type in ("text", "code_inline")).strip()


def link_sites(essay: ParsedEssay) -> list[LinkSite]:
    return [_link_site(*found) for found in link_tokens(essay)]


# What laying out costs beside prose, in its words: a note's words count four times, a table's
# cell as ten words (measured, laid out and written: 62,000 words of prose 9.6 s; 14,600 words
# with 7,400 table cells 15.6 s; 25,000 words with 25,000 more in 600 notes 21.5 s).
NOTE_WORD_WEIGHT = 4
TABLE_CELL_WORDS = 10


def layout_words(essay: ParsedEssay) -> int:
    """How long laying the essay out takes, in words of prose: what layout/paginate.py sizes
    the pieces of a long book by."""
    cells = sum(1 for token in essay.tokens if token.type in ("td_open", "th_open"))
    return essay.word_count + TABLE_CELL_WORDS * cells + NOTE_WORD_WEIGHT * sum(
        text_words(note.tokens) for note in essay.footnotes)


def summarise(essay: ParsedEssay) -> EssaySummary:
    """What the read and collect phases need of a parsed essay."""
    return EssaySummary(
        essay.title, essay.title_line, essay.headings, essay.word_count, layout_words(essay),
        essay.front,
        list(dict.fromkeys(essay.env.get("image_files", []))),
        essay.env.get("image_lookups", []), link_sites(essay),
        [FloatSite(token.meta["kind"], token.meta.get("key"), _caption(token),
                   _float_line(token)) for token, _, _ in float_tokens(essay)],
        [ReferenceSite(token.meta["kind"], token.meta["name"], token.meta["key"], token.content,
                       line, bool(token.meta.get("page")))
         for token, _, line in reference_tokens(essay)],
        [CitationSite(tuple(token.meta["items"]), token.meta["mode"],
                      bool(token.meta.get("own_note")), token.content, line)
         for token, _, line in citation_tokens(essay)])


def apply_changes(essay: ParsedEssay, decisions: list[tuple[Any, ...]]) -> None:
    """Write into an essay's tokens what the collect phase decided about its sites
    (TokenChanges.decide): the one place a parsed essay's tokens are changed after parsing."""
    found = {kind: finder(essay) for kind, finder in FINDERS.items()
             if any(decision[0] == kind for decision in decisions)}
    for kind, ordinal, action, value in decisions:
        token, stream, _ = found[kind][ordinal]
        if action == "meta":
            token.meta.update(value)
        elif action == "name":  # `[](02-the-dams.md)`: the link says what it points at
            place = _place(token, stream)
            if place is not None:
                place[0].insert(place[1] + 1, Token("text", "", 0, content=value))
        elif action == "unlink":  # a dead end: its text stays, without the link
            place = _place(token, stream)
            if place is not None:
                children, position = place
                token.hidden = True
                closing = next((c for c in children[position + 1:] if c.type == "link_close"),
                               None)
                if closing is not None:
                    closing.hidden = True
