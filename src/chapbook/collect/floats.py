"""Figures and tables numbered, and cross-references resolved, once the whole book is read:
"Figure 2.1" is the first figure of chapter 2 (or the seventh of the book, with
`figure_numbering: book`), and `@fig:flow` anywhere in the book names it and links to it."""

from __future__ import annotations

import difflib

from chapbook import ids
from chapbook.diagnostics import Diagnostics
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
        for ordinal, site in enumerate(chapter.summary.floats):
            kind, key = site.kind, site.key
            counts[kind] += 1
            number = f"{chapter.label}.{counts[kind]}" if per_chapter and chapter.label \
                else str(counts[kind])
            label = book.words(kind, number=number)
            anchor = f"{chapter.id}--{key.replace(':', '-')}" if key \
                else f"{chapter.id}--{kind}-{counts[kind]}"
            book.changes.decide(chapter.id, "float", ordinal, "meta", {"label": label,
                                                                      "id": anchor})
            if key and key in named:
                diagnostics.warn("duplicate-label", f"'{key}' names two {kind}s; references go "
                                 "to the first", chapter.source, site.line)
            elif key:
                named[key] = (chapter.id, anchor, label)
            book.floats.append(Float(kind, chapter.id, anchor, label, site.caption))
    return named


def resolve_references(book: Book, named: dict[str, Resolved],
                       diagnostics: Diagnostics) -> None:
    """Point every `@fig:…`, `@tbl:…`, `@sec:…` and `@ch:…` at its target, or warn at its
    line; an unresolved one is printed as typed, for the proofreader to see."""
    chapters = _chapters_by_name(book)
    positions = _positions(book)
    for chapter in book.chapters:
        for ordinal, site in enumerate(chapter.summary.references):
            kind, name = site.kind, site.name
            target: Resolved | None = None
            if kind in ("fig", "tbl"):
                target = named.get(site.key)
            elif kind == "sec":
                target = _section(chapter, name, book.chapters)
            elif kind == "ch" and name in chapters:
                other = chapters[name]
                target = (other.id, other.id, other.designation or other.title)
            if site.content.startswith("{") and not site.page:
                diagnostics.warn("page-reference", f"'{site.content}' is not a page reference; "
                                 f"write `{{@{site.key} p}}` for the page its target is on, or "
                                 f"`@{site.key}` for its number", chapter.source, site.line)
            if target is None:
                diagnostics.warn("broken-reference", f"'{site.content}' refers to nothing in "
                                 "the book; " + _hint(kind, name, _names(book, named, kind)),
                                 chapter.source, site.line)
                book.changes.decide(chapter.id, "reference", ordinal, "unresolved")
            else:
                if site.page:
                    book.page_references.add(target[1])
                # where it is from here, for editions without pages ("below")
                here = (positions[chapter.id][0], site.line)
                book.changes.decide(chapter.id, "reference", ordinal, "meta", {
                    "target": target,
                    "where": "below" if positions.get(target[1], here) > here else "above"})


def _positions(book: Book) -> dict[str, tuple[int, int]]:
    """Where each anchor a reference may name stands in reading order: (chapter, line)."""
    positions: dict[str, tuple[int, int]] = {}
    floats: dict[str, list[Float]] = {}
    for numbered in book.floats:
        floats.setdefault(numbered.chapter_id, []).append(numbered)
    for number, chapter in enumerate(book.chapters):
        positions[chapter.id] = (number, 0)
        for heading in chapter.headings:
            positions[heading.id] = (number, heading.line)
        for numbered, site in zip(floats.get(chapter.id, []), chapter.summary.floats,
                                  strict=True):
            positions[numbered.id] = (number, site.line or 0)
    return positions


def _names(book: Book, named: dict[str, Resolved], kind: str) -> list[str]:
    """What a reference of this kind may name in this book, in reading order."""
    if kind == "sec":
        return [heading.id.removeprefix(f"{chapter.id}-") for chapter in book.chapters
                for heading in chapter.headings]
    if kind == "ch":
        return [ids.without_ordering_number(chapter.source.stem) for chapter in book.chapters]
    return [key.removeprefix(f"{kind}:") for key in named if key.startswith(f"{kind}:")]


def _hint(kind: str, name: str, names: list[str]) -> str:
    """The name meant, if one is close; else how to name one, with one of this book's."""
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"did you mean @{kind}:{close[0]}?"
    how = {"fig": "give the figure `{#fig:name}` after its image",
           "tbl": "give the table a caption `Table: … {#tbl:name}`",
           "sec": "use the slug of a `## ` heading",
           "ch": "use an essay's file name without its number and .md"}[kind]
    return f"{how}, e.g. @{kind}:{names[0]}" if names else how


def _chapters_by_name(book: Book) -> dict[str, Chapter]:
    names: dict[str, Chapter] = {}
    for chapter in book.chapters:
        for name in (chapter.id, ids.without_ordering_number(chapter.source.stem),
                     chapter.source.stem):
            names.setdefault(name, chapter)
    return names


def _section(here: Chapter, slug: str, chapters: list[Chapter]) -> Resolved | None:
    """A heading by its slug: in this chapter first, then anywhere in the book."""
    spelt = ids.text_slug(slug)  # or by its text, as Pandoc spells it ("бухара-и-торговля")
    for chapter in (here, *chapters):
        for heading in chapter.headings:
            if heading.id == f"{chapter.id}-{slug}" or ids.text_slug(heading.text) == spelt:
                return chapter.id, heading.id, heading.text
    return None
