"""The print edition: the unified HTML laid out by WeasyPrint with styles/print.css."""

from __future__ import annotations

import hashlib
from pathlib import Path

from chapbook.book import Book
from chapbook.builders import write_atomic
from chapbook.builders.html import render_book_html
from chapbook.diagnostics import Diagnostics
from chapbook.typeset import captured_logs, render_document


def build_pdf(book: Book, out_dir: Path, diagnostics: Diagnostics) -> Path:
    document = render_document(book, render_book_html(book), diagnostics)
    # A stable identifier: the same book gives the same PDF /ID.
    identifier = hashlib.sha256(book.meta.identifier.encode()).hexdigest()[:32].encode()
    with captured_logs(diagnostics, book.manifest.path):
        data = document.write_pdf(pdf_identifier=identifier)
    return write_atomic(out_dir / f"{book.slug}.pdf", data)
