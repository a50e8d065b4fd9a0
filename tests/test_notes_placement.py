"""Every note is printed at the foot of the page that calls it, never a page late: a note that
does not fit takes its call's line to the next page (`footnote-policy: line`, which WeasyPrint
broke when a paragraph's orphans or widows made it move notes; layout/compat.py mends it).
Read from the PDF's characters: calls are the small raised digits in the text, notes the lines
of the note area that begin with their number."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pdfplumber

from .conftest import ROOTS, run_cli

CALL_SIZE = 7.0  # the calls are 6.5 pt, the text 10 pt, the notes 8 pt (styles/print.css)
NOTE_SIZE = (7.8, 8.2)


def calls_and_notes(pdf: Path) -> list[tuple[list[int], list[int]]]:
    """For each page, the note numbers called in its text and those printed at its foot."""
    pages = []
    with pdfplumber.open(pdf) as document:
        for page in document.pages:
            chars = sorted(page.chars, key=lambda c: (round(c["top"]), c["x0"]))
            calls: list[int] = []
            run = ""
            last = None
            for char in chars:  # runs of small digits side by side are one call
                small = char["text"].isdigit() and char["size"] < CALL_SIZE
                if small and last is not None and abs(char["top"] - last["top"]) < 1 \
                        and char["x0"] - last["x1"] < 1.5:
                    run += char["text"]
                elif small:
                    if run:
                        calls.append(int(run))
                    run = char["text"]
                if small:
                    last = char
            if run:
                calls.append(int(run))
            lines: dict[int, list[dict]] = defaultdict(list)
            for char in chars:
                lines[round(char["top"])].append(char)
            # the note area's left edge: where its lines of note-sized type begin
            left = min((c["x0"] for c in chars
                        if NOTE_SIZE[0] <= c["size"] <= NOTE_SIZE[1]), default=0)
            notes = []
            for top in sorted(lines):
                line = lines[top]
                number = ""
                for char in line:
                    if char["text"].isdigit() and NOTE_SIZE[0] <= char["size"] <= NOTE_SIZE[1]:
                        number += char["text"]
                    else:
                        break
                # a note's number stands at the left edge, an en space after it
                rest = line[len(number):]
                if number and abs(line[0]["x0"] - left) < 3 and \
                        (not rest or rest[0]["text"] == "\u2002"
                         or rest[0]["x0"] - line[len(number) - 1]["x1"] > 3):
                    notes.append(int(number))
            pages.append((calls, notes))
    return pages


def misplaced(pdf: Path) -> list[tuple[int, int]]:
    """(page, note) for every note not printed on the page of its call."""
    found = []
    for number, (calls, notes) in enumerate(calls_and_notes(pdf), 1):
        found += [(number, note) for note in calls if note not in notes]
        found += [(number, note) for note in notes if note not in calls]
    return found


def test_a_note_that_does_not_fit_takes_its_call_to_the_next_page(tmp_path: Path) -> None:
    # The briefing's notes edition: note 2 of chapter 1 (three lines) is called four lines
    # before a heading; to keep that heading with its paragraph WeasyPrint moved the note to
    # the next page and left its call behind.
    result = run_cli("build", "pdf", "--book", str(ROOTS / "briefing" / "notes.yml"), "--out",
                     str(tmp_path))
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "nile-briefing-notes.pdf"
    pages = calls_and_notes(pdf)
    # the checker sees every call and every note (five of each), whichever page they are on
    assert sum(len(calls) for calls, _ in pages) == sum(len(notes) for _, notes in pages) >= 5
    assert misplaced(pdf) == []


def test_a_printed_note_keeps_its_lists_as_lists(tmp_path: Path) -> None:
    """A note is a span in print (it floats from its call), and its paragraphs were joined by
    line breaks: a list in a note lost its bullets and numbers, and read as loose lines."""
    from .test_untrusted import small_book

    essay = ("# Notes\n\nThe sources disagree.[^1]\n\n[^1]: Three sources disagree:\n\n"
             "    - the keeper's log;\n    - the engineer's report;\n\n"
             "    and then, in order:\n\n    3. the inspector;\n    4. the board.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    with pdfplumber.open(tmp_path / "out" / "small.pdf") as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    lines = [line.strip() for line in text.splitlines()]
    at = lines.index("1 Three sources disagree:")
    assert lines[at + 1:at + 6] == ["• the keeper’s log;", "• the engineer’s report;",
                                    "and then, in order:", "3. the inspector;", "4. the board."]
