"""Where the printed pages begin, as the other editions need it, and its cache.

Made by the PDF builder from WeasyPrint's layout (printmap.py reads the boxes); kept in
build/.cache/layout keyed on every input of the layout (cache.book_key), so the EPUB of a book
whose PDF was just built takes its page list from there instead of laying the book out again.
This module stays free of WeasyPrint, so that a build that finds the map imports no typesetter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chapbook.book import Book
from chapbook.cache import DataCache, book_key
from chapbook.cachecodec import Codec


@dataclass(frozen=True)
class PageStart:
    """Page `number` begins in `document` (an EPUB file stem) at element `element` (None: the
    document's start), after `words` words of that element's text."""

    number: int
    document: str
    element: str | None = None
    words: int = 0


@dataclass
class PageMap:
    """Each anchor's page and where each page begins."""

    pages: dict[str, int]
    starts: list[PageStart]


def _maps(cache: Path | None) -> DataCache[PageMap]:
    return DataCache(cache, "layout", PageMap, Codec((PageMap, PageStart)))


def cached_page_map(book: Book, cache: Path | None, edition: str = "pdf") -> PageMap | None:
    return _maps(cache).load(book_key(book, f"layout {edition}"))


def store_page_map(book: Book, cache: Path | None, page_map: PageMap,
                   edition: str = "pdf") -> None:
    _maps(cache).store(book_key(book, f"layout {edition}"), page_map)
