"""The print edition: the unified HTML laid out by WeasyPrint with styles/print.css.

The body is laid out once, a part opener or a chapter at a time (each opens on a recto, so their
layouts are independent and a runaway essay is named). The anchors' pages, read from WeasyPrint's
own layout, give the page numbers of the contents and the locators of the glossary and index,
which are laid out as documents of their own that continue the page numbering. The pages are then
combined into one PDF with links and bookmarks intact. No page number is guessed, and no counter
makes WeasyPrint lay the book out twice.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from weasyprint import Document, Page

from chapbook.book import Book, Chapter, Part
from chapbook.builders import write_atomic
from chapbook.builders.artifacts import mark_artifacts
from chapbook.builders.html import render_book_html
from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.limits import blame
from chapbook.printmap import PageStart, body_starts, element_starts
from chapbook.typeset import Typesetter, captured_logs

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


@dataclass
class Layout:
    """The book laid out: the document, each anchor's page, and where each page begins (read
    from the boxes only when asked for: the EPUB's page list needs it, the PDF does not)."""

    document: Document
    pages: dict[str, int]
    readers: list[Callable[[], list[PageStart]]]

    @cached_property
    def starts(self) -> list[PageStart]:
        return [start for read in self.readers for start in read()]


_LAYOUTS: dict[tuple[int, tuple[str, ...]], Layout] = {}


def lay_out(book: Book, diagnostics: Diagnostics,
            extra_sheets: tuple[str, ...] = ()) -> Layout:
    """The whole book laid out, and the page of every anchor in it; once per build, however
    many editions (PDF, booklet, EPUB page list) need it."""
    key = (id(book), extra_sheets)
    if key not in _LAYOUTS:
        _LAYOUTS.clear()  # one book a process at a time; do not keep old layouts alive
        _LAYOUTS[key] = _lay_out(book, diagnostics, extra_sheets)
    return _LAYOUTS[key]


def _lay_out(book: Book, diagnostics: Diagnostics, extra_sheets: tuple[str, ...]) -> Layout:
    typesetter = Typesetter(book, diagnostics, extra_sheets)

    def render(first_page: int, **context: Any) -> Document:
        html = render_book_html(book, **context)
        return typesetter.render(html, extra_css=_starting_at(first_page))

    with blame(book.manifest.path, "laying out the front matter"):
        front = render(1, sections=("front",), pages=_Unknown())
    front_length = len(front.pages)
    blank = typesetter.render(render_book_html(book, sections=()), extra_css=NO_MARGIN_BOXES)

    body: list[Page] = []
    pages: dict[str, int] = {}
    readers: list[Callable[[], list[PageStart]]] = []
    next_page = _next_recto(front_length + 1)
    for segment in segments(book):
        start = _next_recto(next_page)
        body += [blank.pages[0]] * (start - next_page)
        with blame(segment.source if segment.chapter else book.manifest.path,
                   segment.describe()):
            document = render(start, sections=("body",), segment=segment)
        pages.update(anchor_pages(document, start))
        if segment.chapter:
            blocks = re.compile(rf"^{re.escape(segment.chapter.id)}-(?!t\d+$|fn)")
            readers.append(partial(body_starts, document, start, segment.chapter.id, blocks))
        else:
            readers.append(partial(lambda page, part: [PageStart(page, part)], start,
                                   segment.part.id))
        body += document.pages
        next_page = start + len(document.pages)

    back: list[Page] = []
    if any(book.has(matter) for matter in book.manifest.back_matter):
        start = _next_recto(next_page)
        back = [blank.pages[0]] * (start - next_page)
        with blame(book.manifest.path, "laying out the glossary and index"):
            document = render(start, sections=("back",), pages=pages)
        pages.update(anchor_pages(document, start))
        readers.append(partial(element_starts, document, start,
                               {"glossary": "glossary", "index": "index"},
                               re.compile(r"^(glossary-(?!title)|index-(?!letter|title))")))
        back += document.pages

    with blame(book.manifest.path, "laying out the front matter"):
        front = render(1, sections=("front",), pages=pages)
    if len(front.pages) != front_length:  # the real numbers changed how the contents break
        raise BookError("the contents came out a different length once page numbers were set",
                        hint="report this with the book; a shorter chapter title avoids it")
    filler = [blank.pages[0]] * (_next_recto(front_length + 1) - front_length - 1)
    pages.update(anchor_pages(front, 1))
    readers.insert(0, partial(element_starts, front, 1, FRONT_DOCUMENTS, re.compile("^$")))
    return Layout(front.copy([*front.pages, *filler, *body, *back]), pages, readers)


def _identifier(book: Book, edition: str) -> bytes:
    """A stable PDF /ID: the same book and edition give the same identifier."""
    return hashlib.sha256(f"{book.meta.identifier} {edition}".encode()).hexdigest()[:32].encode()


def pdf_bytes(book: Book, diagnostics: Diagnostics) -> bytes:
    """The reading edition: tagged PDF/UA-1 (structure tree, language, title shown, alt text),
    running heads and folios marked as pagination artifacts."""
    document = lay_out(book, diagnostics).document
    with captured_logs(diagnostics, book.manifest.path):
        data = document.write_pdf(pdf_identifier=_identifier(book, "pdf"),
                                  pdf_variant="pdf/ua-1")
    return mark_artifacts(data)


def build_pdf(book: Book, out_dir: Path, diagnostics: Diagnostics) -> Path:
    return write_atomic(out_dir / f"{book.slug}.pdf", pdf_bytes(book, diagnostics))


def build_print(book: Book, out_dir: Path, diagnostics: Diagnostics) -> Path:
    """The print-shop edition: bleed and crop marks (styles/print-shop.css), PDF/X-4, fonts
    embedded whole, trim and bleed boxes set by WeasyPrint from the CSS page and bleed."""
    document = lay_out(book, diagnostics, ("print-shop.css",)).document
    with captured_logs(diagnostics, book.manifest.path):
        data = document.write_pdf(pdf_identifier=_identifier(book, "print"),
                                  pdf_variant="pdf/x-4", full_fonts=True,
                                  output_intent="srgb")
    # WeasyPrint gives PDF/X-4's XMP DocumentID a random UUID; a stable one keeps the build
    # reproducible. The XMP stream is uncompressed and the UUID keeps its length, so the file's
    # cross-reference offsets stay true.
    stable = uuid.uuid5(uuid.NAMESPACE_URL, f"{book.meta.identifier}#print")
    data = re.sub(rb"xmp\.did:[0-9a-f-]{36}", f"xmp.did:{stable}".encode(), data)
    # The PDF/X variant also makes the second half of the file /ID random; likewise.
    identifier = _identifier(book, "print")
    data = re.sub(rb"/ID \[\((" + identifier + rb")\) \([0-9a-f]{32}\)\]",
                  b"/ID [(" + identifier + b") (" + identifier + b")]", data)
    return write_atomic(out_dir / f"{book.slug}-print.pdf", data)
