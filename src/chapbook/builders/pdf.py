"""The PDF editions: the reading edition (tagged PDF/UA-1) and the print shop's (PDF/X-4 with bleed
and crop marks), both from the one layout (layout/paginate.py)."""

from __future__ import annotations

from pathlib import Path

from chapbook.cache import note_reading_pdf
from chapbook.diagnostics import Diagnostics
from chapbook.layout.paginate import PRINT_SHOP, typeset
from chapbook.model.book import Book
from chapbook.model.pages import Layouts
from chapbook.options import BuildOptions
from chapbook.outputs import write_atomic


def pdf_bytes(book: Book, options: BuildOptions, diagnostics: Diagnostics,
              layouts: Layouts) -> bytes:
    """The reading edition: tagged PDF/UA-1 (structure tree, language, title shown, alt text),
    running heads and folios marked as pagination artifacts."""
    layout = typeset(book, diagnostics, layouts=layouts, cache=options.cache,
                     jobs=options.jobs, piece_words=options.piece_words)
    assert layout.pdf is not None
    layouts.page_counts["pdf"] = layout.page_count
    return layout.pdf


def build_pdf(book: Book, options: BuildOptions, diagnostics: Diagnostics,
              layouts: Layouts) -> Path:
    data = pdf_bytes(book, options, diagnostics, layouts)
    target = write_atomic(options.out / f"{book.slug}.pdf", data)
    note_reading_pdf(book, options.cache, data)  # a later booklet is imposed from it
    return target


def build_print(book: Book, options: BuildOptions, diagnostics: Diagnostics,
                layouts: Layouts) -> Path:
    """The print-shop edition: bleed and crop marks (styles/print-shop.css), PDF/X-4, each face
    embedded once as a subset, trim and bleed boxes set by WeasyPrint from the CSS page and
    bleed."""
    layout = typeset(book, diagnostics, PRINT_SHOP, layouts=layouts, cache=options.cache,
                     jobs=options.jobs, piece_words=options.piece_words)
    assert layout.pdf is not None
    layouts.page_counts["print"] = layout.page_count
    return write_atomic(options.out / f"{book.slug}-print.pdf", layout.pdf)
