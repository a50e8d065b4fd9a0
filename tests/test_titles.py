"""Titles as a proofreader reads them, in a book whose chapter titles grow a word at a time, so
that some end anywhere near a line's end:
- in the contents, a title's leader begins a clear space after its last character (never
  against its full stop, "Considered.. . . .") and has at least three dots, where WeasyPrint's
  leaders once ran into the title or shrank to one dot;
- in display type (the cover, the title page, the openers), a title of two lines or more never
  leaves one word alone on its last line ("... of the New / Constitution"): its lines are
  balanced (layout/compat.py)."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest

from .conftest import run_cli

LONGEST = ("The Treaty of the River Considered Again by the Ministers of Every State on Its "
           "Banks in the Spring")
TITLES = [LONGEST.rsplit(" ", cut)[0] + "." for cut in range(LONGEST.count(" ") - 1, -1, -1)]
CONTENTS_SIZE = 10.0  # the chapter lines of the contents (styles/print.css)
MIN_GAP_EM = 0.25


SUBTITLE = "A Briefing on the Treaty of the River Considered Again by the Ministers of Every State"
DISPLAY_SIZE = 11.5  # display type: the opener's title is 15 pt, the title page's subtitle 12 pt


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book's PDF."""
    folder = tmp_path_factory.mktemp("titles")
    essays = folder / "essays"
    essays.mkdir()
    entries = []
    for number, title in enumerate(TITLES, 1):
        (essays / f"{number:02d}.md").write_text(
            f"# {title}\n\nA paragraph of the chapter, which says very little.\n", "utf-8")
        entries.append(f"  - file: essays/{number:02d}.md")
    (folder / "book.yml").write_text(
        "slug: leaders\nmetadata:\n  title: Leaders of Dots and the Spaces Around Them\n"
        f"  subtitle: {SUBTITLE}\n  author: The Test Desk\n"
        "  language: en-GB\n  identifier: urn:uuid:0c6f1d2a-8e4b-4c3d-9f7a-5b1e2d3c4a61\n"
        "  date: '2026-12-01'\npage_size: A5\nopeners: any\nback_matter: []\n"
        "front_matter: [title, contents]\nchapters:\n" + "\n".join(entries) + "\n", "utf-8")
    result = run_cli("build", "pdf", "--book", str(folder / "book.yml"), "--out",
                     str(folder / "out"))
    assert result.returncode == 0, result.stderr
    return folder / "out" / "leaders.pdf"


@pytest.fixture(scope="module")
def contents_lines(pdf: Path) -> list[list[dict]]:
    """The lines of the contents pages that end in a page number, as pdfplumber's characters."""
    lines = []
    with pdfplumber.open(pdf) as document:
        for page in document.pages:
            if "Contents" not in (page.extract_text() or "") and not lines:
                continue
            rows: dict[int, list[dict]] = {}
            for char in page.chars:
                if abs(char["size"] - CONTENTS_SIZE) < 0.2:
                    rows.setdefault(round(char["bottom"]), []).append(char)
            found = [sorted(row, key=lambda c: c["x0"]) for _, row in sorted(rows.items())]
            found = [row for row in found if "".join(c["text"] for c in row).rstrip()[-1:]
                     .isdigit() and ". ." in "".join(c["text"] for c in row)]
            if not found and lines:
                break
            lines += found
    return lines


def _leader(row: list[dict]) -> tuple[list[dict], list[dict]]:
    """The characters of a contents line before its leader, and the leader's dots: the dots at
    its end that stand a space apart from what comes before them (a title's own full stop sits
    against its last letter)."""
    text = "".join(c["text"] for c in row)
    number = len(text.rstrip()) - len(text.rstrip().rstrip("0123456789"))
    body = [c for c in row if c["text"].strip()][:-number]
    dots: list[dict] = []
    while len(body) > 1 and body[-1]["text"] == "." and body[-1]["x0"] - body[-2]["x1"] > 1.0:
        dots.insert(0, body.pop())
    return body, dots


def test_every_chapter_is_listed(contents_lines: list[list[dict]]) -> None:
    assert len(contents_lines) >= len(TITLES)


def test_leaders_keep_clear_of_the_title(contents_lines: list[list[dict]]) -> None:
    """The title's full stop is its own, and the leader's first dot is at least a quarter of an
    em after it."""
    close = []
    for row in contents_lines:
        title, dots = _leader(row)
        gap = (dots[0]["x0"] - title[-1]["x1"]) / CONTENTS_SIZE if dots else 0.0
        if title[-1]["text"] != "." or gap < MIN_GAP_EM:
            close.append(("".join(c["text"] for c in row), round(gap, 2)))
    assert not close


def test_leaders_have_three_dots_or_more(contents_lines: list[list[dict]]) -> None:
    short = [("".join(c["text"] for c in row), len(dots))
             for row in contents_lines for _, dots in [_leader(row)] if len(dots) < 3]
    assert not short


ARABIC_LONGEST = ("معاهدة النهر كما نظر فيها الوزراء مرة أخرى من كل دولة على ضفافه في فصل "
                  "الربيع")


@pytest.fixture(scope="module")
def arabic_contents(tmp_path_factory: pytest.TempPathFactory) -> list[list[dict]]:
    """The contents lines of the same book in Arabic, right to left (the title on the right,
    the leader and the page number on its left), as pdfplumber's characters, left to right:
    each line's characters within a few points of one baseline (the title's face sits a little
    lower than the leader's)."""
    folder = tmp_path_factory.mktemp("titles-ar")
    (folder / "essays").mkdir()
    titles = [ARABIC_LONGEST.rsplit(" ", cut)[0] + "."
              for cut in range(ARABIC_LONGEST.count(" ") - 1, -1, -1)]
    for number, title in enumerate(titles, 1):
        (folder / "essays" / f"{number:02d}.md").write_text(
            f"# {title}\n\nفقرة من الفصل لا تقول إلا القليل.\n", "utf-8")
    (folder / "book.yml").write_text(
        "slug: leaders-ar\nmetadata:\n  title: نقاط القيادة\n  author: مكتب الاختبار\n"
        "  language: ar\n  identifier: urn:uuid:0c6f1d2a-8e4b-4c3d-9f7a-5b1e2d3c4a62\n"
        "  date: '2026-12-01'\npage_size: A5\nopeners: any\nback_matter: []\n"
        "front_matter: [title, contents]\nchapters:\n"
        + "".join(f"  - file: essays/{n:02d}.md\n" for n in range(1, len(titles) + 1)),
        "utf-8")
    result = run_cli("build", "pdf", "--book", str(folder / "book.yml"), "--out",
                     str(folder / "out"))
    assert result.returncode == 0, result.stderr
    lines: list[list[dict]] = []
    with pdfplumber.open(folder / "out" / "leaders-ar.pdf") as document:
        for page in document.pages[:4]:
            for char in sorted(page.chars, key=lambda c: c["bottom"]):
                if lines and lines[-1][0]["page_number"] == char["page_number"] \
                        and abs(lines[-1][-1]["bottom"] - char["bottom"]) < 5:
                    lines[-1].append(char)
                else:
                    lines.append([char])
    return [sorted(line, key=lambda c: c["x0"]) for line in lines
            if any(abs(c["size"] - CONTENTS_SIZE) < 0.2 and c["text"].isdigit() for c in line)]


def test_right_to_left_leaders_keep_clear_of_the_title_and_have_three_dots(
        arabic_contents: list[list[dict]]) -> None:
    """Mirrored: the leader's dots (the contents' size) left of the title, at least three,
    the last a quarter of an em or more from the title's first character (its full stop)."""
    assert len(arabic_contents) >= ARABIC_LONGEST.count(" ")
    wrong = []
    for line in arabic_contents:
        title = [c for c in line if c["text"].strip() and not c["text"].isdigit()
                 and not (c["text"] == "." and abs(c["size"] - CONTENTS_SIZE) < 0.2)]
        if not title:
            continue  # a wrapped title's leader line: its title is on the line above
        start = min(c["x0"] for c in title)
        dots = [c for c in line if c["text"] == "." and abs(c["size"] - CONTENTS_SIZE) < 0.2
                and c["x1"] <= start]
        gap = (start - max(c["x1"] for c in dots)) / CONTENTS_SIZE if dots else 0.0
        if len(dots) < 3 or gap < MIN_GAP_EM:
            wrong.append(("".join(c["text"] for c in title), len(dots), round(gap, 2)))
    assert not wrong


def display_blocks(pdf: Path) -> list[list[str]]:
    """Each page's runs of lines in display type, one run per size: its lines' words."""
    blocks = []
    with pdfplumber.open(pdf) as document:
        for page in document.pages:
            rows: dict[tuple[int, int], list[dict]] = {}
            for char in page.chars:
                if char["size"] >= DISPLAY_SIZE:
                    rows.setdefault((round(char["size"]), round(char["top"])), []).append(char)
            sizes: dict[int, list[list[str]]] = {}
            for (size, _), row in sorted(rows.items()):
                text = "".join(c["text"] for c in sorted(row, key=lambda c: c["x0"]))
                sizes.setdefault(size, []).append(text.split())
            blocks += sizes.values()
    return blocks


def test_display_titles_are_found(pdf: Path) -> None:
    """The subtitle and the long chapter titles are set on more than one line (else the test
    below would pass on nothing)."""
    assert sum(len(block) > 1 for block in display_blocks(pdf)) >= len(TITLES) // 2


def test_no_display_title_ends_in_a_line_of_one_word(pdf: Path) -> None:
    alone = [block for block in display_blocks(pdf) if len(block) > 1 and len(block[-1]) < 2]
    assert not alone
