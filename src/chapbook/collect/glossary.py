"""glossary.yml → Glossary: each term with the forms that find it in the text and its definition."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chapbook import ids
from chapbook.collect.occurrences import Occurrence
from chapbook.errors import raise_all
from chapbook.schema import Key, Reader, compose, list_of, text_list, text_value
from chapbook.sorting import sort_key

TERM_KEYS = {
    "term": Key(text_value, True, "defence diplomacy"),
    "forms": Key(text_list),
    "definition": Key(text_value, True, "The use of …"),
    "see_also": Key(text_list),
}
GLOSSARY_KEYS = {"terms": Key(list_of(TERM_KEYS), True, "[{term: …, definition: …}]")}


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


def load_glossary(path: Path) -> Glossary:
    reader = Reader(path, "the glossary")
    values = reader.mapping(compose(path, "glossary"), "", GLOSSARY_KEYS)
    entries: list[GlossaryEntry] = []
    seen: dict[str, int] = {}
    used: set[str] = set()
    for raw in values.get("terms", []):
        if not raw.get("term") or not raw.get("definition"):
            continue
        term = raw["term"]
        if term.casefold() in seen:
            reader.error(raw["term@node"], f"the term '{term}' is defined twice "
                         f"(first at line {seen[term.casefold()]})", "keep one definition")
            continue
        seen[term.casefold()] = raw["@line"]
        forms = tuple(dict.fromkeys([term, *raw.get("forms", ())]))
        entries.append(GlossaryEntry(term, ids.glossary_entry(term, used), forms, raw["definition"],
                                     raw.get("see_also", ()), raw["@line"]))
    raise_all(reader.errors)
    entries.sort(key=lambda entry: sort_key(entry.term))
    return Glossary(path, entries)
