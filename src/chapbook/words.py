"""chapbook's own words in the book's language: headings ("Contents"), labels ("Chapter 3"),
references ("p. 12"), names for screen readers, and the date, read from templates/words.yml
(a translation table) and formatted by Babel (dates as each language writes them)."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from functools import cache

import yaml

from chapbook.resources import templates_dir

DEFAULT_LANGUAGE = "en"


@cache
def _table() -> dict[str, dict[str, str]]:
    """Every word in every language; each language of a word takes the same placeholders (a
    slip in the table is chapbook's own, so it fails loudly)."""
    table = yaml.safe_load((templates_dir() / "words.yml").read_text("utf-8"))
    languages = set(table["contents"])
    for key, forms in table.items():
        if set(forms) != languages:
            raise ValueError(f"words.yml: '{key}' has {sorted(forms)}, not {sorted(languages)}")
        fields = {tuple(sorted(name for _, name, _, _ in string.Formatter().parse(form) if name))
                  for form in forms.values()}
        if len(fields) != 1:
            raise ValueError(f"words.yml: the languages of '{key}' fill in different names")
    return table


def languages() -> tuple[str, ...]:
    """The languages the table speaks."""
    return tuple(_table()["contents"])


def _closest(language: str) -> str:
    """The table's language for a language tag: itself, its base ("fr-CA": "fr"), or English."""
    spoken = languages()
    tag = language.replace("_", "-").lower()
    for candidate in (tag, tag.split("-")[0]):
        if candidate in spoken:
            return candidate
    return DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Words:
    """The words of one book: `words("chapter", number=3)` is "Chapter 3" in English."""

    language: str  # the book's language tag, as book.yml gives it

    def __call__(self, key: str, **values: object) -> str:
        return _table()[key][_closest(self.language)].format(**values)

    def date(self, iso: str) -> str:
        """A date as the language writes it in full: "4 March 2026", "4. März 2026",
        "2026年3月4日"."""
        from babel import Locale, UnknownLocaleError
        from babel.dates import format_date

        day = date.fromisoformat(iso)
        tag = self.language.replace("-", "_")
        # English alone says nothing of where: the day before the month, as most of it writes
        for candidate in ("en_GB" if tag.lower() == "en" else tag, tag.split("_")[0]):
            try:
                return format_date(day, format="long", locale=Locale.parse(candidate))
            except (UnknownLocaleError, ValueError):
                continue
        return format_date(day, format="long", locale="en_GB")
