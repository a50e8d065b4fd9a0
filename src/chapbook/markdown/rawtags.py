"""The tags of a raw HTML fragment as an HTML tokenizer reads them (quoting, entities, comments
and script content as a browser reads them, where regular expressions did not), and the
fragment rewritten tag by tag: the text between tags stays byte for byte, and a tag is written
anew only where something about it changes."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

Attributes = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Tag:
    """One start or end tag: its name and attributes (lower-cased names, unescaped values), where
    it stands in the fragment (`start` to `end`, and the line, counted from 1) and its own text."""

    name: str
    attributes: Attributes
    start: int
    end: int
    line: int
    text: str
    closing: bool = False
    self_closing: bool = False

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.attributes if key == name), None)

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.attributes)


class _Reader(HTMLParser):
    def __init__(self, fragment: str) -> None:
        super().__init__(convert_charrefs=False)
        self.fragment = fragment
        self.line_starts = [0] + [index + 1 for index, char in enumerate(fragment)
                                  if char == "\n"]
        self.tags: list[Tag] = []
        self.feed(fragment)
        self.close()

    def _here(self) -> tuple[int, int]:
        line, column = self.getpos()  # the start of the tag being handled
        return self.line_starts[line - 1] + column, line

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], self_closing: bool) -> None:
        start, line = self._here()
        text = self.get_starttag_text() or ""
        self.tags.append(Tag(tag, tuple(attrs), start, start + len(text), line, text,
                             self_closing=self_closing))

    def handle_endtag(self, tag: str) -> None:
        start, line = self._here()
        end = self.fragment.find(">", start + 1) + 1 or len(self.fragment)
        self.tags.append(Tag(tag, (), start, end, line, self.fragment[start:end], closing=True))


def read_tags(fragment: str) -> list[Tag]:
    """Every start and end tag of the fragment, in order."""
    return _Reader(fragment).tags if "<" in fragment else []


def start_tag(name: str, attributes: Iterable[tuple[str, str | None]],
              self_closing: bool = False) -> str:
    """A start tag written anew, its values escaped."""
    written = "".join(f" {key}" if value is None else f' {key}="{html.escape(value)}"'
                      for key, value in attributes)
    return f"<{name}{written}{' /' if self_closing else ''}>"


def splice(fragment: str, replacements: Iterable[tuple[int, int, str]]) -> str:
    """The fragment with each (start, end) span replaced by its text; spans in order and apart."""
    pieces: list[str] = []
    position = 0
    for start, end, text in replacements:
        pieces += [fragment[position:start], text]
        position = end
    return "".join(pieces) + fragment[position:] if pieces else fragment


def rewrite(fragment: str, edit: Callable[[Tag], str | None]) -> str:
    """The fragment with each tag replaced by what `edit` makes of it (None keeps it)."""
    replacements = []
    for tag in read_tags(fragment):
        text = edit(tag)
        if text is not None and text != tag.text:
            replacements.append((tag.start, tag.end, text))
    return splice(fragment, replacements)

