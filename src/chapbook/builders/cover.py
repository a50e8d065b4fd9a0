"""The cover image for e-readers, drawn from the book's own cover design: the print cover page,
laid out by WeasyPrint and rasterised with PDFium."""

from __future__ import annotations

import io
from pathlib import Path

from chapbook.cache import DataCache, book_key
from chapbook.diagnostics import Diagnostics
from chapbook.model.book import Book
from chapbook.templating import render_book_html

COVER_WIDTH_PX = 1400


def cover_png(book: Book, diagnostics: Diagnostics, cache: Path | None = None,
              reading_pdf: bytes | None = None) -> bytes:
    """The cover as a PNG, from `cache` (build/.cache/cover) when the same book and code made
    it before; else from `reading_pdf`, the reading edition laid out in this build, whose first
    page is the cover (the same pixels, without laying the cover out again); else drawn."""
    covers = DataCache(cache, "cover", bytes)
    key = book_key(book, "cover", whole=False)  # the cover shows the manifest's metadata only
    if (cached := covers.load(key)) is not None:
        return cached
    if reading_pdf is not None and book.manifest.front_matter[:1] == ("cover",):
        image = _rasterised(reading_pdf)
    else:
        image = _draw(book, diagnostics)
    covers.store(key, image)
    return image


def _draw(book: Book, diagnostics: Diagnostics) -> bytes:
    from chapbook.layout.typesetter import render_document  # loads only when a cover is drawn

    html = render_book_html(book, front_matter=["cover"], back_matter=[], parts=[])
    return _rasterised(render_document(book, html, diagnostics).write_pdf())


def _rasterised(pdf: bytes) -> bytes:
    """The first page of `pdf`, COVER_WIDTH_PX wide, as a PNG."""
    import pypdfium2  # PDFium loads only when a cover must be made

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        scale = COVER_WIDTH_PX / page.get_width()
        image = page.render(scale=scale).to_pil()
    finally:
        document.close()
    buffer = io.BytesIO()
    # (optimize=True takes twice as long to save 1% of the bytes)
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()
