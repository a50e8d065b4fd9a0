"""Where chapbook's templates and styles live, and the one Jinja environment over them."""

from __future__ import annotations

import os
import re
from datetime import date
from functools import cache
from pathlib import Path

import jinja2

from chapbook import __version__
from chapbook.errors import BookError


def home() -> Path:
    """The folder holding templates/ and styles/: CHAPBOOK_HOME, else the source checkout."""
    configured = os.environ.get("CHAPBOOK_HOME")
    root = Path(configured) if configured else Path(__file__).resolve().parents[2]
    if not (root / "templates").is_dir() or not (root / "styles").is_dir():
        raise BookError(f"chapbook's templates and styles are not in '{root}'",
                        hint="set CHAPBOOK_HOME to the folder that holds templates/ and styles/")
    return root


def templates_dir() -> Path:
    return home() / "templates"


def styles_dir() -> Path:
    return home() / "styles"


def roman(number: int) -> str:
    """`number` (1 to 3999) in Roman numerals: 40 is XL, 1994 is MCMXCIV."""
    numerals = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for value, letters in numerals:
        while number >= value:
            out, number = out + letters, number - value
    return out


def long_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    from chapbook.markdown import pagebreak
    env.globals.update(roman=roman, version=__version__, pagebreak=pagebreak)
    env.filters["plain"] = plain
    return env


# Invisible format characters a document title need not carry: direction overrides, embeddings
# and isolates, zero-width spaces, word joiners, byte-order marks. In a PDF's /Title or a file
# manager they reorder or hide what the reader sees ("Trojan Source"). ZWNJ and ZWJ stay: Persian
# and the Indic scripts spell with them.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def plain(text: str) -> str:
    """Text for a document's metadata (the PDF /Title, the EPUB's title): no invisible
    format characters."""
    return _INVISIBLE.sub("", text)
