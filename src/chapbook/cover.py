"""The cover image for e-readers, drawn from the book's own cover design: the print cover page,
laid out by WeasyPrint and rasterised with PDFium."""

from __future__ import annotations

import io

import pypdfium2

from chapbook.book import Book
from chapbook.builders.html import render_book_html
from chapbook.diagnostics import Diagnostics
from chapbook.typeset import render_document

COVER_WIDTH_PX = 1400


def cover_png(book: Book, diagnostics: Diagnostics) -> bytes:
    html = render_book_html(book, front_matter=["cover"], back_matter=[], parts=[])
    pdf = render_document(book, html, diagnostics).write_pdf()
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        scale = COVER_WIDTH_PX / page.get_width()
        image = page.render(scale=scale).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
