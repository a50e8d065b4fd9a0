"""The front matter laid out once: a build remembers the front matter's length, and the next
build of the same manifest takes it as a guess instead of laying the front matter out a first
time with stand-in page numbers (issue 16). A wrong guess (a longer contents after an essay's
title grew, or an entry planted in the cache) shows when the front matter is laid out with the
real numbers, and the book is laid out again. Either way the PDF is byte for byte the one a
build without a guess writes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pypdf
import pytest

from chapbook.build import load_book, read
from chapbook.cache import remember_front_length, remembered_front_length
from chapbook.diagnostics import Diagnostics
from chapbook.layout import paginate
from chapbook.layout.paginate import front_guess, typeset
from chapbook.model.book import Book
from chapbook.options import BuildOptions, parallel_jobs

from .conftest import BUNDLED, ROOTS, run_cli

EPOCH = {"SOURCE_DATE_EPOCH": "1764547200"}


def _build(manifest: Path, out: Path) -> bytes:
    result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(out), env=EPOCH)
    assert result.returncode == 0, result.stderr
    return next(out.glob("*.pdf")).read_bytes()


def _book(manifest: Path, out: Path) -> tuple[Book, Path]:
    options = BuildOptions(manifest, out, ("pdf",))
    return read(options, Diagnostics())[0], options.cache


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """The briefing, copied, built once with nothing cached: its manifest, its output folder
    and the PDF."""
    folder = tmp_path_factory.mktemp("front-length")
    shutil.copytree(ROOTS / "briefing", folder / "book")
    manifest, out = folder / "book" / "book.yml", folder / "out"
    return manifest, out, _build(manifest, out)


def _first_body_page(pdf: Path) -> int:
    """The page number the contents give their first entry (the body's first page)."""
    for page in pypdf.PdfReader(pdf).pages:
        text = page.extract_text() or ""
        if text.lstrip().startswith("Contents"):
            entry = next(line for line in text.splitlines()[1:] if ". ." in line)
            return int(entry.rsplit(" ", 1)[1])
    raise AssertionError("no contents")


def test_the_front_matter_length_is_remembered(first: tuple[Path, Path, bytes]) -> None:
    manifest, out, _ = first
    book, cache = _book(manifest, out)
    remembered = remembered_front_length(book, cache, "pdf")
    assert remembered is not None
    # the body opens on the first recto after the front matter (a blank verso between)
    assert _first_body_page(next(out.glob("*.pdf"))) - 1 in (remembered, remembered + 1)


def test_the_build_that_takes_the_guess_writes_the_same_pdf(
        first: tuple[Path, Path, bytes]) -> None:
    manifest, out, pdf = first
    assert _build(manifest, out) == pdf


@pytest.mark.parametrize("wrong_by", [1, 2, 5])
def test_a_wrong_guess_is_found_and_the_same_pdf_written(
        first: tuple[Path, Path, bytes], wrong_by: int) -> None:
    """1: the body still opens on the same recto (the front matter's blank page is counted
    from the real length); 2 and 5: it would open two or more pages late."""
    manifest, out, pdf = first
    book, cache = _book(manifest, out)
    real = remembered_front_length(book, cache, "pdf")
    assert real is not None
    remember_front_length(book, cache, "pdf", real + wrong_by)
    assert remembered_front_length(book, cache, "pdf") == real + wrong_by
    assert _build(manifest, out) == pdf
    assert remembered_front_length(book, cache, "pdf") == real


def test_the_same_book_reached_by_another_path_finds_what_its_last_build_kept(
        first: tuple[Path, Path, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """The build cache's keys name the book's files as the file system does, not as the
    command line spelled them: the briefing's manifest given relative to another folder
    (`../book/book.yml`) finds the front matter's length and the page map its last build kept,
    where it missed them (a no-change PDF took twice as long, the EPUB after it laid the book
    out again)."""
    from chapbook.cache import cached_page_map

    manifest, out, _ = first
    monkeypatch.chdir(manifest.parent / "essays")
    book, cache = _book(Path("..") / ".." / "book" / "book.yml", out)
    assert str(book.manifest.path).startswith("..")
    assert remembered_front_length(book, cache, "pdf") is not None
    assert cached_page_map(book, cache) is not None


def _front_measured_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What this process (not a fork of it) lays out of the front matter from now on: "stand-ins"
    for each layout that measures it, "real numbers" for each that is printed."""
    laid: list[str] = []
    here = os.getpid()
    measure, again = paginate._Pagination.measure_front, paginate._Pagination.front_again

    def measure_counted(pagination: Any) -> int:
        if os.getpid() == here:
            laid.append("stand-ins")
        return measure(pagination)

    def again_counted(pagination: Any, html: str | None = None) -> Any:
        if os.getpid() == here:
            laid.append("real numbers")
        return again(pagination, html)
    monkeypatch.setattr(paginate._Pagination, "measure_front", measure_counted)
    monkeypatch.setattr(paginate._Pagination, "front_again", again_counted)
    return laid


def test_a_cold_build_lays_the_front_matter_out_once_in_its_own_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With no length remembered, the front matter is measured (laid out with stand-in numbers)
    by a forked process while this one lays the body out: this one lays it out once, with the
    real numbers. (It laid it out twice, 0.15-0.25 s of the booklet's 2.7.) With `--jobs 0`,
    nothing is forked: it is measured here."""
    if parallel_jobs() == 0:
        pytest.skip("one core: nothing is forked by default")
    laid = _front_measured_here(monkeypatch)
    assert typeset(load_book(BUNDLED, Diagnostics()), Diagnostics()).pdf
    assert laid == ["real numbers"]
    laid.clear()
    assert typeset(load_book(BUNDLED, Diagnostics()), Diagnostics(), jobs=0).pdf
    assert laid == ["stand-ins", "real numbers"]


@pytest.mark.parametrize("manifest", [BUNDLED, ROOTS / "briefing" / "book.yml",
                                      ROOTS / "b-glyphs" / "book.yml"],
                         ids=["five-sections", "guessed-wrong", "the-title-page-alone"])
def test_a_body_laid_out_while_the_front_matter_is_measured_reads_as_one_laid_out_after_it(
        manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The body is laid out from a guess at the page it opens on (front_guess) until the fork has
    measured the front matter; where the guess was wrong (the briefing's front matter of 6
    pages, which its 5 sections make 8), what was laid out from it is laid out again. The PDF,
    its anchors' pages and its page starts are those of a layout that measures the front
    matter first, in this process (as with `--jobs 0`)."""
    book = load_book(manifest, Diagnostics())
    measured_elsewhere = typeset(book, Diagnostics())
    body = {part.id for part in book.parts} | {chapter.id for chapter in book.chapters}
    opens = min(page for anchor, page in measured_elsewhere.pages.items() if anchor in body)
    assert (front_guess(book) != opens) == (manifest.parent.name == "briefing")
    laid = _front_measured_here(monkeypatch)
    measured_first = typeset(load_book(manifest, Diagnostics()), Diagnostics(), jobs=0)
    assert laid[0] == "stand-ins"  # (the reference was made the old way)
    assert measured_elsewhere.pages == measured_first.pages
    assert measured_elsewhere.starts == measured_first.starts
    assert measured_elsewhere.pdf == measured_first.pdf
