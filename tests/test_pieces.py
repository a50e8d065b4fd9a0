"""A long book is written as PDF pieces by forked processes and combined: the combined PDF must
be the same book as one written whole, page for page, link for link, bookmark for bookmark."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from chapbook.build import load_book
from chapbook.diagnostics import Diagnostics
from chapbook.layout.paginate import typeset

from .conftest import BUNDLED, SHARED_EPOCH, run_cli


def _outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    def walk(items: list, depth: int) -> list[tuple[int, str, int]]:
        found = []
        for item in items:
            if isinstance(item, list):
                found += walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item)))
        return found
    return walk(reader.outline, 0)


def _links(reader: PdfReader) -> list[tuple[int, str, list[float]]]:
    return [(number, str(annotation["/Dest"]), [round(float(v), 2) for v in annotation["/Rect"]])
            for number, page in enumerate(reader.pages)
            for annotation in (a.get_object() for a in page.get("/Annots") or [])
            if "/Dest" in annotation]


def _structure(data: bytes) -> list[str]:
    """The structure tree's element types, depth first, after checking that every page and
    link annotation is tied into it."""
    pdf = pikepdf.open(io.BytesIO(data))
    tree = pdf.Root.StructTreeRoot
    parents = pikepdf.NumberTree(tree.ParentTree)
    for page in pdf.pages:
        assert int(page.obj.StructParents) in parents
        for annotation in page.obj.get("/Annots", []):
            element = parents[int(annotation.StructParent)]
            kids = element.K if isinstance(element.K, pikepdf.Array) else [element.K]
            assert any(isinstance(kid, pikepdf.Dictionary) and kid.get("/Obj") == annotation
                       for kid in kids)
    types: list[str] = []
    stack = [tree.K[0]]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary) and "/S" in node:
            types.append(str(node.S))
            kids = node.get("/K")
            if isinstance(kids, pikepdf.Array):
                stack.extend(reversed(list(kids)))
            elif kids is not None:
                stack.append(kids)
    return types


@pytest.fixture(scope="module")
def whole_and_pieces(built, tmp_path_factory: pytest.TempPathFactory,
                     ) -> tuple[bytes, bytes, str]:
    """The bundled book as the build writes it (in a share for each worker and a piece for each
    part of the back matter) and built with pieces of 100 words (`--piece-words 100`): every
    chapter a piece. The third item is what that build said."""
    whole = (built("bundled")[0] / "defence-diplomacy-briefing.pdf").read_bytes()
    out = tmp_path_factory.mktemp("pieces")
    result = run_cli("build", "pdf", "--piece-words", "100", "--jobs", "2", "--book",
                     str(BUNDLED), "--out", str(out), env={"SOURCE_DATE_EPOCH": SHARED_EPOCH})
    assert result.returncode == 0, result.stderr
    pieces = (out / "defence-diplomacy-briefing.pdf").read_bytes()
    # Built at the shared build's time, the same pieces would be byte for byte the shared PDF.
    assert pieces != whole, "--piece-words 100 wrote the book in the same pieces"
    return whole, pieces, result.stderr


def test_pieces_make_the_same_pages(whole_and_pieces: tuple[bytes, bytes, str]) -> None:
    whole, pieces, said = whole_and_pieces
    assert "warning" not in said and "error" not in said
    one, many = PdfReader(io.BytesIO(whole)), PdfReader(io.BytesIO(pieces))
    assert len(many.pages) == len(one.pages) > 20
    assert [p.extract_text() for p in many.pages] == [p.extract_text() for p in one.pages]
    assert one.metadata.title == many.metadata.title
    assert many.trailer["/Root"]["/Lang"] == one.trailer["/Root"]["/Lang"]


def test_pieces_keep_links_destinations_and_bookmarks(
        whole_and_pieces: tuple[bytes, bytes, str]) -> None:
    whole, pieces, _ = whole_and_pieces
    one, many = PdfReader(io.BytesIO(whole)), PdfReader(io.BytesIO(pieces))
    assert _outline(many) == _outline(one)
    assert len({depth for depth, _, _ in _outline(many)}) >= 2  # parts hold chapters again
    destinations = {name: many.get_destination_page_number(d)
                    for name, d in many.named_destinations.items()}
    assert destinations == {name: one.get_destination_page_number(d)
                            for name, d in one.named_destinations.items()}
    links = _links(many)
    assert links == _links(one)
    # links that cross pieces: from the chapters into the glossary at the back
    assert any(target.startswith("glossary-") for _, target, _ in links)
    assert all(target in destinations for _, target, _ in links)


def test_pieces_keep_one_structure_tree(
        whole_and_pieces: tuple[bytes, bytes, str]) -> None:
    whole, pieces, _ = whole_and_pieces
    assert _structure(pieces) == _structure(whole)


@pytest.mark.parametrize(("option", "value"), [("--jobs", "-1"), ("--piece-words", "5")])
def test_jobs_and_piece_size_options_are_checked(tmp_path: Path, option: str,
                                                 value: str) -> None:
    result = run_cli("build", "pdf", option, value, "--book", str(BUNDLED), "--out",
                     str(tmp_path))
    assert result.returncode != 0 and option in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "defence-diplomacy-briefing.pdf").exists()


def test_print_edition_embeds_each_face_once_whatever_the_piece_size(built) -> None:
    from chapbook.layout.paginate import PRINT_SHOP
    book = load_book(BUNDLED, Diagnostics())
    whole = (built("bundled")[0] / "defence-diplomacy-briefing-print.pdf").read_bytes()
    # pieces of a third of the book would each embed their own subset of every face: the print
    # shop's edition is written whole however small the pieces asked for
    pieces = typeset(book, Diagnostics(), PRINT_SHOP, piece_words=book.word_count // 3,
                     jobs=1).pdf
    assert whole is not None and pieces is not None

    def fonts(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
        return {descriptor[key].objgen for page in pdf.pages
                for font in page.Resources.get("/Font", {}).values()
                for descendant in font.get("/DescendantFonts", [font])
                if (descriptor := descendant.get("/FontDescriptor")) is not None
                for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor}

    one, many = pikepdf.open(io.BytesIO(whole)), pikepdf.open(io.BytesIO(pieces))
    assert len(fonts(many)) == len(fonts(one)) > 0
    assert "/OutputIntents" in many.Root
    with one.open_metadata() as a, many.open_metadata() as b:
        assert b["xmpMM:DocumentID"] == a["xmpMM:DocumentID"]
        assert b["pdfxid:GTS_PDFXVersion"] == "PDF/X-4"
    assert [p.extract_text() for p in PdfReader(io.BytesIO(pieces)).pages] == \
        [p.extract_text() for p in PdfReader(io.BytesIO(whole)).pages]


def _essays_book(folder: Path, essays: dict[str, str]) -> Path:
    from .test_untrusted import small_book
    return small_book(folder, essays)


def test_a_chapter_longer_than_a_piece_has_a_piece_of_its_own(tmp_path: Path) -> None:
    """A run is closed before a chapter that fills a piece alone: the short preface before a
    long essay is laid out again only when it changes, not with every edit of the essay (and
    the other way round)."""
    from chapbook.layout.paginate import pieces

    words = " ".join(["word"] * 40)
    essays = {"preface.md": f"# Preface\n\n{words}\n",
              "long.md": "# Long\n\n" + f"{words}\n\n" * 30,
              "after.md": f"# After\n\n{words}\n", "sources.md": f"# Sources\n\n{words}\n"}
    book = load_book(_essays_book(tmp_path / "book", essays), Diagnostics())
    runs = [[segment.chapter.id for segment in run if segment.chapter]
            for run in pieces(book, 600)]
    assert runs == [["preface"], ["long"], ["after", "sources"]]


def test_notes_and_table_cells_weigh_in_a_pieces_size(tmp_path: Path) -> None:
    """A piece is sized by what laying it out costs, not by its running text alone: a note's
    words count four times and a table's cell as ten words (measured: prose of 62,000 words
    took 9.6 s to lay out and write; 14,600 words with 7,400 table cells, 15.6 s; 25,000 words
    with 25,000 more in 600 notes, 21.5 s). Pieces of such chapters were four times as long to
    lay out as the others, and an edit laid out most of the book again."""
    from chapbook.layout.paginate import pieces

    words = " ".join(["word"] * 50)
    table = "| a | b | c |\n|---|---|---|\n" + "| 1 | 2 | 3 |\n" * 20
    essays = {"prose.md": f"# Prose\n\n{words}\n",
              "notes.md": f"# Notes\n\n{words}[^1]\n\n[^1]: {words}\n",
              "ledgers.md": f"# Ledgers\n\n{words}\n\n{table}"}
    book = load_book(_essays_book(tmp_path / "book", essays), Diagnostics())
    weight = {chapter.id: chapter.layout_words for chapter in book.chapters}
    assert weight["prose"] == book.chapters[0].word_count == 50
    assert weight["notes"] == 50 + 4 * 50
    assert weight["ledgers"] == book.chapters[2].word_count + 10 * 63
    runs = [[segment.chapter.id for segment in run if segment.chapter]
            for run in pieces(book, 400)]
    assert runs == [["prose", "notes"], ["ledgers"]]
