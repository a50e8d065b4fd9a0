"""Issue 10, item 17: every page size the README lists gives a correct book.

A small book of two parts is built at each size and read back with pypdf: every page has the
size asked for, the cover is one page and fills it, the front matter keeps its pages, parts and
chapters open on rectos, page n carries folio n, the contents give the real pages, and no text
runs off a page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from .conftest import build

MM = 72 / 25.4
SIZES = {  # the README's list, in millimetres (width, height)
    "A4": (210, 297), "A5": (148, 210), "A6": (105, 148), "B5": (176, 250),
    "letter": (215.9, 279.4), "legal": (215.9, 355.6), "140mm 216mm": (140, 216),
}
TITLE = "Field Notes on the Middle Sea"
AUTHOR = "The Harbour Studies Group"

MANIFEST = """slug: sizes
metadata:
  title: {title}
  subtitle: Essays on Ports, Treaties and the People Between Them
  author: {author}
  publisher: Chapbook Briefings
  language: en-GB
  identifier: urn:uuid:3f1e2d4c-5b6a-4978-8c9d-0e1f2a3b4c5d
  date: "2026-10-02"
  edition: Second edition
  rights: © 2026 The Harbour Studies Group.
  description: >-
    Four short essays on the Mediterranean as a place of trade, treaty and translation, used to
    check that every page size gives a correct book.
page_size: "{size}"
front_matter: [cover, half-title, title, imprint, contents]
parts:
  - title: Ports and Passages
    intro: Where the sea meets the land, and the records the harbours keep.
    chapters:
      - file: essays/harbours.md
      - file: essays/ledgers.md
  - title: Words and Pictures
    intro: How the sea is written down.
    chapters:
      - file: essays/charts.md
      - file: essays/tongues.md
back_matter: []
"""

PARAGRAPH = ("The harbour master kept a ledger of every ship that entered, its cargo, its flag "
             "and the days it waited for a berth; the ledgers survive in part, and from them "
             "the traffic of the port can be traced decade by decade. ")


def essay(title: str, paragraphs: int) -> str:
    body = "\n\n".join(PARAGRAPH * 2 for _ in range(paragraphs))
    return f"# {title}\n\n{body}\n\n## A section\n\n{body}\n"


CHAPTERS = {"harbours": ("Harbours and Their Masters", 3), "ledgers": ("The Ledgers", 6),
            "charts": ("Charts of the Coast", 2), "tongues": ("Many Tongues", 4)}


def write_book(folder: Path, size: str) -> Path:
    (folder / "essays").mkdir(parents=True)
    (folder / "book.yml").write_text(MANIFEST.format(title=TITLE, author=AUTHOR, size=size),
                                     encoding="utf-8")
    for stem, (title, paragraphs) in CHAPTERS.items():
        (folder / "essays" / f"{stem}.md").write_text(essay(title, paragraphs), encoding="utf-8")
    return folder / "book.yml"


def words(page: Any) -> list[tuple[str, float, float]]:
    """The page's text runs with their position (x, y from the bottom left), in points."""
    found: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            found.append((text.strip(), x, y))

    page.extract_text(visitor_text=visit)
    return found


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[-\u00ad\u2010]\n", "", text))


def outline(pdf: PdfReader) -> dict[str, int]:
    found: dict[str, int] = {}

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found[item.title.strip()] = pdf.get_destination_page_number(item) + 1
    walk(pdf.outline)
    return found


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_size_gives_a_correct_book(size: str, tmp_path: Path) -> None:
    assert build(write_book(tmp_path / "book", size), tmp_path / "out", "pdf") == 0
    pdf = PdfReader(tmp_path / "out" / "sizes.pdf")
    width, height = (value * MM for value in SIZES[size])
    texts = [squash(page.extract_text()) for page in pdf.pages]
    runs = [words(page) for page in pdf.pages]

    # Every page has the size asked for.
    for number, page in enumerate(pdf.pages, 1):
        box = page.mediabox
        assert abs(float(box.width) - width) < 1 and abs(float(box.height) - height) < 1, \
            f"page {number} is {box.width}×{box.height} pt, not {width:.1f}×{height:.1f}"

    # No text runs off a page.
    for number, page_runs in enumerate(runs, 1):
        for text, x, y in page_runs:
            assert -1 <= x <= width and 0 <= y <= height, f"page {number}: {text!r} at {x},{y}"

    # The cover is one page: the title and author on page 1, with the author's line at the foot
    # of the page whatever its height, and nothing on its verso.
    assert TITLE.split()[0] in texts[0] and AUTHOR in texts[0]
    [author_y] = [y for text, _, y in runs[0] if text.startswith("The Harbour")]
    assert author_y < 0.25 * height, f"the cover's author line is at {author_y / height:.0%}"
    assert texts[1].strip() == "", f"page 2 is not blank: {texts[1][:80]!r}"
    # The front matter in place: half title on 3, title page on 5, imprint on its verso (6),
    # contents on 7; each one page.
    assert texts[2].strip() == TITLE
    assert AUTHOR in texts[4] and "Essays on Ports" in texts[4]
    assert "Second edition" in texts[5] and "Identifier" in texts[5]
    marks = outline(pdf)
    assert marks["Contents"] == 7
    assert "Contents" in texts[6]

    # Parts and chapters open on rectos, in order, after the contents.
    openers = [marks[name] for name in marks if name != "Contents"]
    assert len(openers) == 2 + len(CHAPTERS), marks
    assert openers == sorted(openers) and openers[0] > 7
    assert all(page % 2 == 1 for page in openers), marks

    # Page n carries folio n, in the foot margin of every page of text but the openers; the
    # openers, the front matter and blank pages carry none.
    foot = 20 * MM
    for number, page_runs in enumerate(runs, 1):
        folio = [text for text, _, y in page_runs if y < foot and text.isdigit()]
        if number <= 7 or number in openers or not page_runs:
            assert folio == [], f"page {number} has a folio"
        else:
            assert folio == [str(number)], f"page {number} has folio {folio}"

    # The contents give each chapter's real page.
    contents = texts[6]
    for title, _ in CHAPTERS.values():
        match = re.search(re.escape(title) + r"[\s.]*?(\d+)\b", contents)
        assert match, f"{title!r} not in the contents: {contents!r}"
        assert int(match.group(1)) == marks[title], title

    assert len(pdf.pages) <= 60


@pytest.mark.parametrize("size", ["A6", "legal"])
def test_the_print_shop_edition_keeps_the_pages_at_any_size(size: str, tmp_path: Path) -> None:
    """With 3 mm of bleed round every page, the print edition has the reading edition's pages,
    trimmed to the size asked for, and a cover of one page."""
    assert build(write_book(tmp_path / "book", size), tmp_path / "out", "pdf", "print") == 0
    reading = PdfReader(tmp_path / "out" / "sizes.pdf")
    shop = PdfReader(tmp_path / "out" / "sizes-print.pdf")
    assert len(shop.pages) == len(reading.pages)
    width, height = (value * MM for value in SIZES[size])
    for page in shop.pages:
        assert abs(float(page.trimbox.width) - width) < 1
        assert abs(float(page.trimbox.height) - height) < 1
        assert abs(float(page.bleedbox.height) - height - 6 * MM) < 1
    assert AUTHOR in squash(shop.pages[0].extract_text())
    assert squash(shop.pages[1].extract_text()).strip() == ""
