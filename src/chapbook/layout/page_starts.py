"""Where each printed page begins, read from WeasyPrint's layout, so the EPUB can carry page-break
markers and a page list that match the print edition.

A page's start is given as a place the EPUB also has: the block (paragraph, list item or heading,
by its id) whose text the page opens with, and how many words of that block came before it on
earlier pages. Openers and back matter start at an element (a document or an entry).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from weasyprint import Document
from weasyprint.formatting_structure import boxes

from chapbook.layout.compat import page_box
from chapbook.model.pages import PageStart

HYPHENS = ("\u2010", "\u00ad", "-")
_SKIPPED_CLASSES = {"footnote", "noteref", "visually-hidden"}


def _runs(box: boxes.Box, block: str | None, pattern: re.Pattern[str],
          line: list[object], header: bool = False) -> Iterator[tuple[str | None, str, bool, bool]]:
    """(block id, text, starts a line, in a table's header) for each text box, in reading
    order. Table cells are blocks too; a header is repeated on every page a table crosses."""
    if isinstance(box, (boxes.MarginBox, boxes.FootnoteAreaBox)):
        return
    if "::" in (box.element_tag or ""):
        return  # a list marker or generated text: not words of the text the EPUB has
    element = getattr(box, "element", None)
    if element is not None and box.element_tag not in (None, "html", "body"):
        classes = set((element.get("class") or "").split())
        if classes & _SKIPPED_CLASSES:
            return
        identifier = element.get("id")
        if identifier and pattern.match(identifier) and isinstance(
                box, (boxes.BlockLevelBox, boxes.TableCellBox)):
            block = identifier
    if isinstance(box, boxes.TableRowGroupBox) and box.is_header:
        header = True
    if isinstance(box, boxes.LineBox):
        line[0] = box
    if isinstance(box, boxes.TextBox):
        starts = line[1] is not line[0]
        line[1] = line[0]
        yield block, box.text, starts, header
        return
    for child in getattr(box, "children", ()):
        yield from _runs(child, block, pattern, line, header)


def _words_before(parts: list[tuple[str, bool]]) -> int:
    text = ""
    for part, new_line in parts:
        if new_line and text:
            if text.endswith(HYPHENS):  # a word broken at the line end goes on
                text = text[:-1]
            else:
                text += " "
        text += part
    return len(text.split())


def body_starts(document: Document, first_page: int, epub_document: str,
                block_ids: re.Pattern[str]) -> list[PageStart]:
    """The start of each page of a chapter's layout: the chapter itself on its first page, then
    the block and word each later page opens with."""
    starts = [PageStart(first_page, epub_document)]
    seen: dict[str, list[tuple[str, bool]]] = {}
    for number, page in enumerate(document.pages, first_page):
        found = False
        line: list[object] = [None, None]
        for block, text, new_line, header in _runs(page_box(page), None, block_ids, line):
            if block is None or (header and block in seen):  # a repeated table header
                continue
            parts = seen.setdefault(block, [])
            if not found and number > first_page and text.strip():
                starts.append(PageStart(number, epub_document, block, _words_before(parts)))
                found = True
            parts.append((text, new_line or not parts))
    return starts


def element_starts(document: Document, first_page: int, epub_documents: dict[str, str],
                   entry_ids: re.Pattern[str]) -> list[PageStart]:
    """Front and back matter: a page begins a document (by its section's id), or else at the
    first entry (glossary term, index entry) that starts on it."""
    starts: list[PageStart] = []
    opened: set[str] = set()  # a box split over pages carries its id on each of them
    for number, page in enumerate(document.pages, first_page):
        opening = next((a for a in epub_documents if a in page.anchors and a not in opened),
                       None)
        if opening is not None:
            opened.add(opening)
            starts.append(PageStart(number, epub_documents[opening]))
            continue
        line: list[object] = [None, None]
        for block, text, _, _ in _runs(page_box(page), None, entry_ids, line):
            if block is not None and text.strip():
                document_name = next(iter(epub_documents.values()))
                for anchor, name in epub_documents.items():
                    if block.startswith(anchor):
                        document_name = name
                starts.append(PageStart(number, document_name, block))
                break
    return starts
