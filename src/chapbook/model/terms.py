"""The glossary and the index, and where the essays use their terms (occurrences)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from chapbook.sorting import letter_of, sort_key


@dataclass(frozen=True)
class Occurrence:
    chapter_id: str
    chapter_number: int
    anchor: str
    section: int  # the `## ` section it falls in, counted from 1; 0 before the first
    section_title: str
    line: int


@dataclass
class Found:
    """What one chapter's pass found, handed to the collect phase."""

    glossary: list[tuple[GlossaryEntry, Occurrence]] = field(default_factory=list)
    index: list[tuple[IndexHeading, Occurrence]] = field(default_factory=list)
    marks: list[tuple[tuple[str, ...], Occurrence]] = field(default_factory=list)


@dataclass
class GlossaryEntry:
    term: str
    id: str
    forms: tuple[str, ...]
    definition: str
    see_also: tuple[str, ...]
    line: int
    occurrences: list[Occurrence] = field(default_factory=list)


@dataclass
class Glossary:
    path: Path
    entries: list[GlossaryEntry]

    def __bool__(self) -> bool:
        return bool(self.entries)

    def by_term(self) -> dict[str, GlossaryEntry]:
        return {entry.term.casefold(): entry for entry in self.entries}


@dataclass
class IndexHeading:
    text: str
    id: str
    forms: tuple[str, ...]
    line: int
    see: str | None = None
    see_also: tuple[str, ...] = ()
    subentries: list[IndexHeading] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)
    parent: IndexHeading | None = None

    @property
    def label(self) -> str:
        return f"{self.parent.text}, {self.text}" if self.parent else self.text

    def is_used(self) -> bool:
        return bool(self.occurrences) or any(sub.is_used() for sub in self.subentries)


@dataclass
class LetterGroup:
    letter: str
    headings: list[IndexHeading]


@dataclass
class Index:
    path: Path
    headings: list[IndexHeading]
    used_ids: set[str] = field(default_factory=set)  # every heading's id, for new ones

    def __post_init__(self) -> None:
        self._by_text = {h.text.casefold(): h for h in self.headings}

    def __bool__(self) -> bool:
        return bool(self.headings)

    def all_headings(self) -> list[IndexHeading]:
        return [h for heading in self.headings for h in (heading, *heading.subentries)]

    def find(self, text: str) -> IndexHeading | None:
        return self._by_text.get(text.casefold())

    def shown(self, text: str) -> IndexHeading | None:
        """The heading a cross-reference may link to: one the index prints (a heading no essay
        uses is left out, and a link to it would lead nowhere: EPUBCheck RSC-012)."""
        heading = self.find(text)
        return heading if heading is not None and (heading.is_used() or heading.see) else None

    def add(self, heading: IndexHeading) -> None:
        """A heading made from a mark, in its place in the order (not a sort per mark)."""
        bisect.insort(self.headings, heading, key=lambda h: sort_key(h.text))
        self._by_text[heading.text.casefold()] = heading

    def groups(self) -> list[LetterGroup]:
        """Letter groups of the headings that have something to show."""
        shown = [h for h in self.headings if h.is_used() or h.see]
        # One group per letter, in order of first appearance: symbols sort among the letters in
        # places, and two groups with one id would be invalid.
        groups: dict[str, list[IndexHeading]] = {}
        for heading in shown:
            groups.setdefault(letter_of(heading.text), []).append(heading)
        return [LetterGroup(letter, items) for letter, items in groups.items()]
