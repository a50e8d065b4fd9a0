"""Citations formatted and reference lists made, once the whole book is read, by citeproc-py
with the book's CSL style (Chicago author-date unless `csl:` names another): each cited work
is linked to its entry, in a list at the end of its chapter (`references: chapter`) or of the
book (`references: book`). A key the bibliography lacks is a warning at its line."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.markdown.parser import typographic
from chapbook.markdown.rawhtml import clean
from chapbook.model.book import Book, Chapter, ReferenceEntry
from chapbook.model.essay import CitationSite


def cite(book: Book, diagnostics: Diagnostics) -> None:
    """Format every citation of the book and make its reference lists (book.references)."""
    cited = [(chapter, ordinal, site) for chapter in book.chapters
             for ordinal, site in enumerate(chapter.summary.citations)]
    if not cited:
        return
    if not book.manifest.bibliography:
        for chapter, _, site in cited:
            diagnostics.warn("citation", f"'{site.content}' cites a work, but the book has no "
                             "bibliography; add `bibliography: refs.bib` to book.yml",
                             chapter.source, site.line)
        return
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source import Locator

    source = _sources(book, diagnostics)
    style = _style(book)
    in_text = csl_class(book.manifest.csl) != "note"
    layout = style.root.citation.layout
    opening, closing = layout.get("prefix", ""), layout.get("suffix", "")
    delimiter = layout.get("delimiter", "; ")
    inside = style.root.get_locale_option("punctuation-in-quote").lower() == "true"
    scopes: dict[str, Any] = {}
    made: list[tuple[Chapter, int, CitationSite, str, list[tuple[str, Any]]]] = []
    for chapter, ordinal, site in cited:
        scope = "book" if book.manifest.references == "book" else chapter.id
        if scope not in scopes:
            scopes[scope] = CitationStylesBibliography(style, source, formatter.html)
        bibliography = scopes[scope]
        parts = []
        for item in site.items:
            key = item["key"].lower()
            if key not in source:
                if site.mode != "author":  # (its note, which holds it too, says so)
                    diagnostics.warn("citation", f"'@{item['key']}' is not in the bibliography",
                                     chapter.source, site.line)
                parts.append((item["key"], None))
                continue
            extra = {"prefix": item["prefix"] + " "} if item["prefix"] else {}
            if item["suffix"]:
                extra["suffix"] = ", " + item["suffix"]
            if item["locator"]:
                extra["locator"] = Locator(item["label"], item["locator"])
            citation = Citation([CitationItem(key, **extra)])
            if site.mode != "author":  # names in a sentence are no citation of the work
                bibliography.register(citation)
            parts.append((key, citation))
        made.append((chapter, ordinal, site, scope,
                     [(f"{_prefix(scope)}ref-{_id_part(key)}", citation)
                      for key, citation in parts]))
    for bibliography in scopes.values():
        bibliography.sort()
    mentioned: dict[str, set[str]] = {}  # the works each chapter has named an author of
    for chapter, ordinal, site, scope, parts in made:
        bibliography = scopes[scope]
        pieces = []
        for anchor, citation in parts:
            if citation is None:  # not in the bibliography: its key, for the proofreader
                pieces.append((None, f"{anchor.rsplit('ref-', 1)[1]}?"))
                continue
            if site.mode == "author":
                pieces.append((anchor, ""))  # (its names, below)
                continue
            text = _punctuated(_typeset(str(bibliography.cite(citation, lambda item: None)),
                                        book.meta.language), inside)
            pieces.append((anchor, _inner(text, opening, closing)))
        if pieces and not in_text and site.own_note:  # a note opens with a capital: "See …"
            pieces[0] = (pieces[0][0], _capitalized(pieces[0][1]))
        # in a notes style, a citation inside an author's note is part of its sentence: the
        # style's closing full stop is the note's to give
        ends = closing if in_text or site.own_note else ""
        if in_text and (site.mode == "narrative" or any(
                item["suppress_author"] for item in site.items)):
            pieces = _author_date_forms(site, pieces, source)
        if site.mode == "author":  # a notes style's `@key`: the names in the sentence
            named = mentioned.setdefault(chapter.id, set())
            pieces = [(anchor, _names(source.get(item["key"].lower()),
                                      whole=item["key"].lower() not in named))
                      if anchor is not None else (anchor, text)
                      for item, (anchor, text) in zip(site.items, pieces, strict=True)]
            named.update(item["key"].lower() for item in site.items)
        starts = opening
        if not in_text and not site.own_note and site.mode == "bracket":
            starts, ends = "(", ")"  # `[@key]` inside an author's note: in parentheses (Pandoc)
        book.changes.decide(chapter.id, "citation", ordinal, "meta", {
            "scope": scope, "pieces": pieces, "opening": starts, "closing": ends,
            "delimiter": delimiter})
    for scope, bibliography in scopes.items():
        listed = _listing(bibliography)
        book.references[scope] = [
            ReferenceEntry(f"{_prefix(scope)}ref-{_id_part(key)}",
                           _punctuated(_typeset(clean(str(entry)), book.meta.language),
                                       inside))
            for key, entry in _entries(listed, source)]


def _entries(listed: Any, source: Any) -> list[tuple[str, Any]]:
    """Each work of a list with its entry. citeproc-py sets nothing for some types in some
    styles (a @misc, or a manuscript, in Chicago's notes style), and its list was then shorter
    than its keys: such a work is set as a standalone one (a report's form), not left out."""
    entries = []
    for key, item in zip(listed.keys, listed.items, strict=True):
        rendered = listed.style.render_bibliography([item])
        if not rendered:
            kind = source[key]["type"]
            source[key]["type"] = "report"
            try:
                rendered = listed.style.render_bibliography([item])
            finally:
                source[key]["type"] = kind
        entries.append((key, rendered[0] if rendered else source[key].get("title", key)))
    return entries


# "Era?." (the title's own mark, then the style's full stop), through a closing quote or tag
_DOUBLED = re.compile(r"([?!.])((?:</[a-z]+>|[”’»])*)\.")
_AFTER_QUOTE = re.compile(r"”([.,])")


def _punctuated(text: str, inside: bool) -> str:
    """Two rules of CSL's that citeproc-py leaves undone: a full stop after a title's question
    or exclamation mark, or its own full stop, is dropped ("The End of an Era?.",
    "“Notatorio, 1630–1631.”."), and where the locale puts
    punctuation inside quotes (American English: `punctuation-in-quote`), a full stop or comma
    after a closing quote goes in (“Power and Hegemony.”, as Pandoc sets it)."""
    text = _DOUBLED.sub(r"\1\2", text)
    # (a title's own full stop gives way to the comma the style puts after it: "1631,”")
    return _AFTER_QUOTE.sub(r"\1”", text).replace(".,”", ",”") if inside else text


_TAG = re.compile(r"(<[^>]*>)")


def _typeset(entry: str, language: str) -> str:
    """An entry's text (as the .bib typed it: "D'éclairage") with the essays' apostrophes and
    quotes; its tags left as they are."""
    return "".join(part if part.startswith("<") else typographic(part, language)
                   for part in _TAG.split(entry))


def _listing(cited: Any) -> Any:
    """The reference list of a scope's citations: its works registered again, in the order the
    style sorted them (the order their numbers follow), without the citations' locators,
    prefixes and suffixes. citeproc-py renders each entry from its first citation, so an
    article first cited at "p. 33" would be listed with "33" for its pages (a locator is the
    citation's, never the entry's)."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography

    listing = CitationStylesBibliography(cited.style, cited.source, cited.formatter)
    for key in cited.keys:
        listing.register(Citation([CitationItem(key)]))
    return listing


def _id_part(key: str) -> str:
    """A citation key as part of an XML id (`smith:2002/a` → `smith-2002-a`)."""
    return re.sub(r"[^\w.-]", "-", key)


def _inner(text: str, opening: str, closing: str) -> str:
    """One item's citation without the parentheses around a whole citation."""
    if opening and text.startswith(opening):
        text = text[len(opening):]
    if closing and text.endswith(closing):
        text = text[:-len(closing)]
    return text


def _prefix(scope: str) -> str:
    """What a list's entry ids start with: nothing for the book's, "chapter--" for a
    chapter's."""
    return "" if scope == "book" else f"{scope}--"


def _author_date_forms(site: CitationSite, made: list[tuple[str | None, str]],
                       source: Any) -> list[tuple[str | None, str]]:
    """`@key` (Waterbury (2002)) and `[-@key]` ((2002)): the author in the text, or left out.
    citeproc-py has neither form, so they are made from the entry's names and year."""
    pieces = []
    for item, (anchor, text) in zip(site.items, made, strict=True):
        entry = source.get(item["key"].lower())
        if entry is None or anchor is None:
            pieces.append((anchor, text))
            continue
        year = str(getattr(entry.get("issued"), "year", "") or "n.d.")
        where = f", {item['locator']}" if item["locator"] else ""
        if site.mode == "narrative":
            pieces.append((anchor, f"{_names(entry)} ({year}{where})"))
        else:
            pieces.append((anchor, f"{year}{where}"))
    return pieces


def _capitalized(html: str) -> str:
    """The text's first letter (outside its tags) as a capital."""
    return re.sub(r"^((?:<[^>]*>|[^\w<])*)(\w)", lambda m: m[1] + m[2].upper(), html, count=1)


def _names(entry: Any, whole: bool = False) -> str:
    """The names of a work's authors (or editors) as running text names them: family names
    ("Cascão and Zeitoun"), or with `whole` given names too ("Alan M. Kraut"), as Chicago names
    a person the first time in a chapter."""
    people = entry.get("author") or entry.get("editor") or []
    names = [(" ".join(str(part) for part in (person.get("given"), person.get("family"))
                       if part) if whole else str(person.get("family") or ""))
             or str(person.get("literal") or "") for person in people]
    if not names:
        return str(entry.get("title", ""))
    if len(names) > 3:
        return f"{names[0]} et al."
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _sources(book: Book, diagnostics: Diagnostics) -> Any:
    """Every bibliography file of the book, BibTeX or CSL-JSON, as one source; a BibTeX field
    no reference list will show is a warning at its line."""
    from citeproc.source import BibliographySource
    from citeproc.source.json import CiteProcJSON

    from chapbook.collect.bibtex import PlacedBibTeX

    merged = BibliographySource()
    for path in book.manifest.bibliography:
        try:
            if path.suffix.lower() == ".json":
                loaded = CiteProcJSON(json.loads(path.read_text("utf-8")))
            else:
                loaded = PlacedBibTeX(path)
                for key, field, line in loaded.left_out:
                    diagnostics.warn("bibliography", f"the BibTeX field '{field}' of '{key}' "
                                     "is not read, so no reference list shows it: move what "
                                     "it says into `note`, or remove it", path, line)
        except BookError:
            raise
        except Exception as err:  # citeproc-py's readers fail in every way there is
            line, what = _line_of(err), str(err) or type(err).__name__
            if isinstance(err, KeyError):  # an entry type or a @string abbreviation unknown
                name = str(err.args[0]) if err.args else ""
                what = (f"'{name}' is neither an entry type nor a @string abbreviation"
                        if name else "an entry has no type (`@{` with nothing between)")
                line = line or _line_naming(path, name)
            elif isinstance(err, AssertionError):
                what = "an entry's fields are not separated by commas, or one lacks its `=`"
            raise BookError(f"the bibliography cannot be read: {what}", path, line,
                            hint="check the entry there; a BibTeX entry is "
                                 "`@book{key, author = {…}, title = {…}, year = {…}}`, a "
                                 "CSL-JSON file a list of items with an `id`") from err
        for key, entry in loaded.items():
            merged[key] = entry
    return merged


def _line_naming(path: Path, name: str) -> int | None:
    """The first line of a .bib where an unknown type (`@name{`, `@{`) or a bare word used as
    a value (`= name`) stands."""
    pattern = re.compile(rf"@\s*{re.escape(name)}\s*[{{(]|=\s*{re.escape(name)}\b"
                         if name else r"@\s*[{(]", re.IGNORECASE)
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for number, text in enumerate(path.read_text("utf-8").splitlines(), 1):
            if pattern.search(text):
                return number
    return None


def _line_of(err: Exception) -> int | None:
    line = getattr(err, "lineno", None) or getattr(err, "line_number", None)
    if isinstance(line, int):
        return line
    found = re.search(r"line (\d+)", str(err))
    return int(found[1]) if found else None


def _style(book: Book) -> Any:
    from citeproc import CitationStylesStyle

    language = book.meta.language
    for locale in (language, language.split("-")[0], "en-US"):
        try:
            return CitationStylesStyle(str(book.manifest.csl), locale=locale, validate=False)
        except (ValueError, KeyError):
            continue
    raise BookError(f"the citation style '{book.manifest.csl}' cannot be read",
                    book.manifest.path, hint="name a CSL 1.0 style file")


def csl_class(path: Path) -> str:
    """"note" or "in-text": where a CSL style puts its citations."""
    head = path.read_text("utf-8", errors="replace")[:4000]
    found = re.search(r'<style[^>]*\sclass="([a-z-]+)"', head)
    return found[1] if found else "in-text"
