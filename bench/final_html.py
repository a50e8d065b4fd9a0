"""chapbook's final HTML of a book, every page reference already written as text: what one raw
WeasyPrint run lays out as the benchmark's floor."""

from __future__ import annotations

import sys
from pathlib import Path

from chapbook.build import load_book
from chapbook.diagnostics import Diagnostics
from chapbook.layout.paginate import typeset
from chapbook.templating import render_book_html

if __name__ == "__main__":
    diagnostics = Diagnostics()
    book = load_book(Path(sys.argv[1]), diagnostics)
    pages = typeset(book, diagnostics, write=False).pages
    html = render_book_html(book, pages=pages)
    Path(sys.argv[2]).write_text(html, "utf-8")
