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
