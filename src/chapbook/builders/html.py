"""The unified HTML book: the web edition (one file, styles and font subsets inside) and, without
the screen styles, the PDF's input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chapbook.book import Book
from chapbook.builders import write_atomic
from chapbook.collect.locators import (
    chapter_locators,
    first_and_rest,
    page_locators,
    section_locators,
)
from chapbook.diagnostics import Diagnostics
from chapbook.fonts import data_uri, font_face_css, needed_faces, subset_fonts
from chapbook.languages import direction
from chapbook.resources import environment, long_date, styles_dir


def book_context(book: Book) -> dict[str, Any]:
    """What every template of the book sees: plain data from the Book model."""
    meta = book.meta
    keywords = list({k.casefold(): k for k in [*meta.subjects, *meta.keywords]}.values())
    return {
        "book": book,
        "meta": meta,
        "parts": book.parts,
        "chapters": book.chapters,
        "keywords": keywords,
        "direction": direction(meta.language),
        "date_long": long_date(meta.date),
        "modified": meta.date,
        "front_matter": [m for m in book.manifest.front_matter],
        "back_matter": [m for m in book.manifest.back_matter if book.has(m)],
        "sections": ("front", "body", "back"),
        "body_flavour": "print",
        "segment": None,
        "pages": None,
        "page_locators": page_locators,
        "section_locators": section_locators,
        "chapter_locators": chapter_locators,
        "first_and_rest": first_and_rest,
        "element_marks": {},
        "page_breaks": None,
        "page_list": [],
    }


def render_book_html(book: Book, screen_css: str = "", **overrides: Any) -> str:
    """The book as one HTML page; `overrides` replace context entries (the cover alone, say)."""
    template = environment().get_template("html/book.html.j2")
    return template.render({**book_context(book), "screen_css": screen_css, **overrides})


def screen_css(text: str, cache: Path | None = None) -> str:
    """The screen stylesheet with the book's fonts inlined as subsets of the text they set."""
    fonts = subset_fonts(needed_faces(text), text, "woff2", cache)
    faces = font_face_css(tuple(fonts), lambda face: f'url("{data_uri(fonts[face])}") '
                                                     f'format("woff2")')
    return faces + (styles_dir() / "screen.css").read_text("utf-8")


def build_html(book: Book, out_dir: Path, diagnostics: Diagnostics) -> Path:
    draft = render_book_html(book)
    html = render_book_html(book, screen_css=screen_css(draft, out_dir / ".cache"),
                            body_flavour="web")
    return write_atomic(out_dir / f"{book.slug}.html", html.encode("utf-8"))
