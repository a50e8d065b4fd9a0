"""Phase one, reading: every essay parsed (or taken from the cache) into the Book, the terms it
uses found as it is parsed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chapbook import ids
from chapbook.cache import EssayCache, essay_key, freeze, thaw
from chapbook.collect.alttext import check_alt_text
from chapbook.collect.citations import csl_class
from chapbook.collect.sites import summarise
from chapbook.diagnostics import Diagnostics
from chapbook.languages import direction
from chapbook.limits import blame
from chapbook.markdown.parser import parse_essay
from chapbook.markdown.terms import TermMatcher
from chapbook.model.book import Book, Chapter, Part
from chapbook.model.essay import EssaySummary, ParsedEssay, byline
from chapbook.model.manifest import ChapterSpec, Manifest
from chapbook.model.terms import Found, Glossary, Index
from chapbook.read.sources import read_source
from chapbook.read.terms import load_glossary, load_index
from chapbook.schema import visible
from chapbook.words import Words


def _running_head(title: str) -> str:
    """A title's main clause, short enough for a running head: the part before a colon."""
    return title.split(":", 1)[0].strip()


def read_book(manifest: Manifest, diagnostics: Diagnostics,
              on_chapter: Callable[[str], None] | None = None,
              cache: Path | None = None) -> tuple[Book, Found]:
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
    number = part_number = 0
    labels = _Labels(manifest.numbered)
    for part_spec in manifest.parts:
        if part_spec.kind == "part":
            part_number += 1
            part = Part(f"part-{part_number}", part_number, part_spec.title, part_spec.intro)
        else:
            part = Part(part_spec.kind, 0, part_spec.title, "", kind=part_spec.kind)
        for spec in part_spec.chapters:
            number += 1
            chapter_id = ids.chapter_id(spec.source.stem, number, used_ids)
            with blame(spec.source, "reading the essay"):
                summary, read_essay, key = _parsed_essay(
                    manifest, spec, number, chapter_id, matcher, found, diagnostics, essays,
                    terms, glossary, index)
                chapter = _chapter(spec, part, number, chapter_id, summary, diagnostics,
                                   Words(manifest.metadata.language), manifest.running_head)
            chapter.essay_key, chapter.read_essay = key, read_essay
            chapter.label = labels.next(part.kind == "appendices", spec.numbered)
            part.chapters.append(chapter)
            if on_chapter:
                on_chapter(f"reading {chapter.id[:14]}")
        parts.append(part)
    return Book(manifest, parts, glossary, index), found


class _Labels:
    """Chapter numbers (1, 2, …) and appendix letters (A, B, …), given out in order to the
    chapters that have them: the book's `numbered:` unless a chapter says otherwise."""

    def __init__(self, numbered: bool) -> None:
        self.numbered = numbered
        self.chapters = self.appendices = 0

    def next(self, appendix: bool, numbered: bool | None) -> str | None:
        if not (self.numbered if numbered is None else numbered):
            return None
        if appendix:
            self.appendices += 1
            return _letters(self.appendices)
        self.chapters += 1
        return str(self.chapters)


def _letters(count: int) -> str:
    """A, B, … Z, AA, AB, …"""
    letters = ""
    while count:
        count, rest = divmod(count - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _parsed_essay(manifest: Manifest, spec: ChapterSpec, number: int, chapter_id: str,
                  matcher: TermMatcher, found: Found, diagnostics: Diagnostics,
                  essays: EssayCache, terms: bytes, glossary: Glossary | None,
                  index: Index | None) -> tuple[EssaySummary, Callable[[], ParsedEssay], str]:
    """The essay's summary, the means to read the parsed essay (tokens and all) when an edition
    renders it, and its key in the cache: all its parse depends on."""
    language = spec.language or manifest.metadata.language
    try:
        raw = spec.source.read_bytes()
    except OSError:
        raw = None  # read_source below reports it properly
    citations = csl_class(manifest.csl) if manifest.bibliography and manifest.csl else ""
    key = essay_key(raw or b"", chapter_id, str(number), language,
                    str(manifest.root.resolve()), str(spec.source.resolve()), terms, citations)

    def parse(found: Found, diagnostics: Diagnostics) -> ParsedEssay:
        source = read_source(spec.source, diagnostics, raw)
        if not source.text.strip():
            diagnostics.warn("empty-essay", "the essay is empty; its chapter will have a title "
                             "and nothing else", spec.source, 1)
        essay = parse_essay(source.text, chapter_id, spec.source, diagnostics,
                            [matcher.rule(chapter_id, number, found)], manifest.root,
                            direction(language), citations)
        check_alt_text(spec.source, essay, diagnostics)
        return essay

    def kept_essay() -> ParsedEssay:
        """Its tokens' entry, or (gone or damaged) the same bytes parsed again; what parsing
        finds was reported from the summary."""
        with blame(spec.source, "reading the essay"):
            essay = essays.load_essay(key, summary, manifest.root)
            if essay is None:
                essay = parse(Found(), Diagnostics())
                essays.store_essay(key, essay)
            return essay

    cached = essays.load(key)
    if cached is not None and thaw(cached, glossary, index, found, spec.source, manifest.root,
                                        chapter_id, number):
        diagnostics.add_all(cached.findings)
        summary = cached.summary
        return summary, kept_essay, key
    own_found, own = Found(), Diagnostics()
    essay = parse(own_found, own)
    summary = summarise(essay)
    essays.store(key, essay, freeze(summary, essay, own_found, own.findings))
    found.glossary += own_found.glossary
    found.index += own_found.index
    found.marks += own_found.marks
    diagnostics.add_all(own.findings)
    return summary, lambda: essay, key


def _chapter(spec: ChapterSpec, part: Part, number: int, chapter_id: str, essay: EssaySummary,
             diagnostics: Diagnostics, words: Words, running_heads: str = "title") -> Chapter:
    title = spec.title or essay.title
    if title is not None and not visible(title):  # a zero-width space alone, say
        diagnostics.warn("no-title", "the chapter's title holds only invisible characters",
                         spec.source, 1 if spec.title else essay.title_line or 1)
        title = None
    if title is None:
        title = ids.without_ordering_number(spec.source.stem).replace("-", " ") \
            .replace("_", " ").strip().capitalize() or words("chapter", number=number)
        diagnostics.warn("no-title", f"the essay has no title (a first `# ` heading, or "
                         f"`title:` in front matter); using '{title}'", spec.source, 1)
    front = essay.front
    authors = spec.authors or front.authors
    running_head = spec.running_head or (
        byline(authors) if running_heads == "author" and authors else _running_head(title))
    return Chapter(chapter_id, number, title, running_head, spec.key_points, spec.source, essay,
                   part, spec.language, subtitle=spec.subtitle or front.subtitle,
                   authors=authors, abstract=spec.abstract or front.abstract, words=words)
