"""Every id chapbook writes into a chapter, in one place.

Ids must be XML names (EPUB's package document and NCX, and XHTML, require it) and unique in the
whole book. A heading's id is its chapter's id, one hyphen and the heading's slug; slugs never
contain two hyphens in a row, so every id chapbook generates (blocks, notes, term anchors, the
title and the notes section) has two, and a heading called "Notes", "B1" or "FN1" cannot take it.
"""

from __future__ import annotations

import re
import unicodedata

from chapbook.sorting import UNDECOMPOSED

# Names of chapbook's own EPUB documents and folders, and id prefixes of its own sections: a
# chapter may not take them as its id (and so as its file name).
RESERVED = frozenset({"cover", "cover-image", "half-title", "title", "imprint", "contents", "nav",
                      "toc", "ncx", "glossary", "index", "images", "styles", "fonts", "page",
                      "search-key-map", "css-fonts", "css-epub", "figures", "tables",
                      "contributors", "references"})
# The front matter's sections that are EPUB documents of their own, by the id of the section in
# the unified HTML: the EPUB builder writes them, and the print layout names its page starts after
# them (the EPUB's page list).
FRONT_DOCUMENTS = {"cover": "cover", "title-page": "title", "imprint": "imprint",
                   "contents": "nav", "figures": "figures", "tables": "tables",
                   "contributors": "contributors"}
_RESERVED_PREFIXES = ("part-", "page-", "index-", "glossary-", "image-", "font-", "css-")
_ORDERING_PREFIX = re.compile(r"^\d+(?:[-_. ]+|$)")


def slug(text: str) -> str:
    """A readable ASCII id fragment: 'Why is it Vital?' → 'why-is-it-vital', 'Iğdır' →
    'igdir'."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(UNDECOMPOSED))
    return re.sub(r"[^a-z0-9]+", "-", folded.encode("ascii", "ignore").decode()).strip("-")


def text_slug(text: str) -> str:
    """A heading's text as Pandoc and GitHub spell it in a link, letters of every script kept
    ('Бухара и торговля' → 'бухара-и-торговля'): what a link or an `@sec:` may name a heading
    by besides its ASCII id."""
    kept = "".join(c if c.isalnum() or c in "-_" or unicodedata.category(c).startswith("M")
                   else "-" if c.isspace() else ""
                   for c in unicodedata.normalize("NFC", text.casefold()))
    return re.sub(r"-{2,}", "-", kept).strip("-")


def without_ordering_number(stem: str) -> str:
    """'01-introduction' → 'introduction': the number only orders the files on disk."""
    return _ORDERING_PREFIX.sub("", stem)


def chapter_id(stem: str, number: int, used: set[str]) -> str:
    """A chapter's id (and EPUB file name) from its file name: '01-introduction' → 'introduction'.

    A leading ordering number is dropped, and what is left must start with a letter; an id that
    is taken or reserved gets the chapter's number after it."""
    base = slug(without_ordering_number(stem))
    if not base or not base[0].isalpha():
        base = f"chapter-{base}" if base else f"chapter-{number}"
    candidate = base
    if candidate in RESERVED or candidate.startswith(_RESERVED_PREFIXES):
        candidate = f"chapter-{candidate}"
    suffix = 2
    while candidate in used:
        candidate = f"{base}-{suffix}"
        suffix += 1
    used.add(candidate)
    return candidate


def unique(base: str, used: set[str]) -> str:
    """`base`, or `base-2`, `base-3`… if it is taken; the id is then taken."""
    candidate, number = base, 2
    while candidate in used:
        candidate, number = f"{base}-{number}", number + 1
    used.add(candidate)
    return candidate


def glossary_entry(term: str, used: set[str]) -> str:
    """A glossary term's id: 'C', 'C++' and 'C#' get three ids, and 'Title' is not the
    glossary's own heading."""
    return unique(f"glossary--{slug(term) or 'term'}", used)


def index_heading(text: str, used: set[str], parent: str | None = None) -> str:
    return unique(f"{parent or 'index'}--{slug(text) or 'entry'}", used)


def heading(chapter: str, text: str) -> str:
    return f"{chapter}-{slug(text) or 'section'}"


def title(chapter: str) -> str:
    return f"{chapter}--title"


def notes_section(chapter: str) -> str:
    return f"{chapter}--notes"


def block(chapter: str, number: int) -> str:
    return f"{chapter}--b{number}"


def note(chapter: str, number: int) -> str:
    return f"{chapter}--fn{number}"


def noteref(chapter: str, number: int) -> str:
    """The id of a note's first call; a later call of the same note adds `-2`, `-3`…"""
    return f"{chapter}--fnref{number}"


def term_anchor(chapter: str, serial: int) -> str:
    return f"{chapter}--t{serial}"


def term_serial(anchor: str) -> int:
    return int(anchor.rsplit("--t", 1)[1])


def text_blocks(chapter: str) -> re.Pattern[str]:
    """The ids of a chapter's blocks that hold its text: headings and numbered blocks, not term
    anchors, notes or the title."""
    return re.compile(rf"^{re.escape(chapter)}-(?:[a-z0-9]|-b\d+$)")


def back_matter_entries() -> re.Pattern[str]:
    """The ids of glossary entries and index headings (glossary_entry, index_heading): where the
    EPUB's page list may mark a page beginning in the back matter."""
    return re.compile(r"^(glossary|index)--")
