"""The one Jinja environment over chapbook's templates, the helpers templates call, and the
unified HTML book every edition starts from (here, so the layout and the builders share it)."""

from __future__ import annotations

import functools
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from chapbook import __version__
from chapbook.collect.locators import Locating, chapter_names
from chapbook.languages import direction
from chapbook.markdown.parser import typographic
from chapbook.markdown.render import chapter_body, chapter_title, note_body, pagebreak
from chapbook.model.book import Book
from chapbook.reproducible import build_time
from chapbook.resources import templates_dir


def roman(number: int) -> str:
    """`number` (1 to 3999) in Roman numerals: 40 is XL, 1994 is MCMXCIV."""
    numerals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for value, letters in numerals:
        while number >= value:
            out, number = out + letters, number - value
    return out


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.globals.update(roman=roman, version=__version__, pagebreak=pagebreak,
                       chapter_title=chapter_title, chapter_body=chapter_body, note_body=note_body)
    env.filters["plain"] = plain
    env.filters["display"] = display
    env.filters["typographic"] = _typographic_in_the_books_language
    return env


@jinja2.pass_context
def _typographic_in_the_books_language(context: jinja2.runtime.Context, text: str) -> str:
    return typographic(text, context["meta"].language)


def _build_stamp(book: Book) -> str:
    """The build time (SOURCE_DATE_EPOCH, the book's last commit, or its date), to the second."""
    return _stamp(book.manifest.root, book.meta.date, os.environ.get("SOURCE_DATE_EPOCH", ""))


@functools.lru_cache(maxsize=8)
def _stamp(root: Path, day: str, epoch: str) -> str:
    # (once per book and setting: the HTML is rendered once per piece of a long book, and the
    # last commit is a `git log`)
    return build_time(root, day).strftime("%Y-%m-%dT%H:%M:%SZ")


_LAST_SPACE = re.compile(r"[ \t]+(?=\S+\s*$)")
MAX_BOUND_END = 24  # characters: the two last words bound together still fit a display line


def display(text: str) -> str:
    """A line of display type (a cover, a title page) that cannot end on a word alone: its
    last two words are bound by a no-break space ("… of the New / Constitution" is what a
    proofreader marks). A title short enough for one line, and long last words, are left
    alone."""
    words = text.split()
    if len(words) < 3 or len(text) <= MAX_BOUND_END or \
            len(" ".join(words[-2:])) > MAX_BOUND_END:  # one line, or no room to bind
        return text
    return _LAST_SPACE.sub("\u00a0", text.rstrip(), count=1)


# Invisible format characters a document title need not carry: direction overrides, embeddings
# and isolates, zero-width spaces, word joiners, byte-order marks. In a PDF's /Title or a file
# manager they reorder or hide what the reader sees ("Trojan Source"). ZWNJ and ZWJ stay: Persian
# and the Indic scripts spell with them.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def plain(text: str) -> str:
    """Text for a document's metadata (the PDF /Title, the EPUB's title): no invisible
    format characters."""
    return _INVISIBLE.sub("", text)


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
        "word": book.words,  # chapbook's own words in the book's language: word("contents")
        "date_long": book.words.date(meta.date),
        # one build time for every edition (reproducible.py), as the EPUB's dcterms:modified
        "created": _build_stamp(book),
        "modified": _build_stamp(book),
        "front_matter": [m for m in book.manifest.front_matter if book.has(m)],
        "back_matter": [m for m in book.manifest.back_matter if book.has(m)],
        "toc_depth": book.manifest.toc_depth,
        "openers": book.manifest.openers,
        "sections": ("front", "body", "back"),
        "body_flavour": "print",
        "segment": None,
        "pages": None,
        "page_numbers": None,  # in print's body: each anchor's page, for `{@fig:name p}`
        # render_book_html locates by page when `pages` is given
        "locating": Locating(names=book.chapter_names or chapter_names(book.chapters)),
        "element_marks": {},
        "page_breaks": None,
        "page_list": [],
    }


def render_book_html(book: Book, screen_css: str = "", **overrides: Any) -> str:
    """The book as one HTML page; `overrides` replace context entries (the cover alone, say)."""
    template = environment().get_template("html/book.html.j2")
    context = {**book_context(book), "screen_css": screen_css, **overrides}
    return template.render({**context, "locating": Locating(context["pages"],
                                                            context["locating"].names)})
