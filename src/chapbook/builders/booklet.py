"""The foldable booklet: the reading edition imposed for folding (pdf/impose.py)."""

from __future__ import annotations

from pathlib import Path

from chapbook.builders.pdf import pdf_bytes
from chapbook.diagnostics import Diagnostics
from chapbook.languages import direction
from chapbook.model.book import Book
from chapbook.model.pages import Layouts
from chapbook.options import BuildOptions
from chapbook.outputs import write_atomic
from chapbook.pdf.impose import impose


def build_booklet(book: Book, options: BuildOptions, diagnostics: Diagnostics,
                  layouts: Layouts) -> Path:
    rtl = direction(book.meta.language) == "rtl"
    data = impose(pdf_bytes(book, options, diagnostics, layouts), options.creep_mm, rtl)
    return write_atomic(options.out / f"{book.slug}-booklet.pdf", data)
