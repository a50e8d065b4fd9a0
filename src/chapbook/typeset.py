"""WeasyPrint, confined: it fetches nothing but the book's own files and chapbook's styles, what it
logs becomes findings instead of lines lost on stderr."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pydyf
from weasyprint import CSS, HTML, Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from chapbook.book import Book
from chapbook.diagnostics import Diagnostics
from chapbook.resources import styles_dir


def _page_references(pdf: pydyf.PDF) -> tuple[bytes, ...]:
    kids = pdf.pages["Kids"]
    cached = pdf.__dict__.get("_chapbook_page_references")
    if cached is None or cached[0] != len(kids):
        cached = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
        pdf.__dict__["_chapbook_page_references"] = cached
    return cached[1]


# pydyf builds the tuple of every page's reference anew on each access, and WeasyPrint reads it
# once per structure element and per link: writing a tagged PDF grew with pages × elements
# (5 of 10 s for a 280-page book). The same tuple, kept until a page is added, writes the same
# bytes in linear time.
pydyf.PDF.page_references = property(_page_references)  # type: ignore[method-assign]


# The book's folder as WeasyPrint sees it. WeasyPrint names a raster image in the PDF after its
# URL, so a URL holding the real folder made two builds of a book in two folders differ (and
# wrote the builder's folder into the file); below this root the fetcher reads the real folder.
BOOK_URL = "file:///chapbook-book/"
_BOOK_PATH = unquote(urlparse(BOOK_URL).path)


class ConfinedFetcher(URLFetcher):
    """Refuses every URL but data: and files below the allowed folders; URLs below BOOK_URL are
    files of the book's folder `book`."""

    def __init__(self, allowed: list[Path], book: Path | None = None) -> None:
        super().__init__(allowed_protocols={"file", "data"})
        self.allowed = [folder.resolve() for folder in allowed]
        self.book = book.resolve() if book else None

    def fetch(self, url: str, headers: dict[str, str] | None = None):  # type: ignore[override]
        parsed = urlparse(url)
        if parsed.scheme == "file":
            local = unquote(parsed.path)
            if self.book is not None and local.startswith(_BOOK_PATH):
                url = (self.book / local[len(_BOOK_PATH):]).as_uri()
                local = unquote(urlparse(url).path)
            path = Path(local).resolve()
            if not any(path.is_relative_to(folder) for folder in self.allowed):
                raise ValueError(f"blocked: '{url}' is outside the book's folder")
        elif parsed.scheme != "data":
            raise ValueError(f"blocked: '{url}' (chapbook fetches nothing from the network)")
        return super().fetch(url, headers)


class _FindingsHandler(logging.Handler):
    def __init__(self, diagnostics: Diagnostics, source: Path) -> None:
        super().__init__(logging.WARNING)
        self.diagnostics = diagnostics
        self.source = source

    def emit(self, record: logging.LogRecord) -> None:
        self.diagnostics.warn("typesetting", record.getMessage(), self.source)


@contextlib.contextmanager
def captured_logs(diagnostics: Diagnostics, source: Path) -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    handler = _FindingsHandler(diagnostics, source)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


# --- laying out ----------------------------------------------------------------------------

class Typesetter:
    """One book's stylesheets and fonts, loaded once and used for every piece laid out."""

    def __init__(self, book: Book, diagnostics: Diagnostics,
                 extra_sheets: tuple[str, ...] = ()) -> None:
        self.book = book
        self.diagnostics = diagnostics
        styles = styles_dir()
        self.fetcher = ConfinedFetcher([book.manifest.root, styles], book.manifest.root)
        self.fonts = FontConfiguration()
        with captured_logs(diagnostics, book.manifest.path):
            self.stylesheets = [
                CSS(filename=str(styles / "fonts.css"), font_config=self.fonts,
                    url_fetcher=self.fetcher),
                CSS(string=f"@page {{ size: {book.manifest.page_size}; }}",
                    font_config=self.fonts),
                CSS(filename=str(styles / "print.css"), font_config=self.fonts,
                    url_fetcher=self.fetcher),
                *(CSS(filename=str(styles / sheet), font_config=self.fonts,
                      url_fetcher=self.fetcher) for sheet in extra_sheets),
            ]

    def render(self, html: str, extra_css: str = "") -> Document:
        stylesheets = list(self.stylesheets)
        if extra_css:
            stylesheets.append(CSS(string=extra_css, font_config=self.fonts))
        with captured_logs(self.diagnostics, self.book.manifest.path):
            return HTML(string=html, base_url=BOOK_URL, url_fetcher=self.fetcher).render(
                stylesheets=stylesheets, font_config=self.fonts)


def render_document(book: Book, html: str, diagnostics: Diagnostics,
                    extra_css: str = "") -> Document:
    """Lay out one HTML string of the book with the print styles."""
    return Typesetter(book, diagnostics).render(html, extra_css)
