"""Alphabetical order as an indexer sorts: ignoring case, accents and leading punctuation."""

from __future__ import annotations

import unicodedata


def sort_key(text: str) -> tuple[str, str]:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = bare.casefold().lstrip("\"'‘’“”([-–—.… ")
    # word-by-word order: a space sorts before any letter ("NATO allies" before "NATOs")
    return folded.replace("-", " "), text


def letter_of(text: str) -> str:
    """The letter group a heading belongs to; digits and symbols share one group."""
    first = sort_key(text)[0][:1]
    return first.upper() if first.isalpha() else "#"
