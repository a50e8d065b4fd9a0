"""The term files: glossary.yml → Glossary (each term with the forms that find it in the text and
its definition) and index.yml → Index (headings with their forms, sub-entries, see and see also)."""

from __future__ import annotations

from pathlib import Path

from chapbook import ids
from chapbook.errors import raise_all
from chapbook.model.terms import Glossary, GlossaryEntry, Index, IndexHeading
from chapbook.schema import Key, Reader, compose, list_of, text_list, text_value
from chapbook.sorting import sort_key

TERM_KEYS = {
    "term": Key(text_value, True, "defence diplomacy"),
    "forms": Key(text_list),
    "definition": Key(text_value, True, "The use of …"),
    "see_also": Key(text_list),
}
GLOSSARY_KEYS = {"terms": Key(list_of(TERM_KEYS), True, "[{term: …, definition: …}]")}


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
        # its own words unless it says otherwise: `forms: []` for one that only gathers its
        # sub-entries ("illuminants": colza oil, paraffin)
        forms = () if raw.get("see") else tuple(dict.fromkeys(raw.get("forms", (text,))))
        see_also = tuple(sorted(raw.get("see_also", ()), key=sort_key))  # CMOS 15.20
        heading = IndexHeading(text, ids.index_heading(text, used), forms, raw["@line"],
                               raw.get("see"), see_also)
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
