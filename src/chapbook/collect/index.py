"""index.yml → Index: headings with the words that find them, sub-entries, see and see also."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from chapbook import ids
from chapbook.collect.occurrences import Occurrence
from chapbook.errors import raise_all
from chapbook.schema import Key, Reader, compose, list_of, text_list, text_value
from chapbook.sorting import letter_of, sort_key

SUBENTRY_KEYS = {
    "heading": Key(text_value, True, "with the United States"),
    "forms": Key(text_list),
}
HEADING_KEYS = {
    "heading": Key(text_value, True, '"alliances, military"'),
    "forms": Key(text_list),
    "see": Key(text_value),
    "see_also": Key(text_list),
    "subentries": Key(list_of(SUBENTRY_KEYS)),
}
INDEX_KEYS = {"headings": Key(list_of(HEADING_KEYS), True, "[{heading: …, forms: […]}]")}


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


def load_index(path: Path) -> Index:
    reader = Reader(path, "the index file")
    values = reader.mapping(compose(path, "index"), "", INDEX_KEYS)
    headings: list[IndexHeading] = []
    seen: dict[str, int] = {}
    used: set[str] = set()
    for raw in values.get("headings", []):
        if not raw.get("heading"):
            continue
        text = raw["heading"]
        if text.casefold() in seen:
            reader.error(raw["heading@node"], f"the heading '{text}' is given twice "
                         f"(first at line {seen[text.casefold()]})", "merge the two entries")
            continue
        seen[text.casefold()] = raw["@line"]
        if raw.get("see") and (raw.get("forms") or raw.get("subentries")):
            reader.error(raw["see@node"], f"'{text}' has both 'see' and forms or sub-entries",
                         "a 'see' heading only points elsewhere; move its forms to the target")
        forms = () if raw.get("see") else tuple(dict.fromkeys(raw.get("forms", ()) or (text,)))
        heading = IndexHeading(text, ids.index_heading(text, used), forms, raw["@line"],
                               raw.get("see"), raw.get("see_also", ()))
        for sub in raw.get("subentries", []):
            if sub.get("heading"):
                heading.subentries.append(IndexHeading(
                    sub["heading"], ids.index_heading(sub["heading"], used, heading.id),
                    tuple(dict.fromkeys(sub.get("forms", ()) or (sub["heading"],))),
                    sub["@line"], parent=heading))
        heading.subentries.sort(key=lambda h: sort_key(h.text))
        headings.append(heading)
    raise_all(reader.errors)
    headings.sort(key=lambda h: sort_key(h.text))
    return Index(path, headings, used)
