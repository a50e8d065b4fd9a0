"""Issue 10, item 18 (the front matter's part): Roman numerals past 39; no words on the cover or
imprint that the manifest did not give; part bookmarks read "Part I: Title"; and the contents of
a book of 120 chapters keep three-digit chapter numbers clear of their titles."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from pypdf import PdfReader

from chapbook.templating import roman

from .conftest import build

CHAPTERS = 120
PER_PART = 40
WORDS = ["harbour", "ledger", "treaty", "passage", "cargo", "berth", "flag", "decade", "master",
         "chart", "coast", "tongue"]


@pytest.mark.parametrize(("number", "numeral"), [
    (1, "I"), (4, "IV"), (9, "IX"), (14, "XIV"), (39, "XXXIX"), (40, "XL"), (44, "XLIV"),
    (49, "XLIX"), (50, "L"), (90, "XC"), (99, "XCIX"), (400, "CD"), (1994, "MCMXCIV"),
    (2026, "MMXXVI"), (3999, "MMMCMXCIX")])
def test_roman_numerals(number: int, numeral: str) -> None:
    assert roman(number) == numeral


def test_roman_numerals_never_repeat_a_letter_four_times() -> None:
    for number in range(1, 4000):
        assert not re.search(r"(.)\1\1\1", roman(number)), number


def write_long_book(folder: Path) -> Path:
    """120 one-paragraph chapters in three parts; no publisher, no edition."""
    (folder / "essays").mkdir(parents=True)
    lines = ["slug: long", "metadata:", "  title: A Long Book", "  author: The Test Desk",
             "  language: en-GB", "  identifier: urn:uuid:1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9",
             '  date: "2026-05-01"', "page_size: A5",
             "front_matter: [cover, half-title, title, imprint, contents]", "parts:"]
    for number in range(1, CHAPTERS + 1):
        if number % PER_PART == 1:
            lines += [f"  - title: Stretch {number // PER_PART + 1} of the Coast",
                      "    chapters:"]
        title = " ".join(WORDS[(number + k) % len(WORDS)].capitalize()
                         for k in range(2 + number % 7))
        (folder / "essays" / f"c{number:03}.md").write_text(
            f"# {title}\n\nThe harbour master kept a ledger of chapter {number}.\n",
            encoding="utf-8")
        lines.append(f"      - file: essays/c{number:03}.md")
    lines.append("back_matter: []")
    (folder / "book.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "book.yml"


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    assert build(write_long_book(folder / "book"), folder / "out", "pdf", "epub", "html") == 0
    return folder / "out"


def outline(pdf: PdfReader) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found.append((item.title, pdf.get_destination_page_number(item) + 1))
    walk(pdf.outline)
    return found


def test_no_default_words_where_the_manifest_gives_none(long_book: Path) -> None:
    """Without a publisher the cover has no series line ("A briefing" was invented), and without
    an edition the imprint names none ("First edition" was invented): in every edition."""
    pdf = PdfReader(long_book / "long.pdf")
    cover = pdf.pages[0].extract_text()
    assert "A Long Book" in cover and "The Test Desk" in cover
    assert "briefing" not in cover.lower()
    imprint = pdf.pages[5].extract_text()
    assert "Identifier" in imprint and "1 May 2026" in imprint
    assert "edition" not in imprint.lower()

    html = etree.HTML((long_book / "long.html").read_bytes())
    assert not html.xpath("//*[@class='cover-series']")
    assert "edition" not in "".join(html.xpath("//section[@id='imprint']//text()")).lower()
    assert "briefing" not in "".join(html.xpath("//section[@id='cover']//text()")).lower()

    with zipfile.ZipFile(long_book / "long.epub") as epub:
        texts = {name: epub.read(name).decode("utf-8") for name in epub.namelist()
                 if name.endswith(".xhtml")}
    front = {name: text for name, text in texts.items()
             if re.search(r"(cover|title|imprint)\.xhtml$", name)}
    assert len(front) == 3, sorted(texts)
    for name, text in front.items():
        assert "First edition" not in text and "A briefing" not in text, name


def test_part_bookmarks_read_part_number_colon_title(long_book: Path) -> None:
    pdf = PdfReader(long_book / "long.pdf")
    parts = [title for title, _ in outline(pdf) if title.startswith("Part")]
    assert parts == ["Part I: Stretch 1 of the Coast", "Part II: Stretch 2 of the Coast",
                     "Part III: Stretch 3 of the Coast"]


Word = tuple[str, float, float, float]  # text, xMin, xMax, yMin


def page_words(pdf: Path, first: int, last: int) -> list[list[Word]]:
    """The words of pages first..last with their boxes, as poppler reads them."""
    xhtml = subprocess.run(["pdftotext", "-bbox", "-f", str(first), "-l", str(last), str(pdf),
                            "-"], capture_output=True, check=True).stdout
    tree = etree.fromstring(xhtml, etree.XMLParser(recover=True))
    return [[(word.text or "", float(word.get("xMin")), float(word.get("xMax")),
              float(word.get("yMin"))) for word in page.iter("{*}word")]
            for page in tree.iter("{*}page")]


def test_contents_numbers_of_three_digits_stay_clear_of_titles(long_book: Path) -> None:
    pdf = PdfReader(long_book / "long.pdf")
    marks = outline(pdf)
    contents = dict(marks)["Contents"]
    first_part = min(page for title, page in marks if title.startswith("Part"))
    numbers: list[int] = []
    title_starts: set[int] = set()
    page_numbers: list[int] = []
    for words in page_words(long_book / "long.pdf", contents, first_part - 1):
        if not words:
            continue
        left = min(x for _, x, _, _ in words)
        for text, x_min, x_max, y in words:
            if abs(x_min - left) > 1 or not text[:1].isdigit():
                continue
            # A chapter number in the left column: digits only, then a gap, then its title.
            assert re.fullmatch(r"\d+", text), f"{text!r}: the number runs into the title"
            numbers.append(int(text))
            beside = sorted((other for other in words if abs(other[3] - y) < 2
                             and other[1] > x_max), key=lambda other: other[1])
            assert beside[0][1] - x_max >= 3, f"chapter {text} is too close to its title"
            title_starts.add(round(beside[0][1] - left))  # versos and rectos differ in margin
            # ... and the line's last word is a page number, at the right edge.
            page_numbers += [int(beside[-1][0])] if beside[-1][0].isdigit() else []
        right = max(x_max for _, _, x_max, _ in words)
        page_numbers += [int(text) for text, x_min, x_max, _ in words
                         if text.isdigit() and abs(x_max - right) < 1 and x_min - left > 30]
    assert numbers == list(range(1, CHAPTERS + 1))
    assert len(title_starts) == 1, f"the titles start at {sorted(title_starts)}"
    chapter_pages = [page for title, page in marks if not title.startswith(("Part", "Contents"))]
    assert set(chapter_pages) <= set(page_numbers)
    assert max(chapter_pages) >= 100  # three-digit page numbers are among them
