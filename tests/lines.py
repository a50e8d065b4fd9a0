"""The text lines of a PDF's body, read from its characters with pdfplumber, as a typesetter
measures them: word spaces of justified lines, runs of lines ending in a hyphen, paragraphs
ending in a short piece of a hyphenated word, and lines outside the text block. Used by
tests/test_line_breaking.py; also a script:

    python tests/lines.py BOOK.pdf

Only the running text is measured: lines set in the body's size (the most common one), between
the running head and the folio. A superscript note call belongs to the line it sits on, and
should never open it. A line
is justified when it reaches the column's right edge and is followed, in the same column, by
another body line (a paragraph's last line is set ragged). Its word space is the median of its
gaps between words, as justification widens every space of a line alike and a gap beside a
full stop or a call differs from it only by the glyphs' shapes; a table row's gaps are its
columns and differ from each other, and a row of a contents page is dotted."""

from __future__ import annotations

import itertools
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from math import inf
from pathlib import Path

import pdfplumber

HYPHENS = ("-", "\u2010", "\u00ad")


@dataclass
class Line:
    page: int
    words: list[str]
    gaps: list[float]  # between words, in ems of the body size
    left: float
    right: float
    top: float
    bottom: float
    opens_with_call: bool = False  # its first character is a raised note call

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def word_space(self) -> float:
        return statistics.median(self.gaps) if self.gaps else 0.0

    @property
    def hyphenated(self) -> bool:
        return bool(self.words) and self.words[-1].endswith(HYPHENS) and len(self.words[-1]) > 1


def body_lines(pdf: Path) -> list[list[Line]]:
    """Each page's body lines, top to bottom."""
    pages = []
    with pdfplumber.open(pdf) as document:
        sizes = Counter(round(c["size"], 1) for page in document.pages for c in page.chars)
        body = sizes.most_common(1)[0][0]
        for number, page in enumerate(document.pages, 1):
            height = float(page.height)
            chars = [c for c in page.chars
                     if 0.08 * height < c["top"] and c["bottom"] < 0.92 * height]
            rows: dict[int, list[dict]] = {}
            for char in chars:
                if abs(char["size"] - body) < 0.15:
                    rows.setdefault(round(char["bottom"]), []).append(char)
            for char in chars:  # a raised call joins the line whose body it stands in
                if char["size"] < body - 0.15:
                    for bottom in rows:
                        if bottom - body <= char["bottom"] <= bottom + 1:
                            rows[bottom].append(char)
                            break
            lines = [_line(number, row, body) for _, row in sorted(rows.items())]
            pages.append([line for line in lines if line.words])
    return pages


def _line(page: int, row: list[dict], size: float) -> Line:
    row.sort(key=lambda c: c["x0"])
    words: list[list[dict]] = [[]]
    for char in row:
        previous = words[-1][-1] if words[-1] else None
        if not char["text"].strip():
            if words[-1]:
                words.append([])
            continue
        if previous is not None and char["x0"] - previous["x1"] > 0.12 * size:
            words.append([])
        words[-1].append(char)
    words = [w for w in words if w]
    gaps = [(b[0]["x0"] - a[-1]["x1"]) / size for a, b in itertools.pairwise(words)]
    inked = [c for c in row if c["text"].strip()]  # a trailing space is drawn, but not seen
    return Line(page, ["".join(c["text"] for c in w) for w in words], gaps,
                min((c["x0"] for c in inked), default=0),
                max((c["x1"] for c in inked), default=0),
                min((c["top"] for c in row), default=0),
                max((c["bottom"] for c in row), default=0),
                bool(inked) and inked[0]["size"] < size - 0.15 and inked[0]["text"].isdigit())


def _dotted(line: Line) -> bool:
    return sum(1 for word in line.words if set(word) <= set(". ")) > 2


def _table_row(line: Line) -> bool:
    return len(line.gaps) > 1 and max(line.gaps) > 2 * statistics.median(line.gaps) + 0.3


def justified_lines(pages: list[list[Line]]) -> list[Line]:
    """The lines set justified: full to the column's right edge, with a line after them."""
    found = []
    for lines in pages:
        if not lines:
            continue
        right = max(line.right for line in lines)
        for line, after in itertools.pairwise(lines):
            if len(line.words) >= 3 and line.right > right - 1.5 and \
                    after.top - line.bottom < line.bottom - line.top and \
                    not _dotted(line) and not _table_row(line):
                found.append(line)
    return found


def outside_the_measure(pages: list[list[Line]], tolerance: float = 1.0) -> list[Line]:
    """Lines that start left of their page's text block or end right of it. The block's edges
    are found on the pages of its side (a recto's margins are not a verso's): its right edge
    is the most common right edge (justified lines end there; on pages with too few of them
    for a tenth of the lines to share an edge, such as a ragged glossary's, the right edge is
    not checked), its left the leftmost edge that a tenth of the lines share (indented lines,
    a glossary's or a list's, may be more common than those at the margin). A line laid out
    for one page and set on the next at the other side's margins, or one that runs into the
    margin, shows here."""
    edges = {}
    for side in (0, 1):
        lines = [line for page in pages for line in page if line.page % 2 == side]
        if lines:
            lefts = Counter(round(line.left) for line in lines)
            right, count = Counter(round(line.right) for line in lines).most_common(1)[0]
            edges[side] = (min(left for left, count in lefts.items()
                               if count >= len(lines) / 10),
                           right if count >= len(lines) / 10 else inf)
    return [line for page in pages for line in page
            if line.left < edges[line.page % 2][0] - tolerance
            or line.right > edges[line.page % 2][1] + tolerance]


def loose_lines(pages: list[list[Line]], limit_em: float = 0.8) -> list[Line]:
    return [line for line in justified_lines(pages) if line.word_space > limit_em]


def calls_opening_lines(pages: list[list[Line]]) -> list[Line]:
    """Lines that begin with a note call: the call parted from the word it follows. Read left
    to right (a right-to-left line ends at its left), and not on a contents page, whose page
    numbers may be set smaller than the text."""
    return [line for page in pages for line in page
            if line.opens_with_call and not _dotted(line)]


def hyphen_ladders(pages: list[list[Line]], longest: int = 2) -> list[list[Line]]:
    """Runs of more than `longest` lines in a row, on one page, that end in a hyphen."""
    runs, run = [], []
    for lines in pages:
        for line in lines:
            if line.hyphenated:
                run.append(line)
                continue
            if len(run) > longest:
                runs.append(run)
            run = []
        if len(run) > longest:
            runs.append(run)
        run = []
    return runs


def short_last_fragments(pages: list[list[Line]], shortest: int = 5) -> list[Line]:
    """Paragraphs' last lines holding only the end of the word hyphenated above them, shorter
    than `shortest` letters ("individu- / als.")."""
    found = []
    for lines in pages:
        for above, line, after in zip(lines, lines[1:], [*lines[2:], None], strict=False):
            ends_paragraph = after is None or after.left > line.left + 1 or \
                after.top - line.bottom > line.bottom - line.top
            if above.hyphenated and len(line.words) == 1 and ends_paragraph and \
                    line.right < max(x.right for x in lines) - 20 and \
                    sum(c.isalpha() for c in line.words[0]) < shortest:
                found.append(line)
    return found


if __name__ == "__main__":
    measured = body_lines(Path(sys.argv[1]))
    for line in loose_lines(measured):
        print(f"loose, page {line.page}: {line.word_space:.2f} em: {line.text[:70]}")
    for run in hyphen_ladders(measured):
        print(f"ladder, page {run[0].page}: " + " / ".join(line.words[-1] for line in run))
    for line in short_last_fragments(measured):
        print(f"short last line, page {line.page}: {line.text}")
    for line in calls_opening_lines(measured):
        print(f"a note call opens a line, page {line.page}: {line.text[:60]}")
    for line in outside_the_measure(measured):
        print(f"outside the text block, page {line.page}: {line.left:.1f}-{line.right:.1f} pt:"
              f" {line.text[:60]}")
    spaces = sorted(line.word_space for line in justified_lines(measured))
    print(f"{len(spaces)} justified lines; word space median {statistics.median(spaces):.2f} em,"
          f" widest {spaces[-1]:.2f} em")
