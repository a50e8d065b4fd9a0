"""Pagination: the unified HTML laid out by WeasyPrint with styles/print.css, page by page.

The body is laid out once, a part opener or a chapter at a time (each opens on a recto, so their
layouts are independent and a runaway essay is named). The anchors' pages, read from WeasyPrint's
own layout, give the page numbers of the contents and the locators of the glossary and index,
which are laid out as documents of their own that continue the page numbering. A long book's runs
of chapters, then its back matter's parts, are laid out and written as PDF pieces by forked
processes at once, or taken from the build cache (layout/parallel.py; in one process,
layout/writers.py writes finished runs beside the layout), and the pieces combined with links,
tree and bookmarks intact. No page number printed is guessed, and no
counter makes WeasyPrint lay the book out twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weasyprint import Document, Page

from chapbook import ids
from chapbook.cache import (
    CachedPiece,
    PieceCache,
    remember_front_length,
    remembered_front_length,
    store_page_map,
)
from chapbook.diagnostics import Diagnostics
from chapbook.elsewhere import Elsewhere
from chapbook.errors import BookError
from chapbook.layout.compat import links_across_pieces
from chapbook.layout.page_starts import body_starts, element_starts
from chapbook.layout.parallel import FromCache, LaidPiece, ParallelLayout
from chapbook.layout.typesetter import Typesetter, captured_logs, found_again
from chapbook.layout.writers import PieceWriter, bookmark_levels
from chapbook.limits import blame
from chapbook.model.book import Book, Chapter, Part
from chapbook.model.pages import Layout, Layouts, PageMap, PageStart
from chapbook.options import PIECE_WORDS, parallel_jobs
from chapbook.pdf.stable import pdf_identifier, stable_ids
from chapbook.templating import render_book_html

NO_MARGIN_BOXES = ("@page :left, :right { @top-left { content: none } @top-right { content: none }"
                   " @bottom-left { content: none } @bottom-right { content: none } }")


class _Unknown(dict[str, str]):
    """Page numbers before they are known: wide enough to take the space the real ones will, as
    many eights as the book's last page can have digits (a page holds more than a hundred words;
    a chapter adds at most four pages of opener, blank and short last page)."""

    def __init__(self, book: Book) -> None:
        super().__init__()
        words = sum(chapter.word_count for chapter in book.chapters)
        most = words // 100 + 4 * len(book.chapters) + 100
        self.digits = "8" * max(3, len(str(most)))

    def __missing__(self, key: str) -> str:
        return self.digits

    def __bool__(self) -> bool:  # templates write page numbers `{% if pages %}`
        return True


class _Padded(dict[str, str]):
    """The real page numbers, each as wide as the stand-ins: figure spaces before it (as wide
    as a digit in the contents' face, whose digits are all one width), so the contents break
    exactly as they did with the stand-ins. WeasyPrint's line breaking is not monotonic in a
    leader's width: a narrower number once wrapped a title that "888" left on one line."""

    def __init__(self, pages: dict[str, int], digits: int) -> None:
        super().__init__({anchor: str(page).rjust(digits, "\u2007")
                          for anchor, page in pages.items()})


def _starting_at(page: int) -> str:
    """A document whose first page is number `page`: on the left if that number is even (a
    verso, where `openers: any` lets a chapter open)."""
    side = "" if page % 2 else " html { break-before: verso; }"
    return f"@page :first {{ counter-reset: page {page}; }}{side}"


def anchor_pages(document: Document, first_page: int) -> dict[str, int]:
    """Each anchor's page number, read from the laid-out document."""
    pages: dict[str, int] = {}
    for number, page in enumerate(document.pages, first_page):
        for anchor in page.anchors:
            pages.setdefault(anchor, number)
    return pages


def _next_recto(page: int) -> int:
    return page if page % 2 == 1 else page + 1


@dataclass(frozen=True)
class Segment:
    """A piece of the body laid out on its own: a part opener or a chapter. Each opens on a new
    page (a recto unless the book has `openers: any`), so no segment's layout depends on
    another's but for the number of its first page."""

    part: Part
    chapter: Chapter | None = None

    @property
    def source(self) -> Path:
        return self.chapter.source if self.chapter else Path("book.yml")

    def describe(self) -> str:
        if self.chapter:
            return f"laying out chapter {self.chapter.number}"
        return f"laying out the opener of part {self.part.number}"


def segments(book: Book) -> list[Segment]:
    """The body's segments in order: each part's opener, then its chapters."""
    return [segment for part in book.parts
            for segment in ((Segment(part),) if part.has_opener else ())
            + tuple(Segment(part, c) for c in part.chapters)]


def pieces(book: Book, piece_words: int) -> list[list[Segment]]:
    """The body's segments in runs written as one PDF piece each: a run is closed once it holds
    `piece_words` words (of prose, or what costs as much to lay out: Chapter.layout_words), and
    before a chapter that fills a piece alone, so that an edit of the chapters beside it does
    not lay it out again, nor it them."""
    runs: list[list[Segment]] = [[]]
    words = 0
    for segment in segments(book):
        weight = segment.chapter.layout_words if segment.chapter else 0
        if words >= piece_words or (weight >= piece_words and words):
            runs.append([])
            words = 0
        runs[-1].append(segment)
        words += weight
    return [run for run in runs if run]


@dataclass(frozen=True)
class Edition:
    """A PDF edition: its extra stylesheets and how WeasyPrint writes it."""

    name: str
    sheets: tuple[str, ...]
    options: dict[str, Any]
    # Written whole, never in pieces: each piece embeds its own subset of every face, and the
    # print shop wants each face once.
    one_piece: bool = False


READING = Edition("pdf", (), {"pdf_variant": "pdf/ua-1"})
PRINT_SHOP = Edition("print", ("print-shop.css",),
                     {"pdf_variant": "pdf/x-4", "output_intent": "srgb"},
                     one_piece=True)

def typeset(book: Book, diagnostics: Diagnostics, edition: Edition = READING, *,
            layouts: Layouts | None = None, write: bool = True, cache: Path | None = None,
            jobs: int | None = None, piece_words: int = PIECE_WORDS) -> Layout:
    """The book laid out and, if `write`, written as `edition`; once per build (with the build's
    `layouts`), however many editions need it. The page map is kept in `cache` for later builds
    (cache.store_page_map). `jobs`: writer processes beside the layout (default: one per spare
    core; 0: this process only). A book shorter than one piece is laid out in this process
    unless `jobs` asks for workers: each forked worker holds a copy of the build, and the
    booklet's peak was twice a raw WeasyPrint run's (199 MiB against 100; in one process,
    119) for 0.6 s sooner."""
    # one layout per edition: the pieces it is written in do not change its pages
    known = layouts.made.get(edition.name) if layouts is not None else None
    if known is not None and (known.pdf is not None or not write):
        return known
    spare = parallel_jobs() if jobs is None else jobs  # processes it may fork, at most
    if jobs is None:  # the default: workers for a book longer than one piece
        jobs = spare if book.layout_words > piece_words else 0
    guess = remembered_front_length(book, cache, edition.name)
    try:
        result, front_length = _typeset(book, diagnostics, edition, write, jobs, piece_words,
                                        guess, cache, forks=spare >= 1)
    except _FrontMoved:  # (findings are kept once: Diagnostics drops a repeated one)
        result, front_length = _typeset(book, diagnostics, edition, write, jobs, piece_words,
                                        cache=cache, forks=spare >= 1)
    remember_front_length(book, cache, edition.name, front_length)
    if layouts is not None:
        layouts.made[edition.name] = result
    store_page_map(book, cache, PageMap(result.pages, result.starts), edition.name)
    return result


def _writer(book: Book, edition: Edition,
            piece: bool = True) -> Callable[[Document, Diagnostics], bytes]:
    """How a document is written as `edition`: as a piece of a longer book, with its links to
    other pieces kept for combine() to check. Each stream is deflated here, once (at zlib's
    default level: layout/compat.py), in the worker that wrote it; combine() copies it as it
    is. (Pieces were written without deflating for combine() to deflate, when pikepdf read
    each piece again to mark its artifacts: a long book's pieces, whole, in one process.)"""
    options = edition.options

    def write(document: Document, diagnostics: Diagnostics) -> bytes:
        with captured_logs(diagnostics, book.manifest.path), \
                links_across_pieces() if piece else contextlib.nullcontext():
            data = document.write_pdf(
                pdf_identifier=pdf_identifier(book.meta.identifier, edition.name), **options)
        return stable_ids(book.meta.identifier, edition.name, data) \
            if edition.options.get("pdf_variant") == "pdf/x-4" else data
    return write


# The back matter's parts, by the id of their section: the EPUB document each is
_BACK_DOCUMENTS = {"contributors": "contributors", "references": "references",
                   "glossary": "glossary", "index": "index"}


class _FrontMoved(Exception):
    """The front matter did not come out the length guessed: the body's page numbers are
    wrong, and the book is laid out again."""


class _Pagination:
    """One layout of the book, in the order its page numbers become known: the front matter with
    stand-in numbers (for its length), the body a segment at a time, the back matter with the
    body's numbers, then the front matter again with the real ones. Given the front matter's
    length from the last build (`front_length`), the first of its two layouts is left out, and
    the second checks the guess (_FrontMoved). Without it, the first is made by a forked process
    (elsewhere.py) while this one lays the body out from a guess (front_guess),
    and what was laid out before its answer is laid out again if the guess was wrong (the first
    segments; renumbering their pages, as the workers do, kept each one's layout context to the
    end of the build, 2 MiB on the bundled booklet). Laid-out pages wait in `run` until a writer
    takes them. Used as a context manager, so a failed build leaves no fork running."""

    def __init__(self, book: Book, diagnostics: Diagnostics, edition: Edition,
                 writer: PieceWriter | None, known: dict[str, int] | None = None,
                 front_length: int | None = None, measure_front: bool = True,
                 measure_elsewhere: bool = False) -> None:
        """`measure_front`: lay the front matter out with stand-ins now if its length is not
        given (else later, by measure_front(); the body waits for it); `measure_elsewhere`: in
        a forked process, while this one lays the body out (where the build may fork: not
        with `--jobs 0`, nor on one core)."""
        self.book, self.writer, self.diagnostics = book, writer, diagnostics
        self.known = known or {}  # pages from an earlier pass, for references to pages
        self.typesetter = Typesetter(book, diagnostics, edition.sheets)
        self.stand_ins = _Unknown(book)
        self.guessed = front_length is not None
        blank = self.typesetter.render(render_book_html(book, sections=()),
                                       extra_css=NO_MARGIN_BOXES)
        self.blank = blank.pages[0]
        self.front: Document = blank  # for its metadata, until the front matter is laid out
        self.pages: dict[str, int] = {}
        self.starts: list[PageStart] = []
        self.front_starts: list[PageStart] = []  # the front matter's, once laid out again
        self.run: list[Page] = []  # the pages laid out and not yet handed to a writer
        self.run_words = 0
        self.front_length = front_length or 0
        self.next_page = _next_recto(self.front_length + 1)
        self.measuring: Elsewhere | None = None  # the front matter, measured by a fork
        self.guess = self.next_page  # the page the body was first laid out from
        self.guessed_from: list[Segment] = []  # the segments laid out before its answer
        if front_length is None and measure_front:
            with contextlib.suppress(OSError):  # (no fork: measured here)
                if measure_elsewhere and hasattr(os, "fork"):
                    self.measuring = Elsewhere(lambda: len(self._front_with_stand_ins().pages))
                    self.next_page = self.guess = front_guess(book)
            if self.measuring is None:
                self.measure_front()

    def __enter__(self) -> _Pagination:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.measuring is not None:
            self.measuring.close()

    def _front_measured(self, wait: bool = True) -> None:
        """The front matter's length taken from its measuring fork, once it has it (at once if
        `wait`); the segments laid out from the guess laid out again if the body
        opens elsewhere. A fork that failed is followed by a measure here, which reports why."""
        if self.measuring is None or not (wait or self.measuring.ready()):
            return
        length, self.measuring = self.measuring.answer(), None
        if type(length) is not int:
            length = len(self._front_with_stand_ins().pages)
        self.front_length = length
        if _next_recto(length + 1) != self.guess:
            self.next_page, self.run, self.run_words = _next_recto(length + 1), [], 0
            self.pages, self.starts = {}, []
            for segment in self.guessed_from:
                self.body(segment)
        self.guessed_from = []

    def measure_front(self) -> int:
        """The front matter laid out with stand-in numbers, for its length; the page the body
        opens on."""
        self.front = self._front_with_stand_ins()
        self.front_length = len(self.front.pages)
        self.next_page = _next_recto(self.front_length + 1)
        return self.next_page

    def _front_with_stand_ins(self) -> Document:
        with blame(self.book.manifest.path, "laying out the front matter"):
            return self.render(1, sections=("front",), pages=self.stand_ins)

    def render(self, first_page: int, **context: Any) -> Document:
        html = render_book_html(self.book, **context)
        return self.typesetter.render(html, extra_css=_starting_at(first_page))

    def _opening(self) -> int:
        """The number of the page the next segment opens on: the next recto, the blank verso
        before it (if any) added to the run; with `openers: any`, the next page."""
        if self.book.manifest.openers == "any":
            return self.next_page
        start = _next_recto(self.next_page)
        self.run += [self.blank] * (start - self.next_page)
        return start

    def hand_over(self, write: bool) -> None:
        """Give the run to a writer, and let its pages go."""
        self._front_measured()  # (their numbers are final)
        if write and self.writer is not None:
            self.writer.submit(self.front.copy(self.run))
        self.run, self.run_words = [], 0

    def body(self, segment: Segment) -> None:
        start = self._opening()
        if self.measuring is not None:
            self.guessed_from.append(segment)
        with blame(segment.source if segment.chapter else self.book.manifest.path,
                   segment.describe()):
            document = self.render(start, sections=("body",), segment=segment,
                                   page_numbers=self.known)
        self.pages.update(anchor_pages(document, start))
        if segment.chapter:
            self.starts += body_starts(document, start, segment.chapter.id,
                                       ids.text_blocks(segment.chapter.id))
            self.run_words += segment.chapter.layout_words
        else:
            self.starts.append(PageStart(start, segment.part.id))
        self.run += document.pages
        self.next_page = start + len(document.pages)

    def lay_out_body(self, piece_words: int, write: bool) -> None:
        """The whole body laid out here, a segment at a time, handed to the writer (if `write`)
        in runs of about `piece_words`."""
        for segment in segments(self.book):
            if self.run_words >= piece_words:
                self.hand_over(write)
            self._front_measured(wait=False)
            self.body(segment)
        self._front_measured()

    def lay_out_piece(self, run: list[Segment],
                      first_page: int) -> tuple[list[Page], int, dict[str, int], list[PageStart]]:
        """A run of segments laid out from `first_page` (a recto) on its own: its pages, their
        number, its anchors' pages and its page starts (for layout/parallel.py's workers)."""
        self.next_page, self.run, self.pages, self.starts = first_page, [], {}, []
        for segment in run:
            self.body(segment)
        # Not kept here once given: a worker laying out the index next held the pages of the
        # piece it had written before (30 MiB of a 20-chapter book's) to the end.
        pages, self.run = self.run, []
        return pages, self.next_page - first_page, self.pages, self.starts

    def lay_out_back(self, matter: str, first_page: int, pages: dict[str, int],
                     ) -> tuple[list[Page], int, dict[str, int], list[PageStart]]:
        """One part of the back matter (`matter`: glossary, index...) laid out on its own from
        `first_page`, its locators from `pages`: as lay_out_piece (each part opens on a recto,
        as a chapter does)."""
        with blame(self.book.manifest.path, f"laying out the {matter}"):
            document = self.render(first_page, sections=("back",), pages=pages,
                                   back_matter=[matter])
        starts = element_starts(document, first_page, _BACK_DOCUMENTS,
                                ids.back_matter_entries())
        return document.pages, len(document.pages), anchor_pages(document, first_page), starts

    def take(self, piece: LaidPiece) -> None:
        """A piece laid out elsewhere (a worker, the cache): its anchors' pages and page starts
        with their true numbers."""
        pages, starts = piece.numbered()
        self.pages.update(pages)
        self.starts += starts

    def back(self) -> None:
        start = self._opening()
        with blame(self.book.manifest.path, "laying out the glossary and index"):
            document = self.render(start, sections=("back",), pages=self.pages)
        self.pages.update(anchor_pages(document, start))
        self.starts += element_starts(document, start, _BACK_DOCUMENTS,
                                      ids.back_matter_entries())
        self.run += document.pages

    def front_html(self) -> str:
        """The front matter's HTML with the real page numbers."""
        return render_book_html(self.book, sections=("front",),
                                pages=_Padded(self.pages, len(self.stand_ins.digits)))

    def front_again(self, html: str | None = None) -> list[Page]:
        """The front matter (`html`, from front_html()) laid out with the real page numbers,
        and the blank page after it if the body must open on a recto."""
        with blame(self.book.manifest.path, "laying out the front matter"):
            self.front = self.typesetter.render(html or self.front_html(),
                                                extra_css=_starting_at(1))
        blanks = self._front_laid(len(self.front.pages))
        self.pages.update(anchor_pages(self.front, 1))
        self.front_starts = element_starts(self.front, 1, ids.FRONT_DOCUMENTS,
                                           re.compile("^$"))
        self.starts[:0] = self.front_starts
        return [*self.front.pages, *[self.blank] * blanks]

    def front_kept(self, kept: CachedPiece) -> None:
        """The front matter as a build before laid it out from the same HTML (its pages, from
        the cache): front_again without laying it out."""
        self._front_laid(kept.length)
        self.pages.update(kept.pages)
        self.starts[:0] = kept.starts

    def _front_laid(self, length: int) -> int:
        """Checks the front matter's length against the one the body was numbered from; the
        blank pages after it (should the contents come out shorter than the stand-ins made
        them, blank pages keep the body's numbers)."""
        if self.guessed and _next_recto(length + 1) != _next_recto(self.front_length + 1):
            raise _FrontMoved
        if not self.guessed and length > self.front_length:  # wider than the stand-ins
            raise BookError("the contents came out longer once page numbers were set",
                            hint="report this with the book; a shorter chapter title "
                                 "avoids it")
        return _next_recto(self.front_length + 1) - 1 - length


def front_guess(book: Book) -> int:
    """Where the body opens, guessed before the front matter is measured, as print.css sets it:
    each of its sections a page, all but the last followed by a blank verso, but the title page,
    whose verso is the imprint. (The bundled booklet's 5 sections, 7 pages, body on page 9; the
    default 4, 5 pages, page 7.) A wrong guess costs what was laid out from it (or, for a long
    book's workers, its folios set again)."""
    sections = [matter for matter in book.manifest.front_matter if book.has(matter)]
    pages = 2 * len(sections) - 1 - ("imprint" in sections)
    return _next_recto(max(pages, 0) + 1)


MAX_PASSES = 4  # layouts to settle the pages references name (LaTeX asks for reruns the same way)


def _anchor_pages_unreferenced(book: Book, edition: Edition, jobs: int, piece_words: int,
                               front_length: int | None, cache: Path | None,
                               forks: bool = True) -> tuple[dict[str, int], int]:
    """Each anchor's page in the body laid out without writing, the pages references name not
    known yet, and the front matter's length (measured, or `front_length` if given): the first
    pass for a book that refers to pages (`{@fig:name p}`), on every core as the body of the PDF
    is (`front_length`: a guess at the front matter's, for the body to start from while the
    front matter is measured). Every reference is set with stand-ins, so a piece's pages depend
    on its HTML alone: a piece laid out so before, at the same first page, is taken from `cache`
    (cache.PieceCache, under a key of its own and without a PDF)."""
    _, runs, parallel = _runs(book, edition, jobs, piece_words)
    if not parallel:  # (its pages let go every `piece_words`)
        with _Pagination(book, Diagnostics(), edition, None, {}, front_length,
                         measure_elsewhere=forks) as pagination:
            pagination.lay_out_body(piece_words, write=False)
        return pagination.pages, pagination.front_length
    pagination = _Pagination(book, Diagnostics(), edition, None, {}, measure_front=False)
    kept = PieceCache(cache)
    keys = [hashlib.sha256(f"first pass\0{_body_key(book, edition, run, {})}".encode())
            .hexdigest() for run in runs]
    entries = [kept.entry(key) for key in keys]

    def lay_out(index: int, first_page: int, before: dict[str, int] | None,
                ) -> tuple[list[Page], int, dict[str, int], list[PageStart]]:
        return pagination.lay_out_piece(runs[index], first_page)

    taken = _taken_from(kept, keys, entries, Diagnostics(), book.manifest.path)
    with ParallelLayout(lay_out, lambda run, blanks: pagination.front.copy(run), None,
                        Diagnostics(), jobs + 1, _run_words(runs), taken) as workers:
        workers.start([entry.length if entry else None for entry in entries],
                      _next_recto(front_length + 1) if front_length else front_guess(book),
                      ahead=2)
        for index, piece in enumerate(workers.lay_out(pagination.measure_front())):
            pagination.take(piece)
            if not piece.cached:
                pages, starts = piece.numbered()
                kept.store(keys[index], CachedPiece(piece.first_page or 0, piece.blanks,
                                                    piece.length, pages, starts, [[]], []),
                           [b""])  # (its pages alone, no PDF)
    return pagination.pages, pagination.front_length


def page_references(book: Book) -> set[str]:
    """The anchors the book refers to by page (found in the collect phase, from the essays'
    summaries: no essay's tokens are read for it)."""
    return book.page_references


def _typeset(book: Book, diagnostics: Diagnostics, edition: Edition, write: bool, jobs: int,
             piece_words: int, front_length: int | None = None,
             cache: Path | None = None, forks: bool = True) -> tuple[Layout, int]:
    """The layout, and the front matter's length; `front_length`: a guess at it (_Pagination);
    `cache`: the build's cache folder, where written pieces are kept (cache.PieceCache). A book
    that refers to pages is laid out first without them, then with them until the pages its
    references name stop moving ("p. 9" and "p. 10" are not as wide, and a reference before
    its target is not known on the first pass): as a rule, one layout more."""
    wanted = page_references(book)
    if not wanted:
        return _typeset_knowing(book, diagnostics, edition, write, jobs, piece_words, None,
                                front_length, cache, forks)
    # The front matter's length is the first pass's (what references say of pages does not
    # change how long its stand-ins make it): measured once, if it was not guessed.
    known, front_length = _anchor_pages_unreferenced(book, edition, jobs, piece_words,
                                                     front_length, cache, forks)
    for _ in range(MAX_PASSES):
        attempt = Diagnostics()  # a layout set aside must not leave its warnings behind
        result, length = _typeset_knowing(book, attempt, edition, write, jobs, piece_words,
                                          known, front_length, cache, forks)
        if all(result.pages.get(anchor) == known.get(anchor) for anchor in wanted):
            break
        known = result.pages
    diagnostics.add_all(attempt.findings)
    return result, length


def _taken_from(kept: PieceCache, keys: list[str], entries: list[CachedPiece | None],
                diagnostics: Diagnostics, manifest: Path) -> FromCache:
    """ParallelLayout's `from_cache`: piece `index` as `kept` holds it under `keys[index]`, if
    it was written at the same first page; what its layout found is reported again, as if it
    were laid out again. (`keys` and `entries` may grow: the back matter's are added later.)"""
    def from_cache(index: int, first_page: int, blanks: int) -> LaidPiece | None:
        found = kept.load(keys[index], entries[index], first_page, blanks)
        if found is None:
            return None
        entry, pdfs = found
        found_again(entry.findings, diagnostics, manifest)
        return LaidPiece(first_page, entry.length, entry.pages, entry.starts, first_page,
                         blanks, list(pdfs), entry.levels, cached=True,
                         findings=entry.findings)
    return from_cache


def _run_words(runs: list[list[Segment]]) -> list[int]:
    """Each run's words, as the pieces are sized (Chapter.layout_words)."""
    return [sum(segment.chapter.layout_words for segment in run if segment.chapter)
            for run in runs]


def _runs(book: Book, edition: Edition, jobs: int,
          piece_words: int) -> tuple[int, list[list[Segment]], bool]:
    """The words of the pieces the body is laid out in, the runs of segments they are, and
    whether they are laid out by `jobs + 1` workers (layout/parallel.py) or in this process."""
    if edition.one_piece:
        piece_words = sys.maxsize
    parallel = jobs >= 1 and not edition.one_piece \
        and book.manifest.openers != "any" and hasattr(os, "fork")
    if parallel:  # every worker given a share of a book shorter than one piece per worker
        piece_words = min(piece_words, -(-book.layout_words // (jobs + 1)))
    runs = pieces(book, piece_words)
    return piece_words, runs, parallel and len(runs) > 1


def _typeset_knowing(book: Book, diagnostics: Diagnostics, edition: Edition, write: bool,
                     jobs: int, piece_words: int, known: dict[str, int] | None,
                     front_length: int | None, cache: Path | None,
                     forks: bool = True) -> tuple[Layout, int]:
    """_typeset, the pages references name taken from `known`."""
    piece_words, runs, parallel = _runs(book, edition, jobs, piece_words)
    if parallel:
        return _typeset_in_parallel(book, diagnostics, edition, jobs + 1, runs, known,
                                    front_length, PieceCache(cache), write)
    with PieceWriter(_writer(book, edition), diagnostics, jobs) as writer, \
            _Pagination(book, diagnostics, edition, writer, known, front_length,
                        measure_elsewhere=forks) as pagination:
        pagination.lay_out_body(piece_words, write)
        if any(book.has(matter) for matter in book.manifest.back_matter):
            pagination.back()
        opening = pagination.front_again()
        pages, starts, run, front = (pagination.pages, pagination.starts, pagination.run,
                                     pagination.front)
        length = len(front.pages)
        if not write:
            return Layout(None, pages, starts), length
        if not writer.pieces:  # a short book: one piece, written here, as WeasyPrint writes it
            whole = front.copy([*opening, *run])
            return Layout(_writer(book, edition, piece=False)(whole, diagnostics), pages,
                          starts, len(whole.pages)), length
        writer.submit(front.copy(run), here=True)
        writer.submit(front.copy(opening), here=True)
        *body, opening_pdf = writer.results()
        *body_levels, opening_levels = writer.levels
    from chapbook.pdf.combine import combine  # pikepdf (6.5 MiB): for a book in pieces only
    combined = combine([opening_pdf, *body], [opening_levels, *body_levels])
    for anchor in combined.missing_anchors:
        diagnostics.warn("typesetting", f"No anchor #{anchor} for internal URI reference",
                         book.manifest.path)
    return Layout(combined.pdf, pages, starts, combined.page_count), length


# The build time (dcterms.created and .modified: reproducible.build_time, the last commit's),
# which only the first piece's metadata carries into the whole (combine): left out of a body
# piece's key, so a new commit does not write every piece again.
_BOOK_DATE = re.compile(r'<meta name="dcterms\.(?:created|modified)"[^>]*>')


def _piece_key(book: Book, edition: Edition, html: list[str], images: list[str]) -> str:
    """What a piece is made from but its page numbers: its segments' HTML (their text,
    numbering, links, notes and locators, the book's language), the images they show, the page
    size and the edition (cache.DataCache adds chapbook's code, styles and fonts)."""
    digest = hashlib.sha256("\0".join((edition.name, repr(sorted(edition.options.items())),
                                       book.manifest.page_size, book.meta.identifier)).encode())
    for text in html:
        digest.update(b"\0" + _BOOK_DATE.sub("", text).encode())
    for image in images:
        path = book.manifest.root / image
        digest.update(b"\0" + (path.read_bytes() if path.is_file() else b"missing"))
    return digest.hexdigest()


def _front_key(book: Book, edition: Edition, html: str) -> str:
    """The front matter's key: _piece_key's, and its HTML whole, its `dcterms.modified` included
    (the front matter is the piece whose metadata the PDF keeps)."""
    return hashlib.sha256(f"front\0{_piece_key(book, edition, [html], [])}\0{html}"
                          .encode()).hexdigest()


def _body_key(book: Book, edition: Edition, run: list[Segment],
              known: dict[str, int] | None) -> str:
    return _piece_key(book, edition, [render_book_html(book, sections=("body",), segment=segment,
                                                       page_numbers=known) for segment in run],
                      [image for segment in run if segment.chapter
                       for image in segment.chapter.images])


def _front_matter(pagination: _Pagination, edition: Edition, kept: PieceCache,
                  writer: Callable[[Document, Diagnostics], bytes] | None,
                  diagnostics: Diagnostics) -> tuple[bytes, int, list[int]]:
    """The front matter with the real page numbers, laid out and written by `writer` (if any)
    or taken from `kept` where a build before wrote the same HTML: its PDF (empty without a
    writer), its length and its bookmark levels."""
    html = pagination.front_html()
    key = _front_key(pagination.book, edition, html)
    found = kept.load(key, kept.entry(key), 1, 0)
    if found is not None and len(found[1]) == 1:  # (the front matter is written whole)
        entry, (pdf,) = found
        found_again(entry.findings, diagnostics, pagination.book.manifest.path)
        pagination.front_kept(entry)
        return pdf, entry.length, entry.levels[0]
    with diagnostics.apart() as front_found:
        opening = pagination.front_again(html)
        front = pagination.front.copy(opening)
        pdf = writer(front, diagnostics) if writer is not None else b""
    length, levels = len(pagination.front.pages), bookmark_levels(front)
    if writer is not None:
        kept.store(key, CachedPiece(1, 0, length, anchor_pages(pagination.front, 1),
                                    pagination.front_starts, [levels], front_found), [pdf])
    return pdf, length, levels


def _typeset_in_parallel(book: Book, diagnostics: Diagnostics, edition: Edition,
                         processes: int, runs: list[list[Segment]],
                         known: dict[str, int] | None, front_length: int | None,
                         kept: PieceCache, write: bool = True) -> tuple[Layout, int]:
    """_typeset with the body's runs, and then the back matter's parts, laid out and written by
    `processes` workers at once (layout/parallel.py), or taken from `kept` where they were
    written before at the same first page; this process lays out the front matter once the
    other pages are numbered, while the workers write. Without `write`, nothing is written:
    the layout is wanted for its pages alone."""
    # Without the front matter's length from the last build, the workers start on the body
    # from a guess at it while this process measures it.
    pagination = _Pagination(book, diagnostics, edition, None, known, front_length,
                             measure_front=False)
    writer = _writer(book, edition)
    back = [matter for matter in book.manifest.back_matter if book.has(matter)]
    keys = [_body_key(book, edition, run, known) for run in runs]
    entries = [kept.entry(key) for key in keys]

    def lay_out(index: int, first_page: int, before: dict[str, int] | None,
                ) -> tuple[list[Page], int, dict[str, int], list[PageStart]]:
        if index < len(runs):
            return pagination.lay_out_piece(runs[index], first_page)
        return pagination.lay_out_back(back[index - len(runs)], first_page, before or {})

    def assemble(run: list[Page], blanks: int) -> Document:
        return pagination.front.copy([pagination.blank] * blanks + run)

    taken = _taken_from(kept, keys, entries, diagnostics, book.manifest.path)
    with ParallelLayout(lay_out, assemble, writer if write else None, diagnostics, processes,
                        _run_words(runs), taken) as workers:
        workers.start([entry.length if entry else None for entry in entries],
                      pagination.next_page if front_length else front_guess(book),
                      ahead=1 if front_length else 2)  # (two while the front is measured)
        first_page = pagination.next_page if front_length else pagination.measure_front()
        laid = workers.lay_out(first_page)
        for piece in laid:
            pagination.take(piece)
        if back:  # its locators are the body's pages, known now
            back_html = [render_book_html(book, sections=("back",), pages=pagination.pages,
                                          back_matter=[matter]) for matter in back]
            keys += [_piece_key(book, edition, [html], []) for html in back_html]
            entries += [kept.entry(key) for key in keys[len(runs):]]
            # The front matter needs only the first page of the last part (the longest, the
            # index, as a rule): it is laid out while that part still is. The parts are laid
            # out longest first (their HTML's length standing for their cost).
            laid = workers.lay_out((laid[-1].first_page or 0) + laid[-1].length,
                                   [entry.length if entry else None
                                    for entry in entries[len(runs):]], pagination.pages,
                                   costs=[len(html) for html in back_html],
                                   all_but_the_last=True)
            for piece in laid[len(runs):]:
                if piece.length:  # (the last part, numbered but still being laid out, later)
                    pagination.take(piece)
            if workers.last_opens is not None:
                pagination.pages[back[-1]] = workers.last_opens
        workers.no_more_pieces()
        # while the index is laid out
        opening_pdf, front_length, front_levels = _front_matter(
            pagination, edition, kept, writer if write else None, diagnostics)
        # the last part of the back matter, if it was numbered before it was laid out
        last = len(workers.laid) - 1 if back and workers.last_opens is not None else None
        if not write:
            if last is not None:
                pagination.take(workers.lay_out(workers.resume_at)[-1])
            return Layout(None, pagination.pages, pagination.starts), front_length
        # The pieces combined in order as they are written, the body's while the index is
        # still laid out or written.
        from chapbook.pdf.combine import Combiner  # pikepdf: for a book in pieces only
        combiner = Combiner(opening_pdf, front_levels)
        for index in range(len(workers.laid)):
            if index == last:  # its length and anchors' pages (or the cache's copy of it)
                pagination.take(workers.lay_out(workers.resume_at)[-1])
            piece = workers.written(index)
            pdfs = [pdf if isinstance(pdf, bytes) else pdf.read_bytes()
                    for pdf in piece.pdfs or []]
            if not piece.cached:
                pages, starts = piece.numbered()
                kept.store(keys[index], CachedPiece(piece.first_page or 0, piece.blanks,
                                                    piece.length, pages, starts, piece.levels,
                                                    piece.findings), pdfs)
            for pdf, levels in zip(pdfs, piece.levels, strict=True):
                combiner.add(pdf, levels)
        kept.trim(len(workers.laid) + 1)  # and the front matter
    combined = combiner.finish()
    for anchor in combined.missing_anchors:
        diagnostics.warn("typesetting", f"No anchor #{anchor} for internal URI reference",
                         book.manifest.path)
    return Layout(combined.pdf, pagination.pages, pagination.starts,
                  combined.page_count), front_length
