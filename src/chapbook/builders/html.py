"""The unified HTML book: the web edition (one file, styles and font subsets inside) and, without
the screen styles, the PDF's input."""

from __future__ import annotations

from pathlib import Path

from chapbook.diagnostics import Diagnostics
from chapbook.fonts import data_uri, font_face_css, needed_faces, subset_fonts
from chapbook.model.book import Book
from chapbook.model.pages import Layouts
from chapbook.options import BuildOptions
from chapbook.outputs import write_atomic
from chapbook.resources import styles_dir
from chapbook.templating import render_book_html


def screen_css(text: str, cache: Path | None = None) -> str:
    """The screen stylesheet with the book's fonts inlined as subsets of the text they set."""
    fonts = subset_fonts(needed_faces(text), text, "woff2", cache)
    faces = font_face_css(tuple(fonts), lambda face: f'url("{data_uri(fonts[face])}") '
                                                     f'format("woff2")')
    return faces + "".join((styles_dir() / sheet).read_text("utf-8")
                           for sheet in ("common.css", "screen.css"))


def build_html(book: Book, options: BuildOptions, diagnostics: Diagnostics,
               layouts: Layouts) -> Path:
    draft = render_book_html(book)
    html = render_book_html(book, screen_css=screen_css(draft, options.cache),
                            body_flavour="web")
    return write_atomic(options.out / f"{book.slug}.html", html.encode("utf-8"))
