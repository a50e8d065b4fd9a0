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

import pytest

from .conftest import ROOT, run_cli
from .lines import (
    Line,
    body_lines,
    hyphen_ladders,
    justified_lines,
    loose_lines,
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


def test_no_justified_line_has_word_spaces_over_08_em(lines: list[list[Line]]) -> None:
    loose = loose_lines(lines, limit_em=0.8)
    assert not loose, [(line.page, round(line.word_space, 2), line.text) for line in loose]


def test_no_more_than_two_hyphenated_lines_in_a_row(lines: list[list[Line]]) -> None:
    ladders = hyphen_ladders(lines, longest=2)
    assert not ladders, [(run[0].page, [line.words[-1] for line in run]) for run in ladders]


def test_no_paragraph_ends_in_a_hyphenated_fragment_under_five_letters(
        lines: list[list[Line]]) -> None:
    short = short_last_fragments(lines, shortest=5)
    assert not short, [(line.page, line.text) for line in short]
