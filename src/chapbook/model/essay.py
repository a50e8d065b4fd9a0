"""An essay as parsed: its title, headings, notes and token stream, with its front matter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markdown_it.token import Token


@dataclass(frozen=True)
class Contributor:
    """An author of a chapter: a name, and what a list of contributors says about them."""

    name: str
    affiliation: str = ""
    bio: str = ""
    orcid: str = ""  # 0000-0002-1825-0097

    def __str__(self) -> str:
        return self.name


def byline(authors: tuple[Contributor, ...]) -> str:
    """Authors' names as a byline: "A", "A and B", "A, B and C"."""
    names = [author.name for author in authors]
    return names[0] if len(names) <= 1 else f"{', '.join(names[:-1])} and {names[-1]}" \
        if names else ""


@dataclass(frozen=True)
class FrontMatter:
    title: str | None = None
    title_line: int | None = None
    subtitle: str | None = None
    authors: tuple[Contributor, ...] = ()
    abstract: str | None = None
    lines: int = 0  # how many lines of the file the block takes


@dataclass(frozen=True)
class Heading:
    level: int  # 2 for `## `, relative to the essay, whose title is level 1
    text: str
    id: str
    line: int


@dataclass(frozen=True)
class Footnote:
    number: int
    id: str
    ref_id: str
    tokens: tuple[Token, ...]
    citations: int = 1  # how many times the essay cites it

    def ref(self, citation: int = 1) -> str:
        """The id of the note's `citation`-th call (1 for the first)."""
        return self.ref_id if citation == 1 else f"{self.ref_id}-{citation}"


@dataclass
class ParsedEssay:
    title: str | None
    title_line: int | None
    headings: list[Heading]
    footnotes: list[Footnote]
    tokens: list[Token]
    word_count: int
    env: dict[str, Any] = field(default_factory=dict)
    title_tokens: tuple[Token, ...] = ()  # the title as written, notes included
    front: FrontMatter = field(default_factory=FrontMatter)


# --- what the collect phase reads of an essay (collect/sites.py finds them in its tokens) ---

@dataclass(frozen=True)
class LinkSite:
    """A link, as written: where to, on which line, and whether its text is empty (`[](…)`)."""

    href: str
    line: int
    placed: bool  # found among its stream's inline children (where it can be undone)
    empty: bool


@dataclass(frozen=True)
class FloatSite:
    """A figure or a table: its kind, its `{#fig:key}` if it has one, its caption as text."""

    kind: str
    key: str | None
    caption: str
    line: int | None


@dataclass(frozen=True)
class ReferenceSite:
    """A cross-reference (`@fig:flow`, `{@sec:x p}`) as written."""

    kind: str
    name: str
    key: str
    content: str
    line: int
    page: bool = False  # to the page its target is on, in print (`{@sec:x p}`)


@dataclass(frozen=True)
class CitationSite:
    """A citation (`[@key, p. 3]`) as written: its items (key, prefix, suffix, locator, label,
    suppress_author), its mode, and whether a notes style made it a note of its own."""

    items: tuple[dict[str, Any], ...]
    mode: str
    own_note: bool
    content: str
    line: int


@dataclass
class EssaySummary:
    """An essay as the read and collect phases see it, without its tokens: its title, headings,
    length and images, and each of its sites collect decides about, in the order collect finds
    them. A book is collected from these alone; an essay's tokens are read only by the editions
    that render them (model/book.py, Chapter.essay)."""

    title: str | None
    title_line: int | None
    headings: list[Heading]
    word_count: int
    layout_words: int  # what laying it out costs, in words of prose (collect/sites.py)
    front: FrontMatter
    images: list[str]  # the image files it uses, relative to the book's folder
    image_lookups: list[list[str | None]]  # every image it looked for, and what was found
    links: list[LinkSite]
    floats: list[FloatSite]
    references: list[ReferenceSite]
    citations: list[CitationSite]
