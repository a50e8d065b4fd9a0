"""The manifest as read from book.yml: what the book is, and which essays in which order."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from chapbook.model.essay import Contributor


@dataclass(frozen=True)
class Metadata:
    title: str
    author: str
    language: str
    identifier: str
    date: str
    subtitle: str = ""
    publisher: str = ""
    edition: str = ""
    rights: str = ""
    description: str = ""
    subjects: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    colophon: str = ""


@dataclass(frozen=True)
class ChapterSpec:
    source: Path
    line: int
    title: str | None = None
    running_head: str | None = None
    key_points: tuple[str, ...] = ()
    language: str | None = None
    numbered: bool | None = None  # None: as the book says (`numbered:` at its top level)
    subtitle: str | None = None  # these three win over the essay's front matter
    abstract: str | None = None
    authors: tuple[Contributor, ...] = ()


# What a group of chapters is: a part (with its opener: "Part II"), the chapters of a book
# without parts, or the appendices (lettered A, B, …); only a part has an opener of its own.
GroupKind = Literal["part", "chapters", "appendices"]


@dataclass(frozen=True)
class PartSpec:
    title: str
    line: int
    intro: str = ""
    chapters: tuple[ChapterSpec, ...] = ()
    kind: GroupKind = "part"


@dataclass(frozen=True)
class Manifest:
    path: Path
    root: Path
    slug: str
    metadata: Metadata
    page_size: str
    front_matter: tuple[str, ...]
    parts: tuple[PartSpec, ...]
    back_matter: tuple[str, ...]
    glossary: Path | None = None
    index: Path | None = None
    exclude: tuple[str, ...] = ()  # what `chapbook check` should not call forgotten essays
    numbered: bool = True  # chapters numbered (a chapter's own `numbered:` overrides it)
    openers: Literal["recto", "any"] = "recto"  # the side chapters and parts open on in print
    toc_depth: int = 1  # 2: the contents list each chapter's sections too
    figure_numbering: Literal["chapter", "book"] = "chapter"  # "Figure 2.1" or "Figure 7"
    running_head: Literal["title", "author"] = "title"  # what a chapter's right-hand pages show
    bibliography: tuple[Path, ...] = ()  # BibTeX (.bib) or CSL-JSON (.json) files
    csl: Path | None = None  # the citation style; None: no bibliography
    references: Literal["chapter", "book"] = "chapter"  # where the reference lists stand
    chapters: tuple[ChapterSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chapters",
                           tuple(c for part in self.parts for c in part.chapters))
