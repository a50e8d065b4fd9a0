"""Lines a typesetter signs, measured in the PDF (tests/lines.py): no justified line whose word
spaces stretch past 0.8 em, no more than two lines in a row ending in a hyphen, no paragraph
ending in a piece of a hyphenated word under five letters. WeasyPrint alone broke all three on
these books (a 5.8 em line and a ladder in the bundled book, a ladder on every third page of a
generated one); layout/compat.py mends its line layout."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chapbook.diagnostics import Diagnostics

from .conftest import ROOT, run_cli
from .lines import (
    Line,
    body_lines,
    calls_opening_lines,
    hyphen_ladders,
    justified_lines,
    loose_lines,
    outside_the_measure,
    short_last_fragments,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tools/long_book.py's book of six chapters (notes, links, long words), as its PDF."""
    folder = tmp_path_factory.mktemp("generated")
    subprocess.run([sys.executable, str(ROOT / "tools" / "long_book.py"), str(folder / "book"),
                    "6"], check=True, capture_output=True)
    result = run_cli("build", "pdf", "--book", str(folder / "book" / "book.yml"),
                     "--out", str(folder / "out"))
    assert result.returncode == 0, result.stderr
    return next((folder / "out").glob("*.pdf"))


@pytest.fixture(scope="module", params=["bundled", "briefing", "field-notes", "generated"])
def pdf(request: pytest.FixtureRequest, built: Callable[[str], tuple[Path, str]]) -> Path:
    if request.param == "generated":
        return request.getfixturevalue("generated")  # type: ignore[no-any-return]
    out, _ = built(request.param)
    return next(p for p in out.glob("*.pdf") if not p.stem.endswith(("-booklet", "-print")))


@pytest.fixture(scope="module")
def lines(pdf: Path) -> list[list[Line]]:
    """The book's body lines, read once (pdfplumber takes seconds on a long book)."""
    return body_lines(pdf)


def test_justified_lines_are_measured(lines: list[list[Line]]) -> None:
    """The measure finds the book's running text (else the checks below would pass on
    nothing)."""
    assert len(justified_lines(lines)) > 50


def test_every_line_is_set_within_the_text_block(lines: list[list[Line]]) -> None:
    """No line starts left of its page's text block or ends right of it (a paragraph's lines
    laid out on a recto once ran on the verso after it at the recto's margins)."""
    outside = outside_the_measure(lines)
    assert not outside, [(line.page, line.left, line.right, line.text) for line in outside]


def test_no_justified_line_has_word_spaces_over_08_em(lines: list[list[Line]]) -> None:
    loose = loose_lines(lines, limit_em=0.8)
    assert not loose, [(line.page, round(line.word_space, 2), line.text) for line in loose]


def test_no_line_begins_with_a_note_call(lines: list[list[Line]]) -> None:
    """A call stays on the line of the word it follows: Pango may break between a full stop
    and the digits of a call after it (field-notes' page 31 once opened a line with call 35)."""
    opening = calls_opening_lines(lines)
    assert not opening, [(line.page, line.text[:40]) for line in opening]


def test_no_more_than_two_hyphenated_lines_in_a_row(lines: list[list[Line]]) -> None:
    ladders = hyphen_ladders(lines, longest=2)
    assert not ladders, [(run[0].page, [line.words[-1] for line in run]) for run in ladders]


def test_no_paragraph_ends_in_a_hyphenated_fragment_under_five_letters(
        lines: list[list[Line]]) -> None:
    short = short_last_fragments(lines, shortest=5)
    assert not short, [(line.page, line.text) for line in short]


def _one_chapter_book(folder: Path, body: str) -> Path:
    """A book of one chapter, "Cooperation", whose text is `body`: its manifest."""
    (folder / "essays").mkdir()
    (folder / "essays" / "chapter.md").write_text(f"# Cooperation\n\n{body}", "utf-8")
    (folder / "book.yml").write_text(
        "slug: paragraphs\nmetadata:\n  title: Paragraphs of a Generated Book\n"
        "  author: The Long Desk\n  language: en-GB\n  identifier: urn:chapbook:paragraphs\n"
        "  date: \"2026-12-03\"\nchapters:\n  - file: essays/chapter.md\n", "utf-8")
    return folder / "book.yml"


def _lines_of_one_chapter(folder: Path, body: str) -> list[list[Line]]:
    """The body lines of a book of one chapter, "Cooperation", whose text is `body`."""
    result = run_cli("build", "pdf", "--book", str(_one_chapter_book(folder, body)),
                     "--out", str(folder / "out"))
    assert result.returncode == 0, result.stderr
    return body_lines(next((folder / "out").glob("*.pdf")))


def test_a_line_is_set_another_way_when_the_next_would_come_out_loose(
        tmp_path: Path) -> None:
    """Two paragraphs of a generated book where greedy breaking filled a line one word too
    full for the next ("… and sophisticated / weaponry …" left "global security. offers
    significant military aid and sophisticated" at 0.83 em; "… military technology. /
    Although …" at 0.82 em): judged by the next line, the line before is set another way."""
    paragraphs = [
        "It includes collaborative initiatives with various countries globally, including "
        "influential regional entities. The exceptional intelligence capabilities of the "
        "Islamic Nation play a significant role in providing insight to NATO operations, "
        "thereby contributing to both regional and global security. offers significant "
        "military aid and sophisticated weaponry to the Islamic Nation.[^1]",
        "Moreover, the dialogue brings about an opportunity to familiarize other nations with "
        "the specific security needs of Islamic nations, their key defense policies, and "
        "advancements in military technology. Although the Islamic Nation is not a NATO "
        "member, it has maintained a robust relationship with the organization since 1994 "
        "when it joined the Mediterranean Dialogue. It cultivates a communicative environment "
        "where defense objectives and concerns are discussed from a political standpoint, "
        "enabling countries to form successful defense collaborations.[^2]",
    ]
    lines = _lines_of_one_chapter(
        tmp_path, f"## Section 2\n\n{paragraphs[0]}\n\n## Section 3\n\n{paragraphs[1]}"
        "\n\n[^1]: A note.\n\n[^2]: Another note.\n")
    texts = " ".join(line.text for page in lines for line in page)
    assert "sophisticated" in texts and "Although" in texts  # both paragraphs were measured
    assert len(justified_lines(lines)) >= 10
    loose = loose_lines(lines, limit_em=0.8)
    assert not loose, [(line.page, round(line.word_space, 2), line.text) for line in loose]


# Paragraphs of a generated 200-chapter book that no other way of setting one line mends (see
# the test below).
UNMENDED_BY_ONE_LINE = [
    "For instance, the ongoing Defense Political Dialogue between countries in the "
    "Islamic Ummah strengthens their military relations and helps coordinate elaborate "
    "defense and counter-terrorism initiatives. Moreover, the dialogue brings about an "
    "opportunity to familiarize other nations with the specific security needs of "
    "Islamic nations, their key defense policies, and advancements in military "
    "technology. This cooperation can include a variety of activities, ranging from "
    "joint military exercises, shared intelligence, the development of defense "
    "technology, to coordinated military operations.[^1]",
    "The Islamic Nation’s military cooperation extends beyond the United States. "
    "Interwoven within this paradigm, cross-border military communications emerge as a "
    "potent tool that can foster relations between countries, nurture an environment of "
    "mutual trust, and assist in resolving security-based disputes. Defense Political "
    "Dialogue involves extensive discussions between defense divisions of the nations "
    "involved.[^1]",
    "Among these alliances, the relationship with the North Atlantic Treaty Organization "
    "(NATO) commands special attention. In recent times, Islamic nations have been "
    "expanding their military alliances beyond their traditional allies. For instance, "
    "the ongoing Defense Political Dialogue between countries in the Islamic Ummah "
    "strengthens their military relations and helps coordinate elaborate defense and "
    "counter-terrorism initiatives.[^1]",
    "Nonetheless, this alliance has endured, bearing witness to the Islamic Nation’s "
    "commitment to global diplomacy and an acknowledgment of the substantial part played "
    "by NATO in the international military landscape. These political dialogues are "
    "initiated through high-level meetings, conferences, or bilateral negotiations, "
    "amongst others.[^1]",
]


def test_a_paragraph_greedy_breaking_leaves_loose_is_broken_as_a_whole(
        tmp_path: Path) -> None:
    """Paragraphs of a generated 200-chapter book where no other way of setting one line
    fixes the next ("… military relations and helps / coordinate elaborate defense and
    counter-terrorism initiatives." at 1.10 em: sending "helps" down left its own line at
    0.83 em), and two where a third hyphenated line in a row ended in a hyphen the author
    typed ("Dia- / milit- / counter-", "acknowledg- / milit- / high-"): the paragraph's
    breaks are planned as a whole (total fit), each set first after a heading and then
    indented."""
    paragraphs = UNMENDED_BY_ONE_LINE
    lines = _lines_of_one_chapter(tmp_path, _sections(paragraphs))
    texts = " ".join(line.text for page in lines for line in page)
    assert texts.count("amongst others.") == 2 and texts.count("nations involved.") == 2
    loose = loose_lines(lines, limit_em=0.8)
    assert not loose, [(line.page, round(line.word_space, 2), line.text) for line in loose]
    ladders = hyphen_ladders(lines, longest=2)
    assert not ladders, [(run[0].page, [line.words[-1] for line in run]) for run in ladders]


def _sections(paragraphs: list[str]) -> str:
    """A chapter's text: each paragraph set first after a heading and then indented."""
    sections = "".join(f"## Section {number}\n\n{text}\n\nA filler paragraph.\n\n{text}\n\n"
                       for number, text in enumerate(paragraphs, 1))
    return f"{sections}[^1]: A note.\n"


def test_a_planned_paragraph_follows_no_way_already_worse_than_the_best_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The total-fit search follows no way of setting a line whose own demerits are no better
    than the best found for that line, and lays each line's ways out once: following every
    way, these paragraphs took 27 to 46 line layouts for each of their lines (a 200-chapter
    book's planned paragraphs were a fifth of its body's layout time); now 6 to 14. The plans
    are the same (exact: demerits are never negative)."""
    from chapbook.build import load_book
    from chapbook.layout import compat
    from chapbook.layout.paginate import typeset

    manifest = _one_chapter_book(tmp_path, _sections(UNMENDED_BY_ONE_LINE))
    searches: list[tuple[int, int]] = []  # (lines of the paragraph, lines laid out to plan it)
    plan, laid = compat._plan, compat._laid
    count = [0]

    def counted(*args: Any, **named: Any) -> Any:
        count[0] += 1
        return laid(*args, **named)

    def planned(*args: Any) -> Any:
        count[0] = 0
        monkeypatch.setattr(compat, "_laid", counted)
        try:
            result = plan(*args)
        finally:
            monkeypatch.setattr(compat, "_laid", laid)
        searches.append((len(result or {}), count[0]))  # the lines it plans
        return result
    monkeypatch.setattr(compat, "_plan", planned)
    typeset(load_book(manifest, Diagnostics()), Diagnostics(), write=False, jobs=0)
    assert len(searches) >= 4, searches  # each paragraph planned, once at least
    assert all(lines >= 4 and laid <= 16 * lines for lines, laid in searches), searches
