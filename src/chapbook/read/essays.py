"""Phase one, reading: every essay parsed (or taken from the cache) into the Book, the terms it
uses found as it is parsed."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from chapbook import ids
from chapbook.cache import EssayCache, essay_key, freeze, thaw
from chapbook.collect.alttext import check_alt_text
from chapbook.collect.citations import csl_class
from chapbook.collect.sites import summarise
from chapbook.diagnostics import Diagnostics
from chapbook.languages import direction
from chapbook.limits import blame, die_with_parent
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
              cache: Path | None = None, jobs: int = 0) -> tuple[Book, Found]:
    """The whole book read; with `cache` (a folder in build/), essays parsed before with the
    same content are taken from it (see cache.py). With `jobs` (forked processes beside this
    one, as `--jobs`), a book with many essays to parse has half of them parsed into the cache
    by a forked process while this one parses the others (_ParsedAhead)."""
    glossary = load_glossary(manifest.glossary) if manifest.glossary else None
    index = load_index(manifest.index) if manifest.index else None
    matcher = TermMatcher(glossary, index)
    found = Found()
    essays = EssayCache(cache)
    terms = b"".join(path.read_bytes() for path in (manifest.glossary, manifest.index) if path)
    parts: list[Part] = []
    planned: list[tuple[Part, ChapterSpec, int, str]] = []  # each chapter's part, number, id
    used_ids: set[str] = set()
    number = part_number = 0
    for part_spec in manifest.parts:
        if part_spec.kind == "part":
            part_number += 1
            part = Part(f"part-{part_number}", part_number, part_spec.title, part_spec.intro)
        else:
            part = Part(part_spec.kind, 0, part_spec.title, "", kind=part_spec.kind)
        for spec in part_spec.chapters:
            number += 1
            planned.append((part, spec, number,
                            ids.chapter_id(spec.source.stem, number, used_ids)))
        parts.append(part)
    sources = [_source(manifest, spec, number, chapter_id, terms)
               for _, spec, number, chapter_id in planned]
    to_parse = [(spec, number, chapter_id, raw, key) for (_, spec, number, chapter_id),
                (raw, key) in zip(planned, sources, strict=True) if not essays.holds(key)]
    labels = _Labels(manifest.numbered)
    with _ParsedAhead(manifest, matcher, essays, to_parse if jobs else []) as ahead:
        for (part, spec, number, chapter_id), (raw, key) in zip(planned, sources, strict=True):
            ahead.wait_for(number)
            with blame(spec.source, "reading the essay"):
                summary, read_essay = _parsed_essay(
                    manifest, spec, number, chapter_id, raw, key, matcher, found, diagnostics,
                    essays, glossary, index)
                chapter = _chapter(spec, part, number, chapter_id, summary, diagnostics,
                                   Words(manifest.metadata.language), manifest.running_head)
            chapter.essay_key, chapter.read_essay = key, read_essay
            chapter.label = labels.next(part.kind == "appendices", spec.numbered)
            part.chapters.append(chapter)
            if on_chapter:
                on_chapter(f"reading {chapter.id[:14]}")
    return Book(manifest, parts, glossary, index), found


# A book with at least this many essays to parse has the later half of them (by bytes) parsed by
# a forked process, into the cache, while this one parses the earlier half; this one then takes
# the later half from the cache. The read phase comes before the layout workers start: the other
# core sat idle while the 200-chapter book's 200 essays were parsed on one (2.1 s).
PARSE_AHEAD_FROM = 16


class _ParsedAhead:
    """The later half of `to_parse` parsed into `essays` by a forked process, where fork exists,
    the cache can be written and there are enough essays for it to pay: wait_for(number) waits
    for it before chapter `number` of that half is read. A context manager: the process is
    stopped if the read fails before it is waited for. Whatever the process does not store
    (it fails, or its entry cannot be read back) this process parses itself, as a cache miss."""

    def __init__(self, manifest: Manifest, matcher: TermMatcher, essays: EssayCache,
                 to_parse: list[tuple[ChapterSpec, int, str, bytes | None, str]]) -> None:
        self.numbers: set[int] = set()
        self.pid: int | None = None
        # (not beside other threads, as `chapbook serve` has: a forked process inherits only
        # this thread, and any lock another one held stays held in it)
        if len(to_parse) < PARSE_AHEAD_FROM or not hasattr(os, "fork") \
                or threading.active_count() > 1 or not essays.writable():
            return
        total, so_far, cut = sum(len(raw or b"") for *_, raw, _ in to_parse), 0, 0
        while cut < len(to_parse) - 1 and so_far < total / 2:
            so_far += len(to_parse[cut][3] or b"")
            cut += 1
        later = to_parse[cut:]
        pid = os.fork()
        if pid == 0:  # parse, store, and leave without running this process's exits
            status = 1
            try:
                die_with_parent()
                for spec, number, chapter_id, raw, key in later:
                    _parse_and_keep(manifest, spec, number, chapter_id, raw, key, matcher,
                                    essays)
                status = 0
            except BaseException:  # (what it did not store is parsed by the build, which
                pass               # reports what is wrong with it)
            finally:
                os._exit(status)
        self.pid = pid
        self.numbers = {number for _, number, *_ in later}

    def __enter__(self) -> _ParsedAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pid is not None:  # (the read failed before it was waited for)
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()

    def wait_for(self, number: int) -> None:
        if number in self.numbers:
            self._reap()

    def _reap(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
            self.pid = None


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


def _source(manifest: Manifest, spec: ChapterSpec, number: int, chapter_id: str,
            terms: bytes) -> tuple[bytes | None, str]:
    """The essay's bytes (None if it cannot be read) and its key in the cache: all its parse
    depends on."""
    try:
        raw = spec.source.read_bytes()
    except OSError:
        raw = None  # read_source reports it properly
    key = essay_key(raw or b"", chapter_id, str(number), spec.language
                    or manifest.metadata.language, str(manifest.root.resolve()),
                    str(spec.source.resolve()), terms, _citations(manifest))
    return raw, key


def _citations(manifest: Manifest) -> str:
    return csl_class(manifest.csl) if manifest.bibliography and manifest.csl else ""


def _parse(manifest: Manifest, spec: ChapterSpec, number: int, chapter_id: str,
           raw: bytes | None, matcher: TermMatcher, found: Found,
           diagnostics: Diagnostics) -> ParsedEssay:
    language = spec.language or manifest.metadata.language
    source = read_source(spec.source, diagnostics, raw)
    if not source.text.strip():
        diagnostics.warn("empty-essay", "the essay is empty; its chapter will have a title "
                         "and nothing else", spec.source, 1)
    essay = parse_essay(source.text, chapter_id, spec.source, diagnostics,
                        [matcher.rule(chapter_id, number, found)], manifest.root,
                        direction(language), _citations(manifest), language)
    check_alt_text(spec.source, essay, diagnostics)
    return essay


def _parse_and_keep(manifest: Manifest, spec: ChapterSpec, number: int, chapter_id: str,
                    raw: bytes | None, key: str, matcher: TermMatcher, essays: EssayCache,
                    ) -> tuple[ParsedEssay, EssaySummary, Found, Diagnostics]:
    """The essay parsed, and kept in the cache with what its parse found."""
    own_found, own = Found(), Diagnostics()
    essay = _parse(manifest, spec, number, chapter_id, raw, matcher, own_found, own)
    summary = summarise(essay)
    essays.store(key, essay, freeze(summary, essay, own_found, own.findings))
    return essay, summary, own_found, own


def _parsed_essay(manifest: Manifest, spec: ChapterSpec, number: int, chapter_id: str,
                  raw: bytes | None, key: str, matcher: TermMatcher, found: Found,
                  diagnostics: Diagnostics, essays: EssayCache, glossary: Glossary | None,
                  index: Index | None) -> tuple[EssaySummary, Callable[[], ParsedEssay]]:
    """The essay's summary, and the means to read the parsed essay (tokens and all) when an
    edition renders it."""

    def kept_essay() -> ParsedEssay:
        """Its tokens' entry, or (gone or damaged) the same bytes parsed again; what parsing
        finds was reported from the summary."""
        with blame(spec.source, "reading the essay"):
            essay = essays.load_essay(key, summary, manifest.root)
            if essay is None:
                essay = _parse(manifest, spec, number, chapter_id, raw, matcher, Found(),
                               Diagnostics())
                essays.store_essay(key, essay)
            return essay

    cached = essays.load(key)
    if cached is not None and thaw(cached, glossary, index, found, spec.source, manifest.root,
                                        chapter_id, number):
        diagnostics.add_all(cached.findings)
        summary = cached.summary
        return summary, kept_essay
    essay, summary, own_found, own = _parse_and_keep(manifest, spec, number, chapter_id, raw,
                                                     key, matcher, essays)
    found.glossary += own_found.glossary
    found.index += own_found.index
    found.marks += own_found.marks
    diagnostics.add_all(own.findings)
    return summary, lambda: essay


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
