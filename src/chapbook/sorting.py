"""Alphabetical order as an indexer sorts: ignoring case, accents and leading punctuation."""

from __future__ import annotations

import unicodedata

# Letters that Unicode does not decompose into a base letter and an accent, spelt as an
# indexer files them in an English book (and as a heading's ASCII id spells them): "Łódź"
# under L, "Ørsted" under O, "Æthelred" as "Aethelred" (casefold() has made "ß" "ss").
UNDECOMPOSED = str.maketrans({"ı": "i", "ł": "l", "đ": "d", "ð": "d", "ø": "o", "ħ": "h",
                               "ŧ": "t", "ŀ": "l", "ƀ": "b", "ɨ": "i", "ʉ": "u", "ŋ": "n",
                               "æ": "ae", "œ": "oe", "þ": "th", "ĸ": "k"})


def sort_key(text: str) -> tuple[str, str]:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = bare.casefold().translate(UNDECOMPOSED).lstrip("\"'‘’“”([-–—.… ")
    # word-by-word order: a space sorts before any letter ("NATO allies" before "NATOs")
    return folded.replace("-", " "), text


def letter_of(text: str) -> str:
    """The letter group a heading belongs to; digits and symbols share one group."""
    first = sort_key(text)[0][:1]
    return first.upper() if first.isalpha() else "#"
