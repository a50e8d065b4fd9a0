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


def inline_children(tokens: list[Token] | tuple[Token, ...],
                    kind: str) -> Iterator[tuple[Token, int]]:
    """Each child token of `kind` (a link_open, a crossref…) in a stream, with its line."""
    line = 1
    for token in tokens:
        if token.map:
            line = token.map[0] + 1
        for child, child_line in children_with_lines(token, line):
            if child.type == kind:
                yield child, child_line
