"""The print edition read back with pypdf: order, page numbers, openers, heads, bookmarks."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from chapbook.build import load_book
from chapbook.diagnostics import Diagnostics

from .conftest import BUNDLED, build

MOJIBAKE = ("â€", "Ã©", "Ã")


def squash(text: str) -> str:
    """Page text with hyphenation and line breaks undone, for phrase searches."""
    text = re.sub(r"[-\u00ad\u2010]\n", "", text)
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def pdf(bundled: dict[str, Path]) -> PdfReader:
    return PdfReader(bundled["pdf"])


@pytest.fixture(scope="module")
def pages(pdf: PdfReader) -> list[str]:
    return [squash(page.extract_text()) for page in pdf.pages]


@pytest.fixture(scope="module")
def book():
    return load_book(BUNDLED, Diagnostics())


def outline_pages(pdf: PdfReader) -> list[tuple[str, int]]:
    """(title, 1-based page) of every bookmark, in order."""
    found: list[tuple[str, int]] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found.append((item.title.strip(), pdf.get_destination_page_number(item) + 1))
    walk(pdf.outline)
    return found


def chapter_start(pages: list[str], number: int, title: str) -> int:
    """The 1-based page whose text opens with the chapter's label and title."""
    hits = [i + 1 for i, text in enumerate(pages)
            if f"CHAPTER {number}" in text.upper() and title[:40] in text]
    assert hits, f"chapter {number} not found"
    return hits[0]


def test_chapter_titles_appear_in_manifest_order(pages: list[str], book) -> None:
    starts = [chapter_start(pages, c.number, c.title) for c in book.chapters]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_chapters_and_parts_open_on_recto_pages(pages: list[str], book) -> None:
    for chapter in book.chapters:
        assert chapter_start(pages, chapter.number, chapter.title) % 2 == 1, chapter.title
    for part in book.parts:
        [opener] = [i + 1 for i, t in enumerate(pages) if t.strip().startswith("PART ")
                    and part.title in t and "Contents" not in t]
        assert opener % 2 == 1


def test_toc_page_numbers_are_the_real_start_pages(pdf: PdfReader, pages: list[str],
                                                   book) -> None:
    [toc_index] = [i for i, t in enumerate(pages) if t.strip().startswith("Contents")]
    toc_text = pdf.pages[toc_index].extract_text()
    for chapter in book.chapters:
        start = chapter_start(pages, chapter.number, chapter.title)
        last_words = chapter.title.split()[-1]
        match = re.search(re.escape(last_words) + r"[\s.]*?(\d+)\s*$", toc_text, re.M)
        assert match, f"no TOC line for {chapter.title}"
        assert int(match.group(1)) == start, chapter.title


def test_blank_versos_are_truly_blank_and_openers_have_no_heads(pages: list[str], book) -> None:
    blank = 0
    for chapter in book.chapters:
        start = chapter_start(pages, chapter.number, chapter.title)
        before = pages[start - 2]
        # The page before an opener ends the previous text, or is left blank for the recto
        # opening: then it has nothing at all, no running head (the book's title on a verso)
        # and no folio.
        text_of_its_own = re.sub(r"\d+", "", before.replace(book.meta.title, "")).strip()
        if not text_of_its_own:
            assert before.strip() == "", f"page {start - 1} is blank but for {before!r}"
            blank += 1
        opener = pages[start - 1]
        assert not opener.strip().endswith(str(start)), "folio on a chapter opener"
        assert book.meta.title not in opener.split("CHAPTER")[0]
    assert blank >= 1, "no chapter opener follows a blank verso: the test checked nothing"


def test_running_heads_and_folios(pdf: PdfReader, pages: list[str], book) -> None:
    starts = {chapter_start(pages, c.number, c.title): c for c in book.chapters}
    back = dict(outline_pages(pdf))["Glossary"]
    checked = 0
    for number, text in enumerate(pages, 1):
        if number in starts or number <= 8 or number >= back or not text.strip():
            continue
        chapter = next((c for s, c in sorted(starts.items(), reverse=True) if s < number), None)
        if chapter is None or text.strip().startswith("PART"):
            continue
        # pypdf gives margin boxes after the body text, so look for the heads anywhere
        if number % 2 == 0:
            assert book.meta.title in text, number
        else:
            assert chapter.running_head in text and book.meta.title not in text, number
        assert re.search(rf"\b{number}\s*$", text), f"no folio on page {number}"
        checked += 1
    assert checked >= 5


def test_bookmarks_name_every_part_and_chapter(pdf: PdfReader, pages: list[str], book) -> None:
    titles = outline_pages(pdf)
    names = [t for t, _ in titles]
    assert names[0] == "Contents" and names[-2:] == ["Glossary", "Index"]
    for part in book.parts:
        assert any(part.title in n for n in names)
    for chapter in book.chapters:
        [(_, page)] = [(n, p) for n, p in titles if n.strip() == chapter.title]
        assert page == chapter_start(pages, chapter.number, chapter.title)


def test_metadata(pdf: PdfReader, book) -> None:
    info = pdf.metadata
    assert info.title.startswith(book.meta.title)
    assert info.author == book.meta.author
    assert info.subject == book.meta.description
    assert "NATO" in (info.get("/Keywords") or "")
    catalog = pdf.trailer["/Root"]
    assert catalog.get("/Lang") == book.meta.language


def test_every_edition_takes_the_one_build_time(pdf: PdfReader, bundled: dict[str, Path]) -> None:
    """SOURCE_DATE_EPOCH (the shared builds': 2026-01-01) in the PDF's dates, the HTML's and
    the EPUB's: the PDF and the HTML carried the manifest's date whatever the build time, while
    the EPUB took the build time (a newcomer's book)."""
    import zipfile

    from lxml import etree, html

    from .conftest import SHARED_EPOCH

    stamp = datetime.fromtimestamp(int(SHARED_EPOCH), UTC)
    info = pdf.metadata
    for key in ("/CreationDate", "/ModDate"):
        assert info.get(key, "").startswith(stamp.strftime("D:%Y%m%d%H%M%S")), (key, info)
    page = html.fromstring(bundled["html"].read_bytes())
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    for name in ("dcterms.created", "dcterms.modified"):
        assert page.xpath(f"//meta[@name='{name}']/@content") == [iso], name
    with zipfile.ZipFile(bundled["epub"]) as archive:
        opf = etree.fromstring(archive.read(next(n for n in archive.namelist()
                                                 if n.endswith(".opf"))))
    assert opf.xpath("//*[local-name()='meta'][@property='dcterms:modified']/text()") == [iso]


def test_page_size_is_a5(pdf: PdfReader) -> None:
    box = pdf.pages[10].mediabox
    assert round(float(box.width) / 72 * 25.4) == 148
    assert round(float(box.height) / 72 * 25.4) == 210


def test_fonts_are_the_shipped_ones_and_embedded(pdf: PdfReader) -> None:
    names = set()
    for page in pdf.pages[:14]:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            names.add(str(font.get("/BaseFont")))
            descendant = font.get("/DescendantFonts")
            descriptor = (descendant[0].get_object() if descendant else font).get("/FontDescriptor")
            if descriptor is not None:
                descriptor = descriptor.get_object()
                assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert any("Charis-SIL" in n for n in names) and any("+Inter" in n for n in names)
    assert not any("DejaVu" in n or "Liberation" in n for n in names)


def deflated_at_level_9(data: bytes) -> int:
    """Streams deflated at zlib's level 9 (whose header is 78 DA), as pydyf deflates them: a
    book written whole is deflated by pydyf at zlib's default level (layout/compat.py), a book
    in pieces by pikepdf as it combines them (pdf/combine.py), from pieces written without
    deflating; level 9 took a fifth of writing a piece."""
    pdf = pikepdf.open(io.BytesIO(data))
    return sum(1 for item in pdf.objects if isinstance(item, pikepdf.Stream)
               and item.get("/Filter") == pikepdf.Name.FlateDecode
               and item.read_raw_bytes()[:2] == b"\x78\xda")


def test_the_reading_editions_streams_are_not_deflated_at_level_9(bundled: dict[str, Path]) -> None:
    assert deflated_at_level_9(bundled["pdf"].read_bytes()) == 0


def test_no_mojibake_and_repair_applied(pages: list[str]) -> None:
    text = " ".join(pages)
    assert not any(bad in text for bad in MOJIBAKE)
    assert "Nation’s active role" in text


def test_footnotes_sit_at_the_foot_of_their_page(tmp_path: Path) -> None:
    manifest = Path(__file__).parent / "roots" / "edge" / "book.yml"
    assert build(manifest, tmp_path, "pdf") == 0
    reader = PdfReader(tmp_path / "edge-cases.pdf")
    pages = [squash(p.extract_text()) for p in reader.pages]
    [page] = [t for t in pages if "carries a note" in t]
    assert page.index("carries a note") < page.index("The first note, with emphasis")
    assert "An inline note, in the text." in page
    assert "nation’s interests" in page and "â€" not in page
    assert "Written on Windows" in page and "\ufeff" not in page


def test_the_epub_named_before_the_pdf_still_takes_the_pdfs_layout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`chapbook build epub pdf` laid the book out twice: once for the EPUB's page list, without
    writing, then again to write the PDF. The editions are built in their own order, PDF first,
    so both come from one layout, whichever is named first; the EPUB lays out nothing of its
    own (its cover is the PDF's first page)."""
    from chapbook.build import build as build_book
    from chapbook.layout.typesetter import Typesetter
    from chapbook.options import BuildOptions

    from .conftest import ROOTS

    renders: list[int] = []
    render = Typesetter.render
    monkeypatch.setattr(Typesetter, "render",
                        lambda self, *a, **k: renders.append(1) or render(self, *a, **k))

    def count(editions: tuple[str, ...], out: Path) -> int:
        renders.clear()
        built = build_book(BuildOptions(ROOTS / "edge" / "book.yml", out, editions, jobs=0),
                           Diagnostics())
        assert set(built.outputs) == set(editions)
        return len(renders)

    alone = count(("pdf",), tmp_path / "pdf")
    pdf_first = count(("pdf", "epub"), tmp_path / "pdf-first")
    assert alone == pdf_first
    assert count(("epub", "pdf"), tmp_path / "epub-first") == pdf_first



def test_display_titles_never_end_on_a_word_alone(tmp_path: Path) -> None:
    """Issue 14: "A Commentary on the Principles of the New / Constitution" on the title page
    and the cover; the last two words of a display title are bound together."""
    import subprocess
    from xml.etree import ElementTree

    from .test_untrusted import small_book

    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nText.\n"})
    manifest.write_text(manifest.read_text().replace(
        "title: Small", 'title: "A Commentary on the Principles of the New Constitution"'))
    assert build(manifest, tmp_path / "out", "pdf") == 0
    for page in ("1", "3"):  # the cover, the title page
        layout = subprocess.run(["pdftotext", "-bbox-layout", "-f", page, "-l", page,
                                 str(tmp_path / "out" / "small.pdf"), "-"],
                                capture_output=True, text=True, check=True).stdout
        lines = [[word.text for word in line if word.tag.endswith("word")]
                 for line in ElementTree.fromstring(layout).iter() if line.tag.endswith("line")]
        assert ["Constitution"] not in lines, lines
        assert any(line[-2:] == ["New", "Constitution"] for line in lines), lines


@pytest.mark.parametrize(("book", "options"), [("bundled", {}),
                                               ("field-notes", {"jobs": 1, "piece_words": 400}),
                                               ("field-notes", {"jobs": 0, "piece_words": 400})])
def test_a_build_counts_the_pages_of_its_pdf_as_it_writes_it(
        book: str, options: dict[str, int], tmp_path: Path) -> None:
    """The summary's page count comes from the layout (whole, or combined from pieces), not from
    reading the file back with pikepdf, whose import at the very end of a booklet's build was
    its peak of memory: the count must be the file's."""
    from chapbook.build import build as build_book
    from chapbook.options import BuildOptions

    from .conftest import ROOTS

    manifest = BUNDLED if book == "bundled" else ROOTS / book / "book.yml"
    built = build_book(BuildOptions(manifest, tmp_path, ("pdf", "print"), **options),
                       Diagnostics())
    for edition in ("pdf", "print"):
        assert built.page_counts[edition] == len(PdfReader(built.outputs[edition]).pages) > 8


def test_a_short_book_is_built_without_loading_pikepdf(tmp_path: Path) -> None:
    """pikepdf (6.5 MiB) is for a book in pieces and the booklet's imposition: the bundled book's
    PDF, written whole, with its summary, never loads it."""
    import subprocess
    import sys

    script = ("import sys; from chapbook.cli import main; "
              f"main(['build', 'pdf', '--book', {str(BUNDLED)!r}, '--out', {str(tmp_path)!r}]); "
              "print('pikepdf' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.stdout.split()[-1] == "False", result.stderr
    assert (tmp_path / "defence-diplomacy-briefing.pdf").is_file()
