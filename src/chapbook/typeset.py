"""WeasyPrint, confined: it fetches nothing but the book's own files and chapbook's styles, and
what it logs becomes findings instead of lines lost on stderr."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint import CSS, HTML, Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from chapbook.book import Book
from chapbook.diagnostics import Diagnostics
from chapbook.resources import styles_dir


class ConfinedFetcher(URLFetcher):
    """Refuses every URL but data: and files below the allowed folders."""

    def __init__(self, allowed: list[Path]) -> None:
        super().__init__(allowed_protocols={"file", "data"})
        self.allowed = [folder.resolve() for folder in allowed]

    def fetch(self, url: str, headers: dict[str, str] | None = None):  # type: ignore[override]
        parsed = urlparse(url)
        if parsed.scheme == "file":
            path = Path(unquote(parsed.path)).resolve()
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


def render_document(book: Book, html: str, diagnostics: Diagnostics,
                    extra_css: str = "") -> Document:
    """Lay out an HTML string of the book with the print styles."""
    styles = styles_dir()
    fetcher = ConfinedFetcher([book.manifest.root, styles])
    fonts = FontConfiguration()
    with captured_logs(diagnostics, book.manifest.path):
        stylesheets = [
            CSS(filename=str(styles / "fonts.css"), font_config=fonts, url_fetcher=fetcher),
            CSS(string=f"@page {{ size: {book.manifest.page_size}; }}", font_config=fonts),
            CSS(filename=str(styles / "print.css"), font_config=fonts, url_fetcher=fetcher),
        ]
        if extra_css:
            stylesheets.append(CSS(string=extra_css, font_config=fonts))
        document = HTML(string=html, base_url=str(book.manifest.root) + "/",
                        url_fetcher=fetcher).render(stylesheets=stylesheets, font_config=fonts)
    return document
