"""Where the printed pages begin, as the other editions need it.

Read from WeasyPrint's layout (layout/page_starts.py reads the boxes); kept in build/.cache/layout
keyed on every input of the layout (cache.book_key), so the EPUB of a book whose PDF was just built
takes its page list from there instead of laying the book out again."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass
class Layout:
    """The book laid out (layout/paginate.py): the PDF's bytes (None if only the layout was
    wanted) and its number of pages, each anchor's page, and where each page begins."""

    pdf: bytes | None
    pages: dict[str, int]
    starts: list[PageStart]
    page_count: int = 0


class Layouts:
    """The layouts one build has made, so that the editions that need the same one (the PDF,
    the booklet, the EPUB's page list) share it. Made by build(), one per build."""

    def __init__(self) -> None:
        self.made: dict[str, Layout] = {}
        # each PDF edition's pages, as it was written: for the summary, without reading the
        # file back (pikepdf, loaded for it, was the peak of a booklet's build)
        self.page_counts: dict[str, int] = {}

    def reading_pdf(self) -> bytes | None:
        """The reading edition's PDF, if this build has written it."""
        made = self.made.get("pdf")
        return made.pdf if made is not None else None
