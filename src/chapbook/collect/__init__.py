"""Phase two, collecting: what needs the whole book. Links between chapters resolved, figures
numbered, cross-references and citations settled (from each essay's summary, model.essay: the
decisions are written into an essay's tokens when an edition reads them), each term's
occurrences put on its glossary entry or index heading, hand-placed index marks placed, and what
can only be checked now (unused terms, broken links and cross-references) reported."""

from __future__ import annotations

import functools
from pathlib import Path

from chapbook import ids
from chapbook.collect.citations import cite
from chapbook.collect.floats import number_floats, resolve_references
from chapbook.collect.links import Target, resolve_links
from chapbook.collect.locators import chapter_names
from chapbook.collect.sites import apply_changes
from chapbook.diagnostics import Diagnostics
from chapbook.model.book import Book
from chapbook.model.terms import Found, Glossary, Index, IndexHeading


def collect(book: Book, found: Found, diagnostics: Diagnostics) -> None:
    """The whole-book pass: occurrences onto their entries, then what can only be checked now."""
    sources = {chapter.id: chapter.source for chapter in book.chapters}
    resolve_links([Target(chapter.id, chapter.source, chapter.title_id,
                          tuple(heading.id for heading in chapter.headings),
                          {chapter.id: chapter.designation or chapter.title,
                           chapter.title_id: chapter.designation or chapter.title,
                           **{heading.id: heading.text for heading in chapter.headings}})
                   for chapter in book.chapters],
                  {chapter.id: chapter.summary.links for chapter in book.chapters},
                  diagnostics, book.changes)
    book.chapter_names = chapter_names(book.chapters)
    resolve_references(book, number_floats(book, diagnostics), diagnostics)
    cite(book, diagnostics)
    for chapter in book.chapters:  # written into its tokens when they are read
        chapter.settle(functools.partial(apply_changes, decisions=book.changes.of(chapter.id)))
    for entry, occurrence in found.glossary:
        entry.occurrences.append(occurrence)
    for heading, occurrence in found.index:
        heading.occurrences.append(occurrence)
    if book.index is not None:
        _place_marks(book.index, found, sources, diagnostics)
    if book.glossary is not None:
        _check_glossary(book.glossary, diagnostics)
    if book.index is not None:
        _check_index(book.index, diagnostics)


def _place_marks(index: Index, found: Found, sources: dict[str, Path],
                 diagnostics: Diagnostics) -> None:
    """Hand-placed `{^heading > sub}` marks; a heading not in index.yml is added to the index."""
    for path, occurrence in found.marks:
        if not path or not all(path):  # `{^ }`, `{^ > }`: a mark that names nothing
            diagnostics.warn("index-mark", "an index mark with no heading is left out",
                             sources[occurrence.chapter_id], occurrence.line)
            continue
        heading = index.find(path[0])
        if heading is None:
            heading = IndexHeading(path[0], ids.index_heading(path[0], index.used_ids), (),
                                   occurrence.line)
            index.add(heading)
            diagnostics.note("index-mark", f"index heading '{path[0]}' is not in index.yml; "
                             "added from the mark", sources[occurrence.chapter_id],
                             occurrence.line)
        if len(path) > 1:
            sub = next((s for s in heading.subentries if s.text.casefold() == path[1].casefold()),
                       None)
            if sub is None:
                sub = IndexHeading(path[1],
                                   ids.index_heading(path[1], index.used_ids, heading.id), (),
                                   occurrence.line, parent=heading)
                heading.subentries.append(sub)
            heading = sub
        heading.occurrences.append(occurrence)
    for heading in index.all_headings():
        heading.occurrences.sort(key=lambda o: (o.chapter_number, ids.term_serial(o.anchor)))


def _check_glossary(glossary: Glossary, diagnostics: Diagnostics) -> None:
    terms = glossary.by_term()
    for entry in glossary.entries:
        if not entry.occurrences:
            diagnostics.warn("unused-term", f"glossary term '{entry.term}' occurs nowhere in the "
                             "essays; add the form the essays use to its `forms`, or remove it",
                             glossary.path, entry.line)
        for other in entry.see_also:
            if other.casefold() not in terms:
                diagnostics.warn("broken-see-also", f"'{entry.term}' refers to '{other}', which "
                                 "is not a term of the glossary", glossary.path, entry.line)


def _check_index(index: Index, diagnostics: Diagnostics) -> None:
    for heading in index.all_headings():  # (a heading whose sub-entries occur is in use)
        if heading.forms and not heading.is_used():
            diagnostics.warn("unused-term", f"index heading '{heading.label}' occurs nowhere in "
                             "the essays; add the form the essays use to its `forms`, or remove "
                             "it", index.path, heading.line)
        for target in ((heading.see,) if heading.see else ()) + heading.see_also:
            found = index.find(target)
            if found is None:
                diagnostics.warn("broken-cross-reference", f"'{heading.text}' refers to "
                                 f"'{target}', which is not a heading of the index",
                                 index.path, heading.line)
            elif found is heading:
                diagnostics.warn("broken-cross-reference", f"'{heading.text}' refers to itself",
                                 index.path, heading.line)
