"""The Book: the one model every builder reads; built by `read_book`, never changed by builders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chapbook import ids
from chapbook.languages import direction
from chapbook.model.essay import Contributor, EssaySummary, Footnote, Heading, ParsedEssay, byline
from chapbook.model.manifest import GroupKind, Manifest, Metadata
from chapbook.model.terms import Glossary, Index
from chapbook.words import DEFAULT_LANGUAGE, Words


@dataclass
class Chapter:
    id: str
    number: int  # its place in the book, counting every chapter and appendix from 1
    title: str
    running_head: str
    key_points: tuple[str, ...]
    source: Path
    summary: EssaySummary  # the essay as the read and collect phases see it: no tokens
    part: Part | None = None
    language: str | None = None  # when it differs from the book's
    label: str | None = None  # "3" or, for an appendix, "C"; None: an unnumbered chapter
    # from book.yml, or else the essay's front matter (read/essays.py)
    subtitle: str | None = None
    authors: tuple[Contributor, ...] = ()
    abstract: str | None = None
    # chapbook's own words, in the book's language
    words: Words = field(default_factory=lambda: Words(DEFAULT_LANGUAGE))
    essay_key: str = ""  # the essay's key in the cache (read/essays.py): its parse, as a name
    # the parsed essay, tokens and all: given, or read when an edition first renders it
    read_essay: Callable[[], ParsedEssay] | None = field(default=None, repr=False,
                                                         compare=False)
    _essay: ParsedEssay | None = field(default=None, repr=False, compare=False)
    _decided: Callable[[ParsedEssay], None] | None = field(default=None, repr=False,
                                                           compare=False)

    @property
    def essay(self) -> ParsedEssay:
        """The parsed essay, with what the collect phase decided written into its tokens."""
        if self._essay is None:
            if self.read_essay is None:
                raise RuntimeError(f"chapter {self.id} has no essay to read")
            self._essay = self.read_essay()
            if self._decided is not None:
                self._decided(self._essay)
        return self._essay

    def settle(self, write: Callable[[ParsedEssay], None]) -> None:
        """What the collect phase decided, written into the essay's tokens: now, if they are
        read already, else when they are."""
        if self._essay is not None:
            write(self._essay)
        else:
            self._decided = write

    @property
    def is_appendix(self) -> bool:
        return self.part is not None and self.part.kind == "appendices"

    @property
    def byline(self) -> str:
        """Its authors' names: "A", "A and B", "A, B and C"."""
        return byline(self.authors)

    @property
    def designation(self) -> str | None:
        """What the opener says above the title: "Chapter 3", "Appendix C"; None unnumbered."""
        if self.label is None:
            return None
        return self.words("appendix" if self.is_appendix else "chapter", number=self.label)

    @property
    def short_name(self) -> str:
        """How an index or a screen reader names it in a few words: "chapter 3", "appendix C",
        or an unnumbered chapter's running head."""
        if self.label is None:
            return self.running_head
        return self.words("appendix_in_text" if self.is_appendix else "chapter_in_text",
                          number=self.label)

    @property
    def title_id(self) -> str:
        return ids.title(self.id)

    @property
    def notes_id(self) -> str:
        return ids.notes_section(self.id)

    @property
    def direction(self) -> str | None:
        return direction(self.language) if self.language else None

    @property
    def headings(self) -> list[Heading]:
        return self.summary.headings

    @property
    def footnotes(self) -> list[Footnote]:
        return self.essay.footnotes

    @property
    def word_count(self) -> int:
        return self.summary.word_count

    @property
    def layout_words(self) -> int:
        """What laying the chapter out costs, in words of prose (its notes and tables weigh
        more): the measure of a long book's pieces."""
        return self.summary.layout_words

    @property
    def images(self) -> list[str]:
        """The image files the chapter uses, relative to the book's folder."""
        return self.summary.images


@dataclass
class Part:
    id: str
    number: int  # among the book's parts; 0 for a group that is not a part
    title: str
    intro: str
    chapters: list[Chapter] = field(default_factory=list)
    kind: GroupKind = "part"

    @property
    def has_opener(self) -> bool:
        """A part opens with a page of its own; a book's chapters or appendices do not."""
        return self.kind == "part"


@dataclass(frozen=True)
class Float:
    """A numbered figure or table, as the lists of figures and tables show it."""

    kind: str  # "figure" or "table"
    chapter_id: str
    id: str  # its anchor
    label: str  # "Figure 2.1"
    caption: str  # plain text


@dataclass(frozen=True)
class ReferenceEntry:
    """One entry of a reference list, as the CSL style wrote it (HTML: <i>, <b> at most)."""

    id: str  # its anchor: "ref-key", or "chapter--ref-key" in a chapter's own list
    html: str


class TokenChanges:
    """What the collect phase decided about each chapter's sites (collect/sites.py: its links,
    figures and tables, cross-references and citations), in the order it decided: a link's
    anchor, or that it goes nowhere; a figure's number; a reference's target, or that it has
    none; a citation's text. Decisions are made from the essays' summaries and written into an
    essay's tokens when they are read (Chapter.settle), so a chapter's tokens are fixed by its
    essay's key in the cache and its decisions: the EPUB keeps each chapter's rendered document
    under both (builders/epub.py)."""

    def __init__(self) -> None:
        self.by_chapter: dict[str, list[tuple[Any, ...]]] = {}

    def decide(self, chapter_id: str, kind: str, ordinal: int, action: str,
               value: Any = None) -> None:
        """About the `ordinal`-th site of `kind` ("link", "float", "reference", "citation"):
        "meta" (values for its meta), "name" (text for an empty link), "unlink" or
        "unresolved" (left as it is)."""
        self.by_chapter.setdefault(chapter_id, []).append((kind, ordinal, action, value))

    def of(self, chapter_id: str) -> list[tuple[Any, ...]]:
        return self.by_chapter.get(chapter_id, [])

    def key(self, chapter_id: str) -> str:
        """A chapter's decisions as text, for a key: plain data, whose repr is the same in
        every process."""
        return repr(self.of(chapter_id))


@dataclass(frozen=True)
class ChapterName:
    """How a locator names a chapter: its label ("3", "B", or an unnumbered chapter's running
    head) and its name ("Chapter 3", "Appendix B", its title)."""

    label: str
    name: str
    numbered: bool = True  # its sections are numbered after it: "3.2", "B.1"


@dataclass
class Book:
    manifest: Manifest
    parts: list[Part]
    glossary: Glossary | None = None
    index: Index | None = None
    floats: list[Float] = field(default_factory=list)  # numbered in the collect phase
    # reference lists made in the collect phase: "book", or a chapter's id → its entries
    references: dict[str, list[ReferenceEntry]] = field(default_factory=dict)
    changes: TokenChanges = field(default_factory=TokenChanges)  # made in the collect phase
    # how locators name each chapter, by its id: made once, in the collect phase (every
    # segment's HTML is rendered with them)
    chapter_names: dict[str, ChapterName] = field(default_factory=dict)
    # the anchors the book refers to by page (`{@sec:x p}`), found in the collect phase
    page_references: set[str] = field(default_factory=set)

    @property
    def meta(self) -> Metadata:
        return self.manifest.metadata

    @property
    def words(self) -> Words:
        """chapbook's own words ("Contents", "Chapter 3") in the book's language."""
        return Words(self.meta.language)

    @property
    def slug(self) -> str:
        return self.manifest.slug

    @property
    def chapters(self) -> list[Chapter]:
        return [chapter for part in self.parts for chapter in part.chapters]

    @property
    def real_parts(self) -> list[Part]:
        """The parts with openers of their own (none in a book without parts)."""
        return [part for part in self.parts if part.has_opener]

    @property
    def word_count(self) -> int:
        return sum(chapter.word_count for chapter in self.chapters)

    @property
    def layout_words(self) -> int:
        return sum(chapter.layout_words for chapter in self.chapters)

    def has(self, matter: str) -> bool:
        """Whether a front- or back-matter page is in this book."""
        if matter in ("glossary", "index"):
            # an index whose every heading went unused prints nothing, so it has no page
            found = getattr(self, matter)
            return matter in self.manifest.back_matter and bool(found) and (
                matter != "index" or bool(found.groups()))
        if matter in ("figures", "tables"):  # a list of figures needs a figure
            return matter in self.manifest.front_matter and any(
                f"{item.kind}s" == matter for item in self.floats)
        if matter == "references":  # the book's one list, when the book cites
            return bool(self.references.get("book")) and matter in self.manifest.back_matter
        if matter == "contributors":  # in the front or the back, if a chapter names its authors
            return bool(self.contributors()) and (matter in self.manifest.front_matter
                                                  or matter in self.manifest.back_matter)
        return matter in self.manifest.front_matter

    def contributors(self) -> list[tuple[Contributor, list[Chapter]]]:
        """Each chapter author once (by name, as first described), with their chapters."""
        found: dict[str, tuple[Contributor, list[Chapter]]] = {}
        for chapter in self.chapters:
            for author in chapter.authors:
                known = found.setdefault(author.name, (author, []))
                if known[0] != author and not (known[0].affiliation or known[0].bio):
                    found[author.name] = (author, known[1])  # the fuller description wins
                found[author.name][1].append(chapter)
        return list(found.values())
