"""A BibTeX file read into CSL items by citeproc-py, with what its reader leaves out put back as
Pandoc and Zotero map it: the publisher of a thesis (`school`), a report (`institution`) or a
pamphlet (`howpublished`, or its URL), a thesis's kind (`type`, else "PhD thesis"), `url`,
`urldate`, biblatex's `date`, `origdate`, `journaltitle`, `location` and `translator` (as
Zotero exports them), and the CSL types of @incollection (a chapter, not a journal article),
@misc (a document, not a preprint) and biblatex's @online, @report, @thesis, @dataset,
@software and @mvbook.
A field that no reference list shows (`keywords`, `file`) is read without a word; any other
field citeproc-py cannot place is named, at its line, in `left_out`."""

from __future__ import annotations

import itertools
import re
import warnings
from pathlib import Path
from typing import Any, ClassVar

from citeproc.source import Date
from citeproc.source.bibtex import BibTeX
from citeproc.string import String
from citeproc.types import CHAPTER, WEBPAGE

from chapbook.errors import BookError

# BibTeX field → CSL variable, for the fields citeproc-py does not read; a publisher given as
# `publisher` comes first
PLACED = {"school": "publisher", "institution": "publisher", "organization": "publisher",
          "howpublished": "publisher", "type": "genre", "url": "URL", "shorttitle":
          "title_short", "language": "language", "langid": "language",
          "journaltitle": "container_title", "location": "publisher_place"}
# fields no style prints: bibliography managers' bookkeeping
_DATES = {"date": "issued", "urldate": "accessed", "origdate": "original_date"}
UNSEEN = {"keywords", "file", "timestamp", "owner", "groups", "mendeley-tags", "copyright",
          "annotation", "abstract", "month", "year", "filename", "key", "crossref", "urldate"}
THESIS_KINDS = {"phdthesis": "PhD thesis", "mastersthesis": "Master's thesis"}
# biblatex's and babel's language names (`langid = {american}`), as the BCP 47 tags CSL reads:
# citeproc-py title-cases a title only when its language starts "en"
LANGUAGE_NAMES = {
    "english": "en", "american": "en-US", "usenglish": "en-US", "british": "en-GB",
    "ukenglish": "en-GB", "canadian": "en-CA", "australian": "en-AU", "newzealand": "en-NZ",
    "french": "fr", "german": "de", "ngerman": "de", "austrian": "de-AT", "naustrian": "de-AT",
    "swissgerman": "de-CH", "nswissgerman": "de-CH", "italian": "it", "spanish": "es",
    "portuguese": "pt", "brazilian": "pt-BR", "dutch": "nl", "danish": "da", "norwegian": "nb",
    "norsk": "nb", "nynorsk": "nn", "swedish": "sv", "finnish": "fi", "icelandic": "is",
    "polish": "pl", "czech": "cs", "slovak": "sk", "slovene": "sl", "croatian": "hr",
    "serbian": "sr", "bulgarian": "bg", "russian": "ru", "ukrainian": "uk", "greek": "el",
    "turkish": "tr", "hungarian": "hu", "romanian": "ro", "latin": "la", "hebrew": "he",
    "arabic": "ar", "persian": "fa", "chinese": "zh", "japanese": "ja", "korean": "ko",
    "hindi": "hi", "catalan": "ca", "estonian": "et", "latvian": "lv", "lithuanian": "lt"}
_URL = re.compile(r"^\s*\\url\{(?P<url>[^}]*)\}\s*$|^\s*(?P<bare>https?://\S+)\s*$")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")
_ISO_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")


class PlacedBibTeX(BibTeX):
    """citeproc-py's BibTeX source, with the fields and types above placed."""

    types: ClassVar[dict[str, str]] = {
        **BibTeX.types, "incollection": CHAPTER, "misc": "document", "online": WEBPAGE,
        "electronic": WEBPAGE, "www": WEBPAGE, "dataset": "dataset", "software": "software",
        "mvbook": "book", "mvcollection": "book", "mvreference": "book", "bookinbook": CHAPTER,
        "newspaper": "article-newspaper"}

    def __init__(self, path: Path) -> None:
        self.left_out: list[tuple[str, str, int | None]] = []  # (key, field, line)
        self._text = path.read_text("utf-8")
        _refuse_open_entries(self._text, path)
        self._key, self._type = "", ""
        with warnings.catch_warnings():  # its "Unsupported BibTeX field" warnings: left_out
            warnings.simplefilter("ignore")
            super().__init__(str(path), encoding="utf-8")

    def create_reference(self, key: str, bibtex_entry: Any) -> Any:
        self._key, self._type = key, bibtex_entry.document_type
        return super().create_reference(key, bibtex_entry)

    def _bibtex_to_csl(self, bibtex_entry: Any) -> dict[str, Any]:
        csl = super()._bibtex_to_csl(bibtex_entry)
        for field, value in bibtex_entry.items():
            if field in self.fields:
                continue
            if field in _DATES:  # biblatex's ISO dates: `date`, `urldate`, `origdate`
                found = _ISO_DATE.match(str(value))
                if found and _DATES[field] not in csl:
                    csl[_DATES[field]] = Date(**{part: int(number) for part, number
                                                 in zip(("year", "month", "day"), found.groups(),
                                                        strict=True) if number})
            elif field == "translator":
                csl["translator"] = list(self._parse_author(str(value)))
            elif field in PLACED:
                url = _URL.match(str(value)) if field in ("howpublished", "url") else None
                target = "URL" if url else PLACED[field]
                if target not in csl:
                    csl[target] = String(url["url"] or url["bare"]) if url else \
                        self._parse_string(str(value).strip())
            elif field not in UNSEEN:
                self.left_out.append((self._key, field, self._line(field)))
        for number in ("volume", "issue"):
            if isinstance(csl.get(number), int):  # citeproc-py cases it as text, and an int fails
                csl[number] = String(str(csl[number]))
        if "language" in csl:
            named = str(csl["language"]).strip()
            csl["language"] = String(LANGUAGE_NAMES.get(named.lower(), named))
        elif not _LATIN_LETTER.search(str(csl.get("title", "A"))):
            # a title with no Latin letter is not English, whatever the style's locale: its
            # title case would make "Туркестан в эпоху…" "Туркестан В Эпоху…"
            csl["language"] = String("und")
        if "title_short" not in csl and ":" in str(csl.get("title", "")):
            # a short note's title, as Pandoc's citeproc makes it: the title before its colon
            csl["title_short"] = String(str(csl["title"]).split(":", 1)[0].strip())
        if self._type in THESIS_KINDS and "genre" not in csl:
            csl["genre"] = String(THESIS_KINDS[self._type])
        return csl

    def _line(self, field: str) -> int | None:
        """The line of `field` in the current entry, for a message."""
        entry = re.search(rf"@\w+\s*[{{(]\s*{re.escape(self._key)}\s*,", self._text,
                          re.IGNORECASE)
        if entry is None:
            return None
        found = re.compile(rf"^[ \t]*{re.escape(field)}\s*=", re.MULTILINE | re.IGNORECASE) \
            .search(self._text, entry.end())
        return self._text.count("\n", 0, (found or entry).start()) + 1


_ENTRY_START = re.compile(r"^[ \t]*@[A-Za-z]+[ \t]*\{", re.MULTILINE)


def _refuse_open_entries(text: str, path: Path) -> None:
    """An entry or a field whose brace is never closed is an error at the entry's line:
    citeproc-py's reader loops for ever on one. An entry ends where its braces balance; one
    that is still open where the next begins (`@` at a line's start) was never closed."""
    starts = [match.start() for match in _ENTRY_START.finditer(text)] + [len(text)]
    for start, following in itertools.pairwise(starts):
        if text[start:following].lstrip()[1:8].lower() == "comment":
            continue  # a comment holds anything, braces unmatched too
        depth, position = 0, text.index("{", start)
        while position < following:
            character = text[position]
            if character == "\\":
                position += 2  # an escaped brace, \{, counts for nothing
                continue
            depth += {"{": 1, "}": -1}.get(character, 0)
            if depth == 0:
                break
            position += 1
        if depth > 0:
            line = text.count("\n", 0, start) + 1
            raise BookError("this entry is never closed: a `{` in it has no `}`", path, line,
                            hint="close the field or the entry whose brace is missing; an entry "
                                 "is `@book{key, title = {…}, year = {…}}`")
