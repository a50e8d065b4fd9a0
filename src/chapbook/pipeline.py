"""The three phases: read everything, collect what needs the whole book, then write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chapbook import ids
from chapbook.book import Book, Chapter, Part
from chapbook.cache import EssayCache, essay_key, freeze, thaw
from chapbook.collect.alttext import check_alt_text
from chapbook.collect.glossary import Glossary, load_glossary
from chapbook.collect.index import Index, IndexHeading, load_index
from chapbook.collect.links import Target, resolve_links
from chapbook.collect.occurrences import Found, TermMatcher
from chapbook.diagnostics import Diagnostics
from chapbook.languages import direction
from chapbook.limits import blame
from chapbook.manifest import ChapterSpec, Manifest, load_manifest
from chapbook.markdown import ParsedEssay, parse_essay
from chapbook.sources import read_source


def _running_head(title: str) -> str:
    """A title's main clause, short enough for a running head: the part before a colon."""
    return title.split(":", 1)[0].strip()


def read_book(manifest: Manifest, diagnostics: Diagnostics,
              on_chapter: Callable[[str], None] | None = None,
              cache: Path | None = None) -> Book:
    """The whole book read; with `cache` (a folder in build/), essays parsed before with the
    same content are taken from it (see cache.py)."""
    glossary = load_glossary(manifest.glossary) if manifest.glossary else None
    index = load_index(manifest.index) if manifest.index else None
    matcher = TermMatcher(glossary, index)
    found = Found()
    essays = EssayCache(cache)
    terms = b"".join(path.read_bytes() for path in (manifest.glossary, manifest.index) if path)
    parts: list[Part] = []
    used_ids: set[str] = set()
    number = 0
    for part_number, part_spec in enumerate(manifest.parts, 1):
        part = Part(f"part-{part_number}", part_number, part_spec.title, part_spec.intro)
        for spec in part_spec.chapters:
            number += 1
            chapter_id = ids.chapter_id(spec.source.stem, number, used_ids)
            with blame(spec.source, "reading the essay"):
                essay = _parsed_essay(manifest, spec, number, chapter_id, matcher, found,
                                      diagnostics, essays, terms, glossary, index)
                chapter = _chapter(spec, part, number, chapter_id, essay, diagnostics)
            part.chapters.append(chapter)
            if on_chapter:
                on_chapter(f"reading {chapter.id[:14]}")
        parts.append(part)
    book = Book(manifest, parts, glossary, index)
    collect(book, found, diagnostics)
    return book


def _parsed_essay(manifest: Manifest, spec: ChapterSpec, number: int, chapter_id: str,
                  matcher: TermMatcher, found: Found, diagnostics: Diagnostics,
                  essays: EssayCache, terms: bytes, glossary: Glossary | None,
                  index: Index | None) -> ParsedEssay:
    language = spec.language or manifest.metadata.language
    try:
        raw = spec.source.read_bytes()
    except OSError:
        raw = b""  # read_source below reports it properly
    key = essay_key(raw, chapter_id, str(number), language, str(manifest.root.resolve()),
                    str(spec.source.resolve()), terms)
    cached = essays.load(key)
    if cached is not None and thaw(cached, glossary, index, found, manifest.root):
        for finding in cached.findings:
            diagnostics.add(finding.level, finding.code, finding.message, finding.path,
                            finding.line)
        return cached.essay
    own_found, own = Found(), Diagnostics()
    source = read_source(spec.source, own)
    if not source.text.strip():
        own.warn("empty-essay", "the essay is empty; its chapter will have a title and "
                 "nothing else", spec.source, 1)
    essay = parse_essay(source.text, chapter_id, spec.source, own,
                        [matcher.rule(chapter_id, number, own_found)], manifest.root,
                        direction(language))
    essays.store(key, freeze(essay, own_found, own.findings))
    found.glossary += own_found.glossary
    found.index += own_found.index
    found.marks += own_found.marks
    for finding in own.findings:
        diagnostics.add(finding.level, finding.code, finding.message, finding.path, finding.line)
    return essay


def _chapter(spec: ChapterSpec, part: Part, number: int, chapter_id: str, essay: ParsedEssay,
             diagnostics: Diagnostics) -> Chapter:
    title = spec.title or essay.title
    if title is None:
        title = ids.without_ordering_number(spec.source.stem).replace("-", " ") \
            .replace("_", " ").strip().capitalize() or f"Chapter {number}"
        diagnostics.warn("no-title", f"the essay has no title (a first `# ` heading, or "
                         f"`title:` in front matter); using '{title}'", spec.source, 1)
    return Chapter(chapter_id, number, title, spec.running_head or _running_head(title),
                   spec.key_points, spec.source, essay, part, spec.language)


def collect(book: Book, found: Found, diagnostics: Diagnostics) -> None:
    """The whole-book pass: occurrences onto their entries, then what can only be checked now."""
    sources = {chapter.id: chapter.source for chapter in book.chapters}
    resolve_links([Target(chapter.id, chapter.source, chapter.title_id,
                          tuple(heading.id for heading in chapter.headings))
                   for chapter in book.chapters],
                  {chapter.id: [chapter.essay.tokens, list(chapter.essay.title_tokens),
                                *(list(note.tokens) for note in chapter.footnotes)]
                   for chapter in book.chapters}, diagnostics)
    for chapter in book.chapters:
        check_alt_text(chapter.source, chapter.essay, diagnostics)
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
    for heading in index.all_headings():
        if heading.forms and not heading.occurrences:
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


def load_book(manifest_path: Path, diagnostics: Diagnostics) -> Book:
    return read_book(load_manifest(manifest_path), diagnostics)
