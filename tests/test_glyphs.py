"""Characters no shipped font has: reported at the essay's (or book.yml's) line, one warning per
line naming every such character on it, by `chapbook check` and `chapbook build` alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chapbook.check import check_book
from chapbook.diagnostics import Level
from chapbook.fonts import unrenderable

from .conftest import BUNDLED, run_cli

GLYPH_LINE = re.compile(r"^(\S+?):(\d+): warning: (.*\[missing-glyph\])$", re.MULTILINE)
EXPECTED = [
    ("book.yml", 17, ["U+10002"]),               # a key point set in book.yml
    ("essays/samples.md", 5, ["U+10000"]),       # twice on the line, reported once
    ("essays/samples.md", 7, ["U+10001", "U+1F9A0"]),  # two on one line, one warning
]


def glyph_lines(output: str) -> list[tuple[str, int, list[str]]]:
    return sorted((path, int(line), re.findall(r"U\+[0-9A-F]{4,6}", message))
                  for path, line, message in GLYPH_LINE.findall(output))


@pytest.fixture
def glyphs_book(fixture_book) -> Path:
    return fixture_book("b-glyphs")


def test_unrenderable_ignores_what_needs_no_glyph() -> None:
    assert unrenderable("Plain text, “quotes”, αβγ, العربية, 中文\n\t\f\u00ad\u200b") == ""
    assert unrenderable("a 𐀀 b 🦠 𐀀") == "𐀀🦠"


def test_check_reports_missing_glyphs_at_their_line(glyphs_book: Path) -> None:
    result = run_cli("check", "--book", "book.yml", cwd=glyphs_book)
    assert glyph_lines(result.stdout) == EXPECTED, result.stdout
    message = next(f.message for f in check_book(glyphs_book / "book.yml").findings
                   if f.code == "missing-glyph" and f.line == 7)
    assert '"𐀁" (U+10001)' in message and '"🦠" (U+1F9A0)' in message
    assert "styles/fonts" in message  # what to do about it


def test_build_reports_the_same_findings_as_check(glyphs_book: Path, tmp_path: Path) -> None:
    checked = run_cli("check", "--book", "book.yml", cwd=glyphs_book)
    built = run_cli("build", "pdf", "epub", "--book", "book.yml", "--out", str(tmp_path),
                    cwd=glyphs_book)
    assert built.returncode == 0, built.stderr
    assert glyph_lines(built.stderr) == glyph_lines(checked.stdout) == EXPECTED
    # WeasyPrint's own `.notdef` warnings are those findings, not lines naming book.yml alone
    assert ".notdef" not in built.stderr, built.stderr
    assert not re.search(r"^book\.yml: warning", built.stderr, re.MULTILINE), built.stderr


def test_each_files_missing_glyphs_are_kept_under_its_content(
        glyphs_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build keeps each text file's answer in its cache, under the file's content: the next
    build finds the same warnings without reading the essays' text again (a 200-essay book:
    0.09 s of 0.94), an edited file is read again, and a kept answer that is not one (written
    under the cache's own signature, as a bug would) is worked out again."""
    from chapbook import fonts
    from chapbook.cache import DataCache

    files = [glyphs_book / "book.yml", glyphs_book / "essays" / "samples.md"]
    cache = tmp_path / "cache"
    uncached = fonts.missing_glyphs(files)
    assert sorted((f.path.name, f.line) for f in uncached) == [  # type: ignore[union-attr]
        ("book.yml", 17), ("samples.md", 5), ("samples.md", 7)]
    assert fonts.missing_glyphs(files, cache) == uncached
    read: list[Path] = []
    essay_lines = fonts._essay_lines

    def counted(path: Path):  # type: ignore[no-untyped-def]
        read.append(path)
        return essay_lines(path)
    monkeypatch.setattr(fonts, "_essay_lines", counted)
    assert fonts.missing_glyphs(files, cache) == uncached
    assert read == []
    essay = files[1]
    essay.write_text(essay.read_text("utf-8") + "\nOne more line with \U00010003.\n", "utf-8")
    edited = fonts.missing_glyphs(files, cache)
    assert read == [essay]
    assert [f.line for f in edited if f.path == essay][-1] == len(
        essay.read_text("utf-8").splitlines())
    for entry in (cache / "glyphs").glob("*.entry"):  # every answer replaced by a wrong one
        entry.unlink()
    kept = DataCache(cache, "glyphs", bytes)
    for data in (b"[[1, 2]]", b"{}", b"[[3, \"\"]]", b"not json"):
        read.clear()
        for path in files:
            key_of = fonts.hashlib.sha256((b"yaml\0" if path.suffix == ".yml" else b"essay\0")
                                          + path.read_bytes()).hexdigest()
            kept.store(key_of, data)
        assert fonts.missing_glyphs(files, cache) == edited
        assert read == [essay]


def test_strict_check_fails_on_missing_glyphs(glyphs_book: Path) -> None:
    result = run_cli("check", "--strict", "--book", "book.yml", cwd=glyphs_book)
    assert result.returncode == 2


def test_the_bundled_book_has_every_glyph() -> None:
    assert not [f for f in check_book(BUNDLED).findings
                if f.code == "missing-glyph" or f.level is Level.WARNING]


def test_other_typesetting_warnings_are_placed_at_the_text_they_name(glyphs_book: Path) -> None:
    """A glyph some shipped font has but the font chosen for that text lacks (WeasyPrint's
    message, kept), and a warning about a file of the book: at the line that holds them."""
    import logging

    from chapbook.diagnostics import Diagnostics
    from chapbook.layout.typesetter import captured_logs

    diagnostics = Diagnostics()
    with captured_logs(diagnostics, glyphs_book / "book.yml"):
        logger = logging.getLogger("weasyprint")
        logger.warning('.notdef glyph rendered for Unicode string unsupported by fonts: '
                       '"%s" (U+%04X)', "α", ord("α"))
        logger.warning("Failed to load image at %r", "file:///chapbook-book/essays/samples.md")
        logger.warning("Something about the whole book")
    placed = [(Path(f.path).resolve().relative_to(glyphs_book.resolve()).as_posix(), f.line)
              for f in diagnostics.findings]
    assert placed == [("essays/samples.md", 3), ("book.yml", 15), ("book.yml", None)]


def test_font_coverage_is_read_once_per_machine_and_kept_in_the_user_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the cmaps of every shipped font costs about a second a build; the code points they
    cover are kept (signed) in the user's cache folder, and a later process takes them from there
    whole: the same set, without opening a font."""
    from chapbook import fonts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from_fonts = fonts.covered_characters.__wrapped__()
    assert ord("α") in from_fonts and ord("中") in from_fonts and 0x10000 not in from_fonts
    assert list((tmp_path / "chapbook" / "coverage").glob("*.entry"))
    def no_font_opened(files: list[Path]) -> frozenset[int]:
        raise AssertionError(f"the fonts were read again: {files}")

    monkeypatch.setattr(fonts, "_read_coverage", no_font_opened)
    assert fonts.covered_characters.__wrapped__() == from_fonts


def test_a_damaged_coverage_entry_is_read_from_the_fonts_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chapbook import fonts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    from_fonts = fonts.covered_characters.__wrapped__()
    [entry] = (tmp_path / "chapbook" / "coverage").glob("*.entry")
    entry.write_bytes(entry.read_bytes()[:-40])
    assert fonts.covered_characters.__wrapped__() == from_fonts


def test_coverage_kept_in_the_user_cache_follows_the_fonts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept coverage is keyed on the font files it was read from: with other fonts in
    styles/fonts.css, it is read again, not served from before."""
    from chapbook import fonts

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    every_face = fonts.covered_characters.__wrapped__()
    latin_only = tuple(face for face in fonts.font_faces() if "Charis" in face.family)
    assert latin_only, "the fixture's font is gone from styles/fonts.css"
    monkeypatch.setattr(fonts, "font_faces", lambda: latin_only)
    fewer = fonts.covered_characters.__wrapped__()
    assert ord("中") in every_face and ord("中") not in fewer


def test_the_coverage_answers_as_the_set_of_code_points_it_was_made_from() -> None:
    """The shipped fonts' coverage is kept as runs (codepoints.Coverage, a few hundred pairs
    instead of a frozenset of 60 000 ints, 5.5 MiB of the booklet build's peak): it must answer
    for every code point as the set would."""
    from chapbook.codepoints import Coverage, runs

    points = {0x20, 0x21, 0x22, 0x41, 0xE9, 0x3B1, 0x3B2, 0x4E2D, 0x10FFFF}
    points |= set(range(0x600, 0x700)) | set(range(0xAC00, 0xD7A4, 2))
    coverage = Coverage(runs(points))
    assert [code for code in range(0x110000) if code in coverage] == sorted(points)
    assert "A" not in coverage and None not in coverage


@pytest.mark.parametrize("ranges", [[(5, 4)], [(1, 5), (5, 9)], [(8, 9), (1, 2)],
                                    [(0, 0x110000)], [(-1, 3)]])
def test_coverage_refuses_runs_out_of_order(ranges: list[tuple[int, int]]) -> None:
    """What a damaged cache entry could hold (a run backwards, overlapping or out of Unicode):
    refused, so that the coverage is read from the fonts again."""
    from chapbook.codepoints import Coverage

    with pytest.raises(ValueError):
        Coverage(ranges)
