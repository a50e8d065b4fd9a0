"""Figures and tables numbered, and cross-references resolved, once the whole book is read:
"Figure 2.1" is the first figure of chapter 2 (or the seventh of the book, with
`figure_numbering: book`), and `@fig:flow` anywhere in the book names it and links to it."""

from __future__ import annotations

from collections.abc import Iterator

from markdown_it.token import Token

from chapbook import ids
from chapbook.diagnostics import Diagnostics
from chapbook.markdown.tokens import inline_children
from chapbook.model.book import Book, Chapter, Float

# what a reference resolves to: (chapter id, anchor, the words that name it)
Resolved = tuple[str, str, str]


def number_floats(book: Book, diagnostics: Diagnostics) -> dict[str, Resolved]:
    """Number every figure and table in book order; return the named ones by key."""
    named: dict[str, Resolved] = {}
    counts = {"figure": 0, "table": 0}
    per_chapter = book.manifest.figure_numbering == "chapter"
    for chapter in book.chapters:
        if per_chapter:
            counts = {"figure": 0, "table": 0}
        for token in chapter.essay.tokens:
            kind = token.meta.get("kind") if token.type in ("figure_open", "table_open") \
                else None
            if kind not in counts:
                continue
            counts[kind] += 1
            number = f"{chapter.label}.{counts[kind]}" if per_chapter and chapter.label \
                else str(counts[kind])
            label = book.words(kind, number=number)
            key = token.meta.get("key")
            anchor = f"{chapter.id}--{key.replace(':', '-')}" if key \
                else f"{chapter.id}--{kind}-{counts[kind]}"
            book.changes.set_meta(chapter.id, token, label=label, id=anchor)
            line = token.meta.get("line") or (token.map[0] + 1 if token.map else None)
            if key and key in named:
                diagnostics.warn("duplicate-label", f"'{key}' names two {kind}s; references go "
                                 "to the first", chapter.source, line)
            elif key:
                named[key] = (chapter.id, anchor, label)
            book.floats.append(Float(kind, chapter.id, anchor, label, _caption(token)))
    return named


def _caption(token: Token) -> str:
    if token.type == "figure_open":
        return str(token.meta.get("caption", ""))
    return "".join(child.content for child in token.meta.get("caption_tokens", [])
                   if child.type in ("text", "code_inline")).strip()


def resolve_references(book: Book, named: dict[str, Resolved],
                       diagnostics: Diagnostics) -> None:
    """Point every `@fig:…`, `@tbl:…`, `@sec:…` and `@ch:…` at its target, or warn at its
    line; an unresolved one is printed as typed, for the proofreader to see."""
    chapters = _chapters_by_name(book)
    positions = _positions(book)
    for chapter in book.chapters:
        for token, line in _references(chapter):
            kind, name = token.meta["kind"], token.meta["name"]
            target: Resolved | None = None
            if kind in ("fig", "tbl"):
                target = named.get(token.meta["key"])
            elif kind == "sec":
                target = _section(chapter, name, book.chapters)
            elif kind == "ch" and name in chapters:
                other = chapters[name]
                target = (other.id, other.id, other.designation or other.title)
            if target is None:
                diagnostics.warn("broken-reference", f"'{token.content}' refers to nothing in "
                                 "the book; " + _hint(kind), chapter.source, line)
                book.changes.note(chapter.id, "unresolved")
            else:
                # where it is from here, for editions without pages ("below")
                here = (positions[chapter.id][0], line)
                book.changes.set_meta(chapter.id, token, target=target,
                                      where="below" if positions.get(target[1], here) > here
                                      else "above")


def _positions(book: Book) -> dict[str, tuple[int, int]]:
    """Where each anchor a reference may name stands in reading order: (chapter, line)."""
    positions: dict[str, tuple[int, int]] = {}
    for number, chapter in enumerate(book.chapters):
        positions[chapter.id] = (number, 0)
        for heading in chapter.headings:
            positions[heading.id] = (number, heading.line)
        for token in chapter.essay.tokens:
            if token.meta.get("id") and token.type in ("figure_open", "table_open"):
                line = token.meta.get("line") or (token.map[0] + 1 if token.map else 0)
                positions[token.meta["id"]] = (number, line)
    return positions


def _hint(kind: str) -> str:
    return {"fig": "give the figure `{#fig:name}` after its image",
            "tbl": "give the table a caption `Table: … {#tbl:name}`",
            "sec": "use the slug of a `## ` heading, e.g. @sec:drought-rules",
            "ch": "use an essay's file name without its number and .md, e.g. @ch:the-dams"}[kind]


def _chapters_by_name(book: Book) -> dict[str, Chapter]:
    names: dict[str, Chapter] = {}
    for chapter in book.chapters:
        for name in (chapter.id, ids.without_ordering_number(chapter.source.stem),
                     chapter.source.stem):
            names.setdefault(name, chapter)
    return names


def _section(here: Chapter, slug: str, chapters: list[Chapter]) -> Resolved | None:
    """A heading by its slug: in this chapter first, then anywhere in the book."""
    for chapter in (here, *chapters):
        for heading in chapter.headings:
            if heading.id == f"{chapter.id}-{slug}":
                return chapter.id, heading.id, heading.text
    return None


def _references(chapter: Chapter) -> Iterator[tuple[Token, int]]:
    streams = [chapter.essay.tokens, list(chapter.essay.title_tokens),
               *(list(note.tokens) for note in chapter.footnotes)]
    for tokens in streams:
        yield from inline_children(tokens, "crossref")
