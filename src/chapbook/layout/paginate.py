"""Pagination: the unified HTML laid out by WeasyPrint with styles/print.css, page by page.

The body is laid out once, a part opener or a chapter at a time (each opens on a recto, so their
layouts are independent and a runaway essay is named). The anchors' pages, read from WeasyPrint's
own layout, give the page numbers of the contents and the locators of the glossary and index,
which are laid out as documents of their own that continue the page numbering. A long book's
finished runs of chapters are written as PDF pieces by forked processes while the layout goes on
(builders/pieces.py), and the pieces combined with links, tree and bookmarks intact. No page
number is guessed, and no counter makes WeasyPrint lay the book out twice.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weasyprint import Document, Page

from chapbook import ids
from chapbook.cache import store_page_map
from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.layout.compat import links_across_pieces
from chapbook.layout.page_starts import body_starts, element_starts
from chapbook.layout.typesetter import Typesetter, captured_logs
from chapbook.layout.writers import PieceWriter, parallel_jobs
from chapbook.limits import blame
from chapbook.model.book import Book, Chapter, Part
from chapbook.model.pages import Layout, Layouts, PageMap, PageStart
from chapbook.pdf.artifacts import mark_artifacts
from chapbook.pdf.combine import combine
from chapbook.pdf.stable import pdf_identifier, stable_ids
from chapbook.templating import render_book_html

NO_MARGIN_BOXES = ("@page :left, :right { @top-left { content: none } @top-right { content: none }"
                   " @bottom-left { content: none } @bottom-right { content: none } }")


# The front-matter sections that have an EPUB document of their own.
FRONT_DOCUMENTS = {"cover": "cover", "title-page": "title", "imprint": "imprint",
                   "contents": "nav"}


class _Unknown(dict[str, str]):
    """Page numbers before they are known: wide enough to take the space the real ones will."""

    def __missing__(self, key: str) -> str:
        return "888"


def _starting_at(page: int) -> str:
    return f"@page :first {{ counter-reset: page {page}; }}"


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
    """A piece of the body laid out on its own: a part opener or a chapter. Each opens on a recto,
    so no segment's layout depends on another's but for the number of its first page."""

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
    return [segment for part in book.parts
            for segment in (Segment(part), *(Segment(part, c) for c in part.chapters))]


@dataclass(frozen=True)
class Edition:
    """A PDF edition: its extra stylesheets and how WeasyPrint writes it."""

    name: str
    sheets: tuple[str, ...]
    options: dict[str, Any]
    artifacts: bool  # running heads and folios marked as pagination artifacts (tagged PDF)


READING = Edition("pdf", (), {"pdf_variant": "pdf/ua-1"}, artifacts=True)
PRINT_SHOP = Edition("print", ("print-shop.css",),
                     {"pdf_variant": "pdf/x-4", "full_fonts": True, "output_intent": "srgb"},
                     artifacts=False)

# Words of body text per piece written in parallel: about sixty A5 pages, enough that each
# piece's own fonts and tree are a small share of its bytes; a shorter book is one piece.
PIECE_WORDS = 20_000


def typeset(book: Book, diagnostics: Diagnostics, edition: Edition = READING, *,
            layouts: Layouts | None = None, write: bool = True, cache: Path | None = None,
            jobs: int | None = None, piece_words: int = PIECE_WORDS) -> Layout:
    """The book laid out and, if `write`, written as `edition`; once per build (with the build's
    `layouts`), however many editions need it. The page map is kept in `cache` for later builds
    (cache.store_page_map). `jobs`: writer processes beside the layout (default: one per spare
    core; 0: this process only)."""
    key = (edition.name, piece_words)
    known = layouts.made.get(key) if layouts is not None else None
    if known is not None and (known.pdf is not None or not write):
        return known
    jobs = parallel_jobs() if jobs is None else jobs
    result = _typeset(book, diagnostics, edition, write, jobs, piece_words)
    if layouts is not None:
        layouts.made[key] = result
    store_page_map(book, cache, PageMap(result.pages, result.starts), edition.name)
    return result


def _writer(book: Book, edition: Edition,
            piece: bool = True) -> Callable[[Document, Diagnostics], bytes]:
    """How a document is written as `edition`: as a piece of a longer book, its links to other
    pieces are kept for combine() to check."""
    def write(document: Document, diagnostics: Diagnostics) -> bytes:
        with captured_logs(diagnostics, book.manifest.path), \
                links_across_pieces() if piece else contextlib.nullcontext():
            data = document.write_pdf(
                pdf_identifier=pdf_identifier(book.meta.identifier, edition.name),
                **edition.options)
        data = stable_ids(book.meta.identifier, edition.name, data) \
            if edition.options.get("pdf_variant") == "pdf/x-4" else data
        return mark_artifacts(data) if edition.artifacts else data
    return write


def _typeset(book: Book, diagnostics: Diagnostics, edition: Edition, write: bool, jobs: int,
             piece_words: int) -> Layout:
    typesetter = Typesetter(book, diagnostics, edition.sheets)

    def render(first_page: int, **context: Any) -> Document:
        html = render_book_html(book, **context)
        return typesetter.render(html, extra_css=_starting_at(first_page))

    with blame(book.manifest.path, "laying out the front matter"):
        front = render(1, sections=("front",), pages=_Unknown())
    front_length = len(front.pages)
    blank = typesetter.render(render_book_html(book, sections=()), extra_css=NO_MARGIN_BOXES)

    pages: dict[str, int] = {}
    starts: list[PageStart] = []
    run: list[Page] = []  # the pages laid out and not yet handed to a writer
    run_words = 0
    next_page = _next_recto(front_length + 1)
    with PieceWriter(_writer(book, edition), diagnostics, jobs) as writer:
        for segment in segments(book):
            if run_words >= piece_words:  # hand the run over, and let its pages go
                if write:
                    writer.submit(front.copy(run))
                run, run_words = [], 0
            start = _next_recto(next_page)
            run += [blank.pages[0]] * (start - next_page)
            with blame(segment.source if segment.chapter else book.manifest.path,
                       segment.describe()):
                document = render(start, sections=("body",), segment=segment)
            pages.update(anchor_pages(document, start))
            if segment.chapter:
                starts += body_starts(document, start, segment.chapter.id,
                                      ids.text_blocks(segment.chapter.id))
                run_words += segment.chapter.word_count
            else:
                starts.append(PageStart(start, segment.part.id))
            run += document.pages
            next_page = start + len(document.pages)

        if any(book.has(matter) for matter in book.manifest.back_matter):
            start = _next_recto(next_page)
            run += [blank.pages[0]] * (start - next_page)
            with blame(book.manifest.path, "laying out the glossary and index"):
                document = render(start, sections=("back",), pages=pages)
            pages.update(anchor_pages(document, start))
            starts += element_starts(document, start, {"glossary": "glossary", "index": "index"},
                                     ids.back_matter_entries())
            run += document.pages

        with blame(book.manifest.path, "laying out the front matter"):
            front = render(1, sections=("front",), pages=pages)
        if len(front.pages) != front_length:  # the real numbers changed how the contents break
            raise BookError("the contents came out a different length once page numbers were "
                            "set", hint="report this with the book; a shorter chapter title "
                                        "avoids it")
        opening = [*front.pages, *[blank.pages[0]] * (_next_recto(front_length + 1)
                                                      - front_length - 1)]
        pages.update(anchor_pages(front, 1))
        starts[:0] = element_starts(front, 1, FRONT_DOCUMENTS, re.compile("^$"))
        if not write:
            return Layout(None, pages, starts)
        if not writer.pieces:  # a short book: one piece, written here, as WeasyPrint writes it
            whole = front.copy([*opening, *run])
            return Layout(_writer(book, edition, piece=False)(whole, diagnostics), pages, starts)
        writer.submit(front.copy(run), here=True)
        writer.submit(front.copy(opening), here=True)
        *body, opening_pdf = writer.results()
        *body_levels, opening_levels = writer.levels
    combined = combine([opening_pdf, *body], [opening_levels, *body_levels])
    for anchor in combined.missing_anchors:
        diagnostics.warn("typesetting", f"No anchor #{anchor} for internal URI reference",
                         book.manifest.path)
    return Layout(combined.pdf, pages, starts)
