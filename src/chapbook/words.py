"""chapbook's own words in the book's language: headings ("Contents"), labels ("Chapter 3"),
references ("p. 12"), names for screen readers, and the date, read from templates/words.yml
(a translation table) and templates/dates.tsv (dates as each language writes them, from
Babel)."""

from __future__ import annotations

import re
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
        "2026年3月4日"; from templates/dates.tsv, which holds Babel's long date of nearly every
        locale, or else from Babel itself."""
        day = date.fromisoformat(iso)
        tag = self.language.replace("-", "_")
        # English alone says nothing of where: the day before the month, as most of it writes
        for candidate in ("en_GB" if tag.lower() == "en" else tag, tag.split("_")[0]):
            known = _long_date(candidate)
            if known is not None:
                return _formatted(*known, day)
            written = _by_babel(candidate, day)
            if written is not None:
                return written
        known = _long_date("en_GB")
        assert known is not None, "templates/dates.tsv has no en_GB"
        return _formatted(*known, day)


# A long date pattern's parts, as CLDR writes them: 'quoted text' ('' a quote), a field (a
# letter repeated), or other text
_DATE_PARTS = re.compile(r"'((?:[^']|'')*)'|([A-Za-z])\2*|[^'A-Za-z]+")


def _long_date(locale: str) -> tuple[str, list[str]] | None:
    """The locale's long date pattern and month names, if templates/dates.tsv has them. The
    table stands in for Babel, whose code and locale data a build that loaded it for its one
    date kept in memory to its end (4 MiB)."""
    with (templates_dir() / "dates.tsv").open(encoding="utf-8") as table:
        for line in table:
            name, _, rest = line.partition("\t")
            if name == locale:
                pattern, months = rest.rstrip("\n").split("\t")
                return pattern, months.split("|")
    return None


def _formatted(pattern: str, months: list[str], day: date) -> str:
    """`day` written by the pattern (its fields are those tools/long_dates.py keeps)."""
    fields = {"d": str(day.day), "dd": f"{day.day:02d}", "M": str(day.month),
              "MM": f"{day.month:02d}", "MMMM": months[day.month - 1], "y": str(day.year),
              "yyyy": f"{day.year:04d}"}
    written = []
    for part in _DATE_PARTS.finditer(pattern):
        text = part.group(0)
        if text.startswith("'"):
            written.append(part.group(1).replace("''", "'") or "'")
        else:
            written.append(fields[text] if part.group(2) else text)
    return "".join(written)


def _by_babel(locale: str, day: date) -> str | None:
    from babel import Locale, UnknownLocaleError
    from babel.dates import format_date

    try:
        return format_date(day, format="long", locale=Locale.parse(locale))
    except (UnknownLocaleError, ValueError):
        return None
