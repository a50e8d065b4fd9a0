"""Alt text: a reader who cannot see an image (a screen reader, an e-reader without images)
gets only its alt text, so an image without one is a warning at its line, in `chapbook build`
(as it parses each essay) and `chapbook check` alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from markdown_it.token import Token

from chapbook.diagnostics import Diagnostics
from chapbook.markdown.rawtags import read_tags
from chapbook.markdown.tokens import children_with_lines

if TYPE_CHECKING:
    from chapbook.model.essay import ParsedEssay

_TEXT = ("inline", "html_block")


def _text_tokens(parsed: ParsedEssay) -> Iterator[tuple[Token, int]]:
    """Every inline and raw HTML block token of the body, then of the notes, in order, with the
    source line it starts on. An inline note (`^[…]`) has no line of its own: it takes the line
    of its reference."""
    note_lines: dict[int, int] = {}
    notes = parsed.env.get("chapbook_notes", {})
    for token in parsed.tokens:
        if token.type == "inline":
            for child, line in _children(token, _line(token)):
                if child.type == "footnote_ref" and child.meta.get("id") in notes:
                    note_lines.setdefault(notes[child.meta["id"]].number, line)
        if token.type in _TEXT:
            yield token, _line(token)
    for note in parsed.footnotes:
        for token in note.tokens:
            if token.type in _TEXT:
                yield token, _line(token, note_lines.get(note.number, 1))


def _line(token: Token, default: int = 1) -> int:
    return token.map[0] + 1 if token.map else default


_children = children_with_lines


def check_alt_text(source: Path, parsed: ParsedEssay, diagnostics: Diagnostics) -> None:
    """A reader who cannot see an image (screen reader, EPUB without images) gets only its alt."""
    def warn(src: str, line: int, how: str) -> None:
        diagnostics.warn("image-alt", f"image '{src}' has no alt text; {how}",
                         source, line)

    def check_html(fragment: str, line: int) -> None:
        for tag in read_tags(fragment):
            if tag.name == "img" and not tag.closing and not (tag.get("alt") or "").strip():
                warn(tag.get("src") or "", line + tag.line - 1,
                     'give the <img> an alt="…" that says what it shows')

    for token, start in _text_tokens(parsed):
        if token.type == "html_block":
            check_html(token.content, start)
        for child, line in _children(token, start):
            if child.type == "image":
                alt = "".join(c.content for c in child.children or []) or child.content
                if not alt.strip():
                    src = child.attrGet("src") or ""
                    warn(str(src), line, f"say what it shows: ![what it shows]({src})")
            elif child.type == "html_inline":
                check_html(child.content, line)
