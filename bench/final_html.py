"""chapbook's final HTML of a book, every page reference already written as text: what one raw
WeasyPrint run lays out as the benchmark's floor. The book is built (its PDF) through build(),
and the page numbers are read back from the layout it kept in its cache."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from chapbook.build import build
from chapbook.cache import cached_page_map
from chapbook.diagnostics import Diagnostics
from chapbook.options import BuildOptions
from chapbook.templating import render_book_html

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        options = BuildOptions(Path(sys.argv[1]), Path(folder), ("pdf",))
        book = build(options, Diagnostics()).book
        page_map = cached_page_map(book, options.cache)
        assert page_map is not None, "the build kept no page map"
        Path(sys.argv[2]).write_text(render_book_html(book, pages=page_map.pages), "utf-8")
