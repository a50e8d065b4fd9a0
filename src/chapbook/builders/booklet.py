"""The foldable booklet: the reading edition imposed for folding (pdf/impose.py), from the
reading PDF this build made, or the one a build of the same book wrote before: the book is not
laid out a second time."""

from __future__ import annotations

from pathlib import Path

from chapbook.cache import current_reading_pdf
from chapbook.diagnostics import Diagnostics
from chapbook.languages import direction
from chapbook.model.book import Book
from chapbook.model.pages import Layouts
from chapbook.options import BuildOptions
from chapbook.outputs import write_atomic
from chapbook.pdf.impose import impose


def build_booklet(book: Book, options: BuildOptions, diagnostics: Diagnostics,
                  layouts: Layouts) -> Path:
    reading = layouts.reading_pdf() or current_reading_pdf(book, options.cache,
                                                           options.out / f"{book.slug}.pdf")
    if reading is None:
        # WeasyPrint is loaded (a third of a second) only when the reading edition is laid out
        from chapbook.builders.pdf import pdf_bytes

        reading = pdf_bytes(book, options, diagnostics, layouts)
    rtl = direction(book.meta.language) == "rtl"
    data = impose(reading, options.creep_mm, rtl, options.signature_sheets)
    return write_atomic(options.out / f"{book.slug}-booklet.pdf", data)
