"""The web edition built by a forked process while the build lays out the PDF (builders/forked.py):
the same file as a build in one process writes, held with the other outputs until the build
commits them, what it found reported, and its failures reported as the build's own, with the
file, line and hint of a user's mistake."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chapbook.build import build
from chapbook.builders import html as html_builder
from chapbook.diagnostics import Diagnostics, Level
from chapbook.errors import BookError
from chapbook.model.book import Book
from chapbook.model.pages import Layouts
from chapbook.options import BuildOptions, parallel_jobs
from chapbook.outputs import held_outputs, hold_writes

from .conftest import ROOTS

EDGE = ROOTS / "edge" / "book.yml"

pytestmark = pytest.mark.skipif(parallel_jobs() == 0, reason="one core: nothing is forked")


def _built_where(monkeypatch: pytest.MonkeyPatch, record: Path) -> None:
    """build_html writes the id of the process that runs it into `record`."""
    real = html_builder.build_html

    def recording(book: Book, options: BuildOptions, diagnostics: Diagnostics,
                  layouts: Layouts) -> Path:
        record.write_text(str(os.getpid()), "utf-8")
        return real(book, options, diagnostics, layouts)
    monkeypatch.setattr(html_builder, "build_html", recording)


def test_the_web_edition_is_built_beside_the_pdf_as_one_process_builds_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "pid"
    _built_where(monkeypatch, record)
    out = tmp_path / "forked"
    with held_outputs(out) as held:  # (as the command line builds)
        built = build(BuildOptions(EDGE, out, ("pdf", "html")), Diagnostics())
        assert int(record.read_text("utf-8")) != os.getpid()
        assert list(built.outputs) == ["html", "pdf"]  # (in the order of EDITIONS)
        assert set(held.pending) == set(built.outputs.values())  # held here, until
        assert not built.outputs["html"].exists()
        held.commit()
    alone = build(BuildOptions(EDGE, tmp_path / "alone", ("pdf", "html"), jobs=0),
                  Diagnostics())
    assert int(record.read_text("utf-8")) == os.getpid()  # --jobs 0: nothing forked
    assert built.outputs["html"].read_bytes() == alone.outputs["html"].read_bytes()
    assert built.outputs["html"].parent == tmp_path / "forked"
    assert not list((tmp_path / "forked").glob(".*.part"))


def test_the_web_edition_alone_is_built_in_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = tmp_path / "pid"
    _built_where(monkeypatch, record)
    build(BuildOptions(EDGE, tmp_path / "out", ("html",)), Diagnostics())
    assert int(record.read_text("utf-8")) == os.getpid()


def test_what_the_forked_build_finds_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = html_builder.build_html

    def finding(book: Book, options: BuildOptions, diagnostics: Diagnostics,
                layouts: Layouts) -> Path:
        diagnostics.warn("fonts", "a warning from the web edition", book.manifest.path, 3)
        return real(book, options, diagnostics, layouts)
    monkeypatch.setattr(html_builder, "build_html", finding)
    diagnostics = Diagnostics()
    build(BuildOptions(EDGE, tmp_path / "out", ("pdf", "html")), diagnostics)
    found = [f for f in diagnostics.findings if f.message == "a warning from the web edition"]
    assert len(found) == 1
    assert (found[0].level, found[0].code, Path(str(found[0].path)), found[0].line) == (
        Level.WARNING, "fonts", EDGE, 3)


def test_a_mistake_found_by_the_forked_build_is_the_builds_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its file, line, column and hint, and no output committed: the PDF written meanwhile is
    held back with the rest, and removed, as when a build in one process fails."""
    def failing(book: Book, options: BuildOptions, diagnostics: Diagnostics,
                layouts: Layouts) -> Path:
        raise BookError("a mistake", book.manifest.path, 7, 2, hint="a remedy")
    monkeypatch.setattr(html_builder, "build_html", failing)
    out = tmp_path / "out"
    with pytest.raises(BookError) as raised, held_outputs(out):
        build(BuildOptions(EDGE, out, ("pdf", "html")), Diagnostics())
    assert not [path for path in out.iterdir() if path.name != ".cache"]
    error = raised.value
    assert (error.message, Path(str(error.path)), error.line, error.column, error.hint) == (
        "a mistake", EDGE, 7, 2, "a remedy")


def test_a_bug_in_the_forked_build_is_reported_with_its_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crashing(book: Book, options: BuildOptions, diagnostics: Diagnostics,
                 layouts: Layouts) -> Path:
        raise ValueError("a bug in the web edition")
    monkeypatch.setattr(html_builder, "build_html", crashing)
    with pytest.raises(BookError) as raised:
        build(BuildOptions(EDGE, tmp_path / "out", ("pdf", "html")), Diagnostics())
    assert "building the html edition failed in a forked process" in raised.value.message
    assert "ValueError: a bug in the web edition" in raised.value.message
    assert raised.value.hint is not None and "--jobs 0" in raised.value.hint


@pytest.mark.parametrize("part", ["{out}/../a.html.x.part", "{out}/.b.html.x.part",
                                  "{out}/.a.html.x.pdf", "/etc/passwd"])
def test_only_a_file_written_beside_its_target_is_held_for_it(tmp_path: Path, part: str) -> None:
    """What the fork says it wrote is checked before this process renames it into place: a
    file written for that target, beside it (write_atomic's `.<name>.<random>.part`)."""
    out = tmp_path / "out"
    out.mkdir()
    with held_outputs(out) as held, pytest.raises(ValueError):
        hold_writes({str(out / "a.html"): part.format(out=out)})
    assert not held.pending


def test_a_relative_output_folder_takes_the_forked_edition(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--out out`, as the Makefile and most users give it: the fork's file (named absolutely
    by mkstemp) is held for the target named relatively (it was refused as not beside it)."""
    monkeypatch.chdir(tmp_path)
    out = Path("out")
    with held_outputs(out) as held:
        built = build(BuildOptions(EDGE, out, ("pdf", "html")), Diagnostics())
        held.commit()
    assert built.outputs["html"] == out / "edge-cases.html" and built.outputs["html"].is_file()
