"""Walking markdown-it's token stream with source lines."""

from __future__ import annotations

from collections.abc import Iterator

from markdown_it.token import Token


def children_with_lines(inline: Token, line: int) -> Iterator[tuple[Token, int]]:
    """The children of an inline token, each with its own line: a paragraph spans lines (as
    line breaks, or as line ends inside text that the term pass joined)."""
    for child in inline.children or []:
        yield child, line
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        elif child.type in ("text", "html_inline"):
            line += child.content.count("\n")
