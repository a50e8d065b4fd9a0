"""The index's columns: WeasyPrint lays out a page of columns twice (once to learn whether the
text fits, then in its columns), and layout/compat.py keeps each entry's lines from the first
time (`--chapbook-keep-lines`, set on the index in print.css) to use copies of them the second.
The pages must come out exactly as WeasyPrint lays them out alone."""

from __future__ import annotations

import hashlib

import pytest

from chapbook.build import load_book
from chapbook.diagnostics import Diagnostics
from chapbook.layout import compat
from chapbook.layout.typesetter import Typesetter

from .conftest import BUNDLED


def _index(entries: int, locators: int) -> str:
    """An index of long entries, as the templates write one: locators running over many lines,
    an entry crossing columns and pages, and short ones between."""
    items = []
    for number in range(entries):
        count = locators if number % 3 == 0 else 4
        links = ", ".join(f'<a class="locator" href="#t{number}" title="page {page}">{page}</a>'
                          for page in range(10 + number, 10 + number + 7 * count, 7))
        items.append(f'<li class="index-entry" id="e{number}"><span class="index-term">'
                     f'entry number {number}</span>, {links}</li>')
    return (f'<section class="index" id="index"><h1 class="back-title">Index</h1>'
            f'<div class="index-body"><section class="index-group"><h2 class="index-letter">E'
            f'</h2><ul class="index-entries">{"".join(items)}</ul></section></div></section>'
            f'<p id="{"t"}">target</p>')


@pytest.fixture(scope="module")
def typesetter() -> Typesetter:
    return Typesetter(load_book(BUNDLED, Diagnostics()), Diagnostics())


def test_kept_lines_set_the_index_as_weasyprint_alone_does(
        typesetter: Typesetter, monkeypatch: pytest.MonkeyPatch) -> None:
    html = _index(entries=40, locators=120)
    reused: list[int] = []
    lines_kept = compat._lines_kept

    def counting(*args: object) -> tuple[list[compat.Laid], float]:
        lines, left = lines_kept(*args)  # type: ignore[arg-type]
        reused.append(len(lines))
        return lines, left

    monkeypatch.setattr(compat, "_lines_kept", counting)
    kept = typesetter.render(html)
    assert sum(reused) > 100  # lines taken from the first layout, not laid out again
    reused.clear()
    alone = typesetter.render(html, extra_css=".index-body { --chapbook-keep-lines: no }")
    assert not sum(reused)
    assert len(kept.pages) == len(alone.pages) >= 4
    written = [hashlib.sha256(document.write_pdf(pdf_identifier=b"same")).hexdigest()
               for document in (kept, alone)]
    assert written[0] == written[1]  # every glyph and link where WeasyPrint alone puts it
