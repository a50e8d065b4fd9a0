"""The print edition: the unified HTML laid out by WeasyPrint with styles/print.css.

The body is laid out once. Its anchors' pages, read from WeasyPrint's own layout, give the page
numbers of the contents and the locators of the glossary and index, which are laid out as
documents of their own that continue the page numbering; the pages are then combined into one PDF
with links and bookmarks intact. No page number is guessed, and no counter makes WeasyPrint lay the
book out twice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from weasyprint import Document

from chapbook.book import Book
from chapbook.builders import write_atomic
from chapbook.builders.html import render_book_html
from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.typeset import captured_logs, render_document

NO_MARGIN_BOXES = ("@page { @top-left { content: none } @top-right { content: none } "
                   "@bottom-left { content: none } @bottom-right { content: none } }")


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


def lay_out(book: Book, diagnostics: Diagnostics) -> tuple[Document, dict[str, int]]:
    """The whole book laid out, and the page of every anchor in it."""
    def render(sections: tuple[str, ...], pages: dict[str, int] | _Unknown | None,
               first_page: int) -> Document:
        html = render_book_html(book, sections=sections, pages=pages)
        return render_document(book, html, diagnostics, extra_css=_starting_at(first_page))

    front = render(("front",), _Unknown(), 1)
    front_length = len(front.pages)
    body_start = _next_recto(front_length + 1)
    body = render(("body",), None, body_start)
    pages = anchor_pages(body, body_start)
    body_end = body_start + len(body.pages) - 1

    back = None
    back_start = _next_recto(body_end + 1)
    if any(book.has(matter) for matter in book.manifest.back_matter):
        back = render(("back",), pages, back_start)
        pages.update(anchor_pages(back, back_start))

    front = render(("front",), pages, 1)
    if len(front.pages) != front_length:  # the real numbers changed how the contents break
        raise BookError("the contents came out a different length once page numbers were set",
                        hint="report this with the book; a shorter chapter title avoids it")
    blank = render_document(book, render_book_html(book, sections=()), diagnostics,
                            extra_css=NO_MARGIN_BOXES)
    sequence = list(front.pages)
    sequence += [blank.pages[0]] * (body_start - front_length - 1)
    sequence += body.pages
    if back is not None:
        sequence += [blank.pages[0]] * (back_start - body_end - 1)
        sequence += back.pages
    pages.update(anchor_pages(front, 1))
    return front.copy(sequence), pages


def build_pdf(book: Book, out_dir: Path, diagnostics: Diagnostics) -> Path:
    document, _ = lay_out(book, diagnostics)
    # A stable identifier: the same book gives the same PDF /ID.
    identifier = hashlib.sha256(book.meta.identifier.encode()).hexdigest()[:32].encode()
    with captured_logs(diagnostics, book.manifest.path):
        data = document.write_pdf(pdf_identifier=identifier)
    return write_atomic(out_dir / f"{book.slug}.pdf", data)
