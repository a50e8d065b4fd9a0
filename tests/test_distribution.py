"""Ready to distribute: the folded booklet, the print-shop PDF, accessible PDF and EPUB, and
reproducible builds."""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from lxml import etree
from pypdf import PdfReader

from chapbook.cache import DataCache, _secret
from chapbook.cache_codec import Codec
from chapbook.model.pages import PageMap, PageStart
from chapbook.pdf.impose import impose, imposition, signatures

from .conftest import BUNDLED, ROOTS, SHARED_EDITIONS, SHARED_EPOCH, build, run_cli

MM = 72 / 25.4
SLUG = "defence-diplomacy-briefing"


@pytest.fixture(scope="module")
def editions(built) -> Path:
    return built("bundled")[0]


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def poppler_text(pdf: Path, page: int) -> str:
    return words(subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                                capture_output=True, text=True, check=True).stdout)


def half_text(pdf: Path, page: int, left: bool, width: float, height: float) -> str:
    """The text of one half of an imposed sheet side, as poppler reads it in that crop box."""
    x = 0 if left else int(width / 2)
    result = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-x", str(x),
                             "-y", "0", "-W", str(int(width / 2)), "-H", str(int(height)),
                             str(pdf), "-"], capture_output=True, text=True, check=True)
    return words(result.stdout)


def test_imposition_order_folds_into_the_booklet() -> None:
    assert imposition(8) == [(7, 0), (1, 6), (5, 2), (3, 4)]
    sides = imposition(5)  # padded to 8: the three blanks go at the end, after the last page
    assert sides == [(None, 0), (1, None), (None, 2), (3, 4)]
    assert sorted(p for side in imposition(12) for p in side if p is not None) == list(range(12))


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_booklet_sheets_read_in_fold_order(editions: Path) -> None:
    source = PdfReader(editions / f"{SLUG}.pdf")
    booklet = PdfReader(editions / f"{SLUG}-booklet.pdf")
    count = len(source.pages)
    # the reading PDF's pages drawn as they are, their fonts shared: not a second copy of each
    assert (editions / f"{SLUG}-booklet.pdf").stat().st_size \
        <= 1.2 * (editions / f"{SLUG}.pdf").stat().st_size
    padded = -(-count // 4) * 4
    assert len(booklet.pages) == padded // 2
    box = booklet.pages[0].mediabox
    assert round(float(box.width) / MM) == 297 and round(float(box.height) / MM) == 210
    texts = [poppler_text(editions / f"{SLUG}.pdf", n) for n in range(1, count + 1)]
    found: dict[int, int] = {}
    for number in range(1, len(booklet.pages) + 1):
        for left in (True, False):
            text = half_text(editions / f"{SLUG}-booklet.pdf", number, left,
                             float(box.width), float(box.height))
            if not text:
                continue
            matches = [i for i, t in enumerate(texts) if t and t[:60] in text]
            assert len(matches) >= 1, text[:80]
            found[min(matches, key=lambda i: abs(len(texts[i]) - len(text)))] = number
    # every page with text lies on the side the fold order puts it on
    for index, side in enumerate(imposition(count), 1):
        for page in side:
            if page is not None and texts[page]:
                assert found.get(page) == index, (page + 1, index)


def labelled_pages(count: int) -> bytes:
    """An A5 PDF of `count` pages, each printing only its label P1, P2, …"""
    import weasyprint

    pdf = io.BytesIO()
    weasyprint.HTML(string="".join(f'<p style="break-after: page">P{n}</p>'
                                   for n in range(1, count + 1))).write_pdf(
        pdf, stylesheets=[weasyprint.CSS(string="@page { size: A5; margin: 20mm }")])
    return pdf.getvalue()


def placed_labels(pdf: bytes) -> list[dict[str, float]]:
    """Each sheet side's page labels and their x positions, as poppler reads them."""
    result = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True,
                            check=True)
    root = etree.fromstring(result.stdout, etree.XMLParser(recover=True))
    return [{word.text: float(word.get("xMin")) for word in page.iter("{*}word")}
            for page in root.iter("{*}page")]


def folded_order(sides: list[dict[str, float]], spine: float, sizes: list[int]) -> list[str]:
    """The labels in the order a reader meets them once the sheets of each signature (`sizes`:
    sheets in each) are folded together, outermost first, and the signatures gathered: the
    front's right half and the back's left half of each sheet going in, then the back's right
    and the front's left coming out."""
    def half(side: dict[str, float], right: bool) -> list[str]:
        return [label for label, x in side.items() if (x >= spine) == right]

    order: list[str] = []
    sheets = list(zip(sides[::2], sides[1::2], strict=True))
    for size in sizes:
        signature, sheets = sheets[:size], sheets[size:]
        order += [label for f, b in signature for label in half(f, True) + half(b, False)]
        order += [label for f, b in reversed(signature) for label in half(b, True) + half(f, False)]
    assert not sheets
    return order


@pytest.mark.parametrize(("count", "sheets"), [(8, None), (20, 2), (23, 3), (70, None)])
def test_signatures_fold_into_the_book_in_order(count: int, sheets: int | None) -> None:
    booklet = impose(labelled_pages(count), sheets=sheets)
    sides = placed_labels(booklet)
    spine = 297 * MM / 2
    expected = signatures(count, sheets)
    folded = folded_order(sides, spine, [size for _, size in expected])
    assert folded == [f"P{n}" for n in range(1, count + 1)]
    assert len(sides) == 2 * sum(size for _, size in expected)
    if sheets is not None:  # every signature as asked, the last one takes what is left
        assert all(size == sheets for _, size in expected[:-1])
        assert 0 < expected[-1][1] <= sheets
    else:
        assert len(expected) == (1 if count <= 64 else -(-count // 32))
        sizes = {size for _, size in expected}
        assert max(sizes) <= 16 and max(sizes) - min(sizes) <= 1  # as even as they can be


def test_right_to_left_binding_and_creep() -> None:
    pdf = labelled_pages(8)
    plain = placed_labels(impose(pdf))
    rtl = placed_labels(impose(pdf, right_to_left=True))
    assert plain[0]["P8"] < plain[0]["P1"]  # the first page right of the spine, read leftwards
    assert rtl[0]["P1"] < rtl[0]["P8"]  # bound on the right: the first page sits left of it
    crept = placed_labels(impose(pdf, creep_mm=1.0))
    # the second sheet (sides 3 and 4) moves 1 mm away from the spine on both halves
    assert crept[2]["P6"] == pytest.approx(plain[2]["P6"] - MM, abs=0.05)
    assert crept[2]["P3"] == pytest.approx(plain[2]["P3"] + MM, abs=0.05)
    assert crept[0]["P1"] == pytest.approx(plain[0]["P1"], abs=0.05)
    # creep starts again in each signature: its outermost sheet does not move
    two = placed_labels(impose(labelled_pages(16), creep_mm=1.0, sheets=2))
    flat = placed_labels(impose(labelled_pages(16), sheets=2))
    assert two[4]["P9"] == pytest.approx(flat[4]["P9"], abs=0.05)
    assert two[6]["P11"] == pytest.approx(flat[6]["P11"] + MM, abs=0.05)


def test_print_edition_has_bleed_marks_and_pdfx(editions: Path) -> None:
    pdf = pikepdf.open(editions / f"{SLUG}-print.pdf")
    for page in pdf.pages:
        trim = [float(v) for v in page.TrimBox]
        media = [float(v) for v in page.MediaBox]
        bleed = [float(v) for v in page.BleedBox]
        assert round((trim[2] - trim[0]) / MM) == 148 and round((trim[3] - trim[1]) / MM) == 210
        assert media[0] == pytest.approx(trim[0] - 3 * MM, abs=0.01)
        assert media[2] == pytest.approx(trim[2] + 3 * MM, abs=0.01)
        assert bleed[0] <= trim[0] and bleed[2] >= trim[2]
    [intent] = pdf.Root.OutputIntents
    assert intent.S == "/GTS_PDFX"
    assert "PDF/X-4" in str(pdf.open_metadata().get("pdfx:GTS_PDFXVersion", ""))
    shipped = {p.stat().st_size for p in (BUNDLED.parents[1] / "styles" / "fonts").iterdir()}
    faces: dict[str, set[int]] = {}
    for page in pdf.pages:  # every font subset (PDF/X-4 allows it), each face embedded once
        for font in page.Resources.get("/Font", {}).values():
            descriptor = font.DescendantFonts[0].FontDescriptor
            embedded = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
            assert len(embedded.read_bytes()) not in shipped, str(font.BaseFont)
            assert re.fullmatch(r"/[A-Z]{6}\+\S+", str(font.BaseFont)), str(font.BaseFont)
            faces.setdefault(str(font.BaseFont)[8:], set()).add(embedded.objgen)
    assert faces and all(len(streams) == 1 for streams in faces.values()), faces
    reading = (editions / f"{SLUG}.pdf").stat().st_size
    assert (editions / f"{SLUG}-print.pdf").stat().st_size <= 1.5 * reading
    # crop marks: ink in the bleed of a body page (where nothing else prints), outside the trim
    document = pypdfium2.PdfDocument(str(editions / f"{SLUG}-print.pdf"))
    image = document[11].render(scale=2).to_pil().convert("L")
    bleed = int(3 * MM * 2) - 1
    assert image.crop((0, 0, image.width, bleed)).getextrema()[0] < 128
    assert image.crop((0, 0, bleed, image.height)).getextrema()[0] < 128
    reading = pypdfium2.PdfDocument(str(editions / f"{SLUG}.pdf"))
    trimmed = reading[11].render(scale=2).to_pil().convert("L")
    assert trimmed.crop((0, 0, trimmed.width, bleed)).getextrema()[0] > 200  # no marks there


def test_reading_pdf_is_tagged_pdf_ua(editions: Path) -> None:
    pdf = pikepdf.open(editions / f"{SLUG}.pdf")
    assert pdf.Root.MarkInfo.Marked is True
    assert str(pdf.Root.Lang) == "en-GB"
    assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
    assert "pdfuaid" in str(pdf.Root.Metadata.read_bytes())
    levels: list[int] = []

    def walk(node) -> None:
        if isinstance(node, pikepdf.Dictionary):
            tag = str(node.get("/S", ""))
            if re.fullmatch(r"/H[1-6]", tag):
                levels.append(int(tag[2]))
            kids = node.get("/K")
            for kid in (kids if isinstance(kids, pikepdf.Array) else [kids]):
                if isinstance(kid, pikepdf.Dictionary):
                    walk(kid)
    walk(pdf.Root.StructTreeRoot)
    assert levels and levels[0] == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
    assert levels.count(2) >= 5  # every chapter title
    # running heads and folios are pagination artifacts, out of the structure tree
    page = pdf.pages[11]
    marked = [(str(operands[0]), operands[1]) for operands, operator in
              pikepdf.parse_content_stream(page) if str(operator) == "BDC"]
    artifacts = [props for tag, props in marked if tag == "/Artifact"]
    assert len(artifacts) >= 2 and all("/MCID" not in props for props in artifacts)
    parents = pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree)[int(page.StructParents)]
    for tag, props in marked:
        if tag != "/Artifact":
            assert isinstance(parents[int(props.MCID)], pikepdf.Dictionary)


def test_epub_accessibility_metadata(editions: Path) -> None:
    archive = zipfile.ZipFile(editions / f"{SLUG}.epub")
    opf = etree.fromstring(archive.read("EPUB/content.opf"))
    meta = {}
    for element in opf.iter("{http://www.idpf.org/2007/opf}meta"):
        meta.setdefault(element.get("property"), []).append(element.text)
    assert meta["schema:accessMode"] == ["textual"]
    assert meta["schema:accessModeSufficient"] == ["textual"]
    assert {"structuralNavigation", "tableOfContents", "index"} <= set(
        meta["schema:accessibilityFeature"])
    assert meta["schema:accessibilityHazard"] == ["none"]
    assert meta["schema:accessibilitySummary"][0]
    assert meta["dcterms:conformsTo"][0].startswith("EPUB Accessibility 1.1")
    names = archive.namelist()
    assert names[0] == "mimetype" and archive.getinfo("mimetype").compress_type == 0
    assert names[1:] == sorted(names[1:])


def test_two_builds_in_different_folders_are_byte_identical(built, tmp_path: Path) -> None:
    """The shared build of the bundled book, and another of a copy of it elsewhere, made at the
    same SOURCE_DATE_EPOCH (conftest.SHARED_EPOCH) with every edition."""
    shutil.copytree(BUNDLED.parent, tmp_path / "book")
    env = {**os.environ, "SOURCE_DATE_EPOCH": SHARED_EPOCH}
    subprocess.run([str(Path(os.sys.executable).parent / "chapbook"), *("build", *SHARED_EDITIONS),
                    "--quiet", "--book", str(tmp_path / "book" / "book.yml"), "--out",
                    str(tmp_path / "out")], check=True, env=env)
    outputs = [built("bundled")[0], tmp_path / "out"]
    files = sorted(p.name for p in outputs[0].iterdir() if p.is_file() and p.name[0] != ".")
    assert len(files) == 5
    for name in files:
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    epub = zipfile.ZipFile(outputs[0] / f"{SLUG}.epub")
    assert {info.date_time for info in epub.infolist()} == {(2026, 1, 1, 0, 0, 0)}
    assert b"2026-01-01T00:00:00Z" in epub.read("EPUB/content.opf")


def test_the_booklet_is_imposed_from_the_reading_pdf_written_before(tmp_path: Path) -> None:
    book = tmp_path / "book"
    (book / "essays").mkdir(parents=True)
    (book / "book.yml").write_text(
        "slug: cited\nmetadata:\n  title: Cited\n  author: A. Writer\n  language: en\n"
        "  identifier: urn:uuid:6a1f3c2e-8b4d-4e5f-9a0b-1c2d3e4f5a6b\n  date: 2026-01-02\n"
        "bibliography: refs.bib\nchapters:\n  - file: essays/one.md\n", "utf-8")
    (book / "essays" / "one.md").write_text("# One\n\nAs argued [@smith2020].\n", "utf-8")
    bib = book / "refs.bib"
    bib.write_text("@book{smith2020, author = {Smith, Jane}, title = {Harbours Old},\n"
                   "  publisher = {Press}, year = {2020}}\n", "utf-8")
    out = tmp_path / "out"
    layouts = out / ".cache" / "layout"
    assert run_cli("build", "pdf", "--book", str(book / "book.yml"), "--out", str(out),
                   "--quiet").returncode == 0
    shutil.rmtree(layouts)
    assert run_cli("build", "booklet", "--book", str(book / "book.yml"), "--out", str(out),
                   "--quiet").returncode == 0
    assert not layouts.exists()  # the book was not laid out again: its PDF was imposed
    whole = subprocess.run(["pdftotext", str(out / "cited-booklet.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "Harbours Old" in whole
    # a changed bibliography makes the written PDF stale: the booklet is laid out afresh
    bib.write_text(bib.read_text("utf-8").replace("Harbours Old", "Harbours New"), "utf-8")
    assert run_cli("build", "booklet", "--book", str(book / "book.yml"), "--out", str(out),
                   "--quiet").returncode == 0
    assert layouts.exists()
    whole = subprocess.run(["pdftotext", str(out / "cited-booklet.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "Harbours New" in whole and "Harbours Old" not in whole


def test_edge_book_booklet_pads_with_blank_pages_at_the_end(tmp_path: Path) -> None:
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "pdf", "booklet") == 0
    source = len(PdfReader(tmp_path / "edge-cases.pdf").pages)
    sides = PdfReader(tmp_path / "edge-cases-booklet.pdf").pages
    assert len(sides) == -(-source // 4) * 4 // 2


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_epub_page_list_lands_where_the_print_pages_begin(editions: Path) -> None:
    archive = zipfile.ZipFile(editions / f"{SLUG}.epub")
    nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
    ns = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
    entries = [(a.text, a.get("href")) for a in
               nav.xpath("//x:nav[@epub:type='page-list']//x:a", namespaces=ns)]
    numbers = [int(label) for label, _ in entries]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers))
    pdf_pages = len(PdfReader(editions / f"{SLUG}.pdf").pages)
    blank = [n for n in range(1, pdf_pages + 1) if not poppler_text(editions / f"{SLUG}.pdf", n)]
    assert set(numbers) | set(blank) | {3} == set(range(1, pdf_pages + 1))  # 3: the half-title
    checked = 0
    for label, href in entries:
        name, _, fragment = href.partition("#")
        document = archive.read(f"EPUB/{name}").decode("utf-8")
        assert f'id="{fragment}"' in document and 'epub:type="pagebreak"' in document
        number = int(label)
        if not name.startswith(("cover", "title", "imprint", "nav", "part", "glossary",
                                "index")):
            after = words(re.sub(r"<[^>]+>", " ", document.split(f'id="{fragment}"', 1)[1]
                                 .split(">", 1)[1]))
            page = poppler_text(editions / f"{SLUG}.pdf", number)
            page = page.removeprefix("Defence Diplomacy").strip()
            first_words = " ".join(after.split()[:3])
            assert first_words.replace("’", "'").casefold() in \
                page.replace("’", "'").replace("‐ ", "").casefold(), \
                (number, first_words, page[:120])
            checked += 1
    assert checked >= 10
    opf = archive.read("EPUB/content.opf").decode()
    assert 'property="pageBreakSource"' in opf and "printPageNumbers" in opf


def test_epub_from_the_cached_page_map_is_the_epub_built_from_nothing(built,
                                                                     tmp_path: Path) -> None:
    """`make epub` after `make pdf` takes the page map and cover from build/.cache instead of
    laying the book out; what it writes must not differ from the shared build's EPUB (made with
    its own layout, from another folder), and a changed essay must not be served a stale map."""
    book = tmp_path / "book"
    shutil.copytree(BUNDLED.parent, book)
    manifest = book / "book.yml"

    def epub(out: Path, *first: str) -> bytes:
        for formats in (*first, "epub"):
            result = run_cli("build", formats, "--quiet", "--book", str(manifest), "--out",
                             str(out), env={"SOURCE_DATE_EPOCH": SHARED_EPOCH})
            assert result.returncode == 0, result.stderr
        return (out / f"{SLUG}.epub").read_bytes()

    warm = epub(tmp_path / "warm", "pdf")
    assert warm == (built("bundled")[0] / f"{SLUG}.epub").read_bytes()
    # The map is really taken from the cache: a doctored one shows in the EPUB.
    # (doctored as chapbook itself would write it: signed with this machine's key)
    [entry] = (tmp_path / "warm" / ".cache" / "layout").glob("*.entry")
    saved = entry.read_bytes()
    codec = Codec((PageMap, PageStart))
    page_map = codec.loads(saved.partition(b"\n")[2])
    page_map.starts = page_map.starts[:3]
    body = codec.dumps(page_map)
    secret = _secret()
    assert secret is not None
    entry.write_bytes(DataCache._tag(secret, entry.stem, body) + b"\n" + body)
    assert epub(tmp_path / "warm") != warm
    entry.write_bytes(saved)
    essay = sorted((book / "essays").glob("*.md"))[0]
    essay.write_text(essay.read_text("utf-8") + "\n" + "A sentence added. " * 400 + "\n",
                     "utf-8")
    changed = epub(tmp_path / "warm")  # the cache holds the old map; it must not be used
    assert changed == epub(tmp_path / "fresh")
    assert changed != warm


def test_a_booklet_from_the_reading_pdf_written_before_loads_no_typesetter(
        tmp_path: Path) -> None:
    """Imposing the reading PDF already written needs no layout: WeasyPrint (a third of a
    second to load) is not imported, in the build's process or any it forks."""
    out = tmp_path / "out"
    assert run_cli("build", "pdf", "--book", str(ROOTS / "field-notes" / "book.yml"), "--out",
                   str(out), "--quiet").returncode == 0
    imposed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "chapbook", "build", "booklet", "--book",
         str(ROOTS / "field-notes" / "book.yml"), "--out", str(out), "--quiet"],
        capture_output=True, text=True, timeout=300)
    assert imposed.returncode == 0, imposed.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in imposed.stderr.splitlines()
                if line.startswith("import time:")]
    assert "chapbook.pdf.impose" in imported
    assert not any(name.split(".")[0] == "weasyprint" for name in imported)
    assert (out / "field-notes-booklet.pdf").stat().st_size > 0
