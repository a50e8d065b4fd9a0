"""A long book's body pieces are kept in the build cache (cache.PieceCache), keyed on all they are
made from but their page numbers: after one essay changes, only its piece (and any piece whose
first page it moved) is laid out again, and the PDF is byte for byte the one a build from nothing
writes. A damaged or planted entry is never used."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from pypdf import PdfReader

from chapbook.build import load_book
from chapbook.diagnostics import Diagnostics
from chapbook.layout import paginate, parallel
from chapbook.layout.paginate import pieces

from .conftest import ROOTS, field_notes_indexed_closely, typeset_pieces

PIECE_WORDS = 400  # field-notes in several pieces


def _typeset(manifest: Path, cache: Path) -> tuple[bytes, list[parallel.LaidPiece]]:
    """The book's reading PDF, laid out by workers with `cache`, and its pieces as laid: the
    body's, then the back matter's parts."""
    return typeset_pieces(manifest, Diagnostics(), piece_words=PIECE_WORDS, jobs=1,
                          cache=cache)


def _changed_piece(manifest: Path, essay: Path) -> int:
    book = load_book(manifest, Diagnostics())
    return next(index for index, run in enumerate(pieces(book, PIECE_WORDS))
                if any(s.chapter and s.chapter.source.resolve() == essay.resolve() for s in run))


@pytest.fixture
def book(tmp_path: Path) -> Path:
    folder = tmp_path / "field-notes"
    shutil.copytree(ROOTS / "field-notes", folder)
    return folder / "book.yml"


def _edit(manifest: Path) -> Path:
    """A sentence added to the book's fourth essay, in a paragraph of its middle."""
    book = load_book(manifest, Diagnostics())
    essay = book.chapters[3].source
    text = essay.read_text("utf-8")
    middle = text.index("\n\n", len(text) // 2)
    essay.write_text(text[:middle] + " One sentence more, added by the test." + text[middle:],
                     "utf-8")
    return essay


def test_after_one_essay_changes_only_its_piece_is_laid_out_again(book: Path,
                                                                   tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _, first = _typeset(book, cache)
    assert len(first) >= 6 and not any(piece.cached for piece in first)
    essay = _edit(book)
    changed = _changed_piece(book, essay)
    again, laid = _typeset(book, cache)
    body = len(laid) - 2  # then the glossary and the index
    assert [index for index, piece in enumerate(laid) if not piece.cached][:1] == [changed]
    assert all(piece.cached for piece in laid[:changed])
    moved = [index for index, (before, after) in enumerate(zip(first, laid, strict=True))
             if before.first_page != after.first_page]
    # a piece of the body after the changed one is laid out again only if its first page moved
    # (the back matter's parts also if a locator changed)
    assert all(piece.cached for index, piece in enumerate(laid[:body])
               if index > changed and index not in moved)
    assert sum(piece.cached for piece in laid[:body]) >= body - 1 - len(moved)
    anew, _ = _typeset(book, tmp_path / "another cache")
    assert again == anew


def test_a_build_with_every_piece_kept_writes_the_same_pdf(book: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, _ = _typeset(book, cache)
    second, laid = _typeset(book, cache)
    assert all(piece.cached for piece in laid)
    assert second == first


def test_a_tampered_piece_is_laid_out_again(book: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, _ = _typeset(book, cache)
    entries = sorted((cache / "pieces").glob("*.entry"), key=lambda path: path.stat().st_size)
    assert entries
    biggest = entries[-1]  # a piece's PDF
    data = bytearray(biggest.read_bytes())
    data[-200] ^= 0x01
    biggest.write_bytes(bytes(data))
    second, laid = _typeset(book, cache)
    assert sum(not piece.cached for piece in laid) == 1
    assert second == first


def _front_laid_out(manifest: Path, cache: Path) -> tuple[bytes, int]:
    """The reading PDF (as _typeset) and how many times its front matter was laid out with its
    real page numbers."""
    laid_out = []
    lay_out = paginate._Pagination.front_again

    def counting(self: paginate._Pagination, *args: Any, **kwargs: Any) -> Any:
        laid_out.append(self)
        return lay_out(self, *args, **kwargs)

    with mock.patch.object(paginate._Pagination, "front_again", counting):
        pdf, _ = _typeset(manifest, cache)
    return pdf, len(laid_out)


def test_the_front_matter_is_kept_until_what_it_shows_changes(book: Path,
                                                              tmp_path: Path) -> None:
    """The title pages and contents, written once, are taken from the cache while their HTML
    (titles, page numbers, the book's metadata) stays the same; a changed chapter title lays
    them out again, and the PDF is the one a build from nothing writes."""
    cache = tmp_path / "cache"
    first, laid_out = _front_laid_out(book, cache)
    assert laid_out == 1
    again, laid_out = _front_laid_out(book, cache)
    assert laid_out == 0 and again == first
    essay = load_book(book, Diagnostics()).chapters[2].source
    text = essay.read_text("utf-8")
    title = next(line for line in text.splitlines() if line.startswith("# "))
    essay.write_text(text.replace(title, "# A Title Changed by the Test", 1), "utf-8")
    changed, laid_out = _front_laid_out(book, cache)
    assert laid_out == 1
    contents = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(changed)).pages[:8])
    assert "Title Changed by the" in contents.replace("\xa0", " "), contents
    anew, _ = _typeset(book, tmp_path / "another cache")
    assert changed == anew


def test_a_kept_piece_reports_again_what_its_layout_found(book: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A warning WeasyPrint gave while a piece or the front matter was laid out or written is
    reported again when it comes from the cache: a build's findings (and so `--strict`) do not
    depend on what the cache holds. Every document laid out here logs a warning naming it, as
    WeasyPrint logs one about what it cannot set."""
    import hashlib
    import logging

    from chapbook.layout import typesetter

    render = typesetter.Typesetter.render

    def warning_render(self: typesetter.Typesetter, html: str, extra_css: str = "") -> Any:
        with typesetter.captured_logs(self.diagnostics, self.book.manifest.path):
            logging.getLogger("weasyprint").warning(
                "cannot set document %s", hashlib.sha256(html.encode()).hexdigest()[:12])
        return render(self, html, extra_css)

    monkeypatch.setattr(typesetter.Typesetter, "render", warning_render)
    cache = tmp_path / "cache"

    def build() -> tuple[set[str], list[parallel.LaidPiece]]:
        found = Diagnostics()
        _, laid = typeset_pieces(book, found, piece_words=PIECE_WORDS, jobs=1, cache=cache)
        return {f.message for f in found.findings}, laid

    build()  # (the front matter's length, known from here on, spares its first layout)
    shutil.rmtree(cache / "pieces")
    laid_out, laid = build()
    assert not any(piece.cached for piece in laid)
    kept, laid = build()
    assert all(piece.cached for piece in laid)
    assert len(laid_out) >= len(laid) + 1  # a warning for each piece and the front matter
    assert kept == laid_out


def test_a_part_written_in_two_halves_is_kept_whole_and_each_half_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index, written in two halves at once (layout/parallel.py), is kept as its two
    PDFs: a half that does not match its digest has the index laid out again, and a build
    after that takes both halves."""
    monkeypatch.setattr(parallel, "SPLIT_FROM_PAGES", 2)
    manifest = field_notes_indexed_closely(tmp_path / "field-notes")
    cache = tmp_path / "cache"
    first, laid = _typeset(manifest, cache)
    assert len(laid[-1].pdfs or []) == 2
    pdfs = [path for path in (cache / "pieces").glob("*.entry")
            if b"%PDF-" in path.read_bytes()[:200]]
    # the last piece kept (the pieces are kept in order once the front matter is)
    newest = max(pdfs, key=lambda path: path.stat().st_mtime_ns)
    data = bytearray(newest.read_bytes())
    data[-200] ^= 0x01
    newest.write_bytes(bytes(data))
    second, laid = _typeset(manifest, cache)
    assert [index for index, piece in enumerate(laid) if not piece.cached] == [len(laid) - 1]
    assert second == first
    third, laid = _typeset(manifest, cache)
    assert all(piece.cached for piece in laid) and len(laid[-1].pdfs or []) == 2
    assert third == first


def test_a_part_kept_whole_is_not_taken_where_it_is_written_in_halves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether a part is written in halves depends on its being the book's last piece, which
    its key does not say: the glossary kept whole, from a build where the index followed it,
    is laid out again once it is the last part, and the PDF is the one a build from nothing
    writes (it was the whole glossary taken from the cache: found by a review helper)."""
    monkeypatch.setattr(parallel, "SPLIT_FROM_PAGES", 2)
    manifest = field_notes_indexed_closely(tmp_path / "field-notes")
    glossary = manifest.parent / "glossary.yml"
    words = re.findall(r'heading: "([a-z]+)"', (manifest.parent / "index.yml").read_text("utf-8"))
    definition = "A word of the field notes, defined at length for the test. " * 5
    with glossary.open("a", encoding="utf-8") as terms:  # a glossary of several pages
        terms.writelines(f"\n  - term: {word}\n    definition: >-\n      {definition}\n"
                         for word in words[:40])
    cache = tmp_path / "cache"
    _, laid = _typeset(manifest, cache)
    assert laid[-2].length >= 2 and len(laid[-2].pdfs or []) == 1  # not the last part: whole
    text = manifest.read_text("utf-8")
    manifest.write_text(text.replace("back_matter: [glossary, index]",
                                     "back_matter: [glossary]"), "utf-8")
    after, laid = _typeset(manifest, cache)
    assert not laid[-1].cached and len(laid[-1].pdfs or []) == 2
    fresh, _ = _typeset(manifest, tmp_path / "another cache")
    assert after == fresh


def test_a_kept_pieces_missing_glyph_is_reported_at_its_line_now(tmp_path: Path) -> None:
    """A piece taken from the cache reported again the missing glyph its layout had found, at
    the line the character stood on then: blank lines added above it, the next build warned at
    the old line and the new one ("2 warning(s)"), where a build from nothing warns once."""
    from .conftest import run_cli

    book = tmp_path / "book"
    shutil.copytree(ROOTS / "field-notes", book)
    essay = book / "essays" / "01-introduction.md"
    essay.write_text(essay.read_text("utf-8") + "\nThe Tifinagh letter ⴰ appears once.\n",
                     "utf-8")
    lines = len(essay.read_text("utf-8").splitlines())
    first = run_cli("build", "pdf", "--book", str(book / "book.yml"), "--out",
                    str(tmp_path / "out"))
    assert f"01-introduction.md:{lines}: warning: no font" in first.stderr, first.stderr
    title, rest = essay.read_text("utf-8").split("\n", 1)
    essay.write_text(f"{title}\n\n\n{rest}", "utf-8")  # the same HTML, two lines later
    again = run_cli("build", "pdf", "--book", str(book / "book.yml"), "--out",
                    str(tmp_path / "out"))
    glyphs = [line for line in again.stderr.splitlines() if "[missing-glyph]" in line]
    assert len(glyphs) == 1 and f"01-introduction.md:{lines + 2}:" in glyphs[0], glyphs
