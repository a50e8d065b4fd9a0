"""The EPUB edition: EPUBCheck's verdict, the package read back with zipfile and lxml."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lxml import etree

from chapbook.build import load_book
from chapbook.diagnostics import Diagnostics

from .conftest import BUNDLED, ROOTS, EpubCheck, build

NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
      "x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops",
      "ncx": "http://www.daisy.org/z3986/2005/ncx/"}


def package(epub: Path) -> tuple[zipfile.ZipFile, etree._Element, str]:
    archive = zipfile.ZipFile(epub)
    container = etree.fromstring(archive.read("META-INF/container.xml"))
    opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
    return archive, etree.fromstring(archive.read(opf_path)), str(Path(opf_path).parent)


def linked(epub: Path, kind: str) -> list[tuple[etree._Element, etree._Element]]:
    """Each link of class `kind` in the EPUB's documents, with the one element it names."""
    archive = package(epub)[0]
    documents = {Path(name).name: etree.fromstring(archive.read(name))
                 for name in archive.namelist() if name.endswith(".xhtml")}
    pairs = []
    for document in documents.values():
        for link in document.xpath("//x:a[@class=$kind]", namespaces=NS, kind=kind):
            name, _, anchor = link.get("href").partition("#")
            [target] = documents[name].xpath("//*[@id=$id]", id=anchor)
            pairs.append((link, target))
    return pairs


@pytest.fixture(scope="module")
def book():
    return load_book(BUNDLED, Diagnostics())


def test_epubcheck_reports_nothing(
        bundled: dict[str, Path], tmp_path: Path, epubcheck: EpubCheck) -> None:
    messages = epubcheck(bundled["epub"])
    assert [(m["severity"], m["ID"], m["message"]) for m in messages
            if m["severity"] in ("FATAL", "ERROR", "WARNING")] == []


def test_epubcheck_on_the_edge_case_book(tmp_path: Path, epubcheck: EpubCheck) -> None:
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "epub") == 0
    messages = epubcheck(tmp_path / "edge-cases.epub")
    assert [m["message"] for m in messages if m["severity"] in ("FATAL", "ERROR", "WARNING")] == []


def test_spine_follows_the_manifest(bundled: dict[str, Path], book) -> None:
    archive, opf, base = package(bundled["epub"])
    hrefs = {item.get("id"): item.get("href") for item in opf.xpath("//opf:manifest/opf:item",
                                                                     namespaces=NS)}
    spine = [hrefs[ref] for ref in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=NS)]
    expected_body = []
    for part in book.parts:
        expected_body.append(f"{part.id}.xhtml")
        expected_body += [f"{c.id}.xhtml" for c in part.chapters]
    assert spine[:4] == ["cover.xhtml", "title.xhtml", "imprint.xhtml", "nav.xhtml"]
    assert spine[4:4 + len(expected_body)] == expected_body
    for chapter in book.chapters:
        doc = etree.fromstring(archive.read(f"{base}/{chapter.id}.xhtml"))
        assert doc.xpath("string(//x:h1)", namespaces=NS).strip() == chapter.title


def test_every_document_is_wellformed_xhtml_with_language(bundled: dict[str, Path],
                                                          book) -> None:
    archive, _, _ = package(bundled["epub"])
    for name in archive.namelist():
        if name.endswith(".xhtml"):
            root = etree.fromstring(archive.read(name))
            assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == book.meta.language


def test_semantics_on_sections(bundled: dict[str, Path], book) -> None:
    archive, _, base = package(bundled["epub"])
    chapter = etree.fromstring(archive.read(f"{base}/{book.chapters[0].id}.xhtml"))
    [section] = chapter.xpath("//x:section[@epub:type='chapter']", namespaces=NS)
    assert section.get("role") == "doc-chapter"
    part = etree.fromstring(archive.read(f"{base}/part-1.xhtml"))
    assert part.xpath("//x:section[@epub:type='part'][@role='doc-part']", namespaces=NS)
    title = etree.fromstring(archive.read(f"{base}/title.xhtml"))
    assert title.xpath("//x:section[@epub:type='titlepage']", namespaces=NS)


def test_navigation_toc_landmarks_and_ncx(bundled: dict[str, Path], book) -> None:
    archive, opf, base = package(bundled["epub"])
    [nav_href] = opf.xpath("//opf:item[contains(@properties,'nav')]/@href", namespaces=NS)
    nav = etree.fromstring(archive.read(f"{base}/{nav_href}"))
    toc_links = nav.xpath("//x:nav[@epub:type='toc']//x:a/@href", namespaces=NS)
    chapters = [f"{c.id}.xhtml" for c in book.chapters]
    assert chapters == [h for h in toc_links if h in chapters]
    assert toc_links[-2:] == ["glossary.xhtml", "index.xhtml"]
    landmarks = nav.xpath("//x:nav[@epub:type='landmarks']//x:a/@epub:type", namespaces=NS)
    assert {"cover", "toc", "bodymatter", "glossary", "index"} <= set(landmarks)
    [ncx_href] = opf.xpath("//opf:item[@media-type='application/x-dtbncx+xml']/@href",
                           namespaces=NS)
    ncx = etree.fromstring(archive.read(f"{base}/{ncx_href}"))
    labels = [t.strip() for t in ncx.xpath("//ncx:navPoint/ncx:navLabel/ncx:text/text()",
                                           namespaces=NS)]
    assert all(any(c.title in label for label in labels) for c in book.chapters)


def test_cover_image_and_fonts_are_in_the_package(bundled: dict[str, Path]) -> None:
    archive, opf, base = package(bundled["epub"])
    [cover] = opf.xpath("//opf:item[contains(@properties,'cover-image')]", namespaces=NS)
    data = archive.read(f"{base}/{cover.get('href')}")
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
    fonts = opf.xpath("//opf:item[starts-with(@media-type,'font/')]/@href", namespaces=NS)
    assert any("Charis" in f for f in fonts) and any("Inter" in f for f in fonts)
    css = archive.read(f"{base}/styles/fonts.css").decode()
    assert all(Path(f).name in css for f in fonts)


def test_metadata(bundled: dict[str, Path], book) -> None:
    _, opf, _ = package(bundled["epub"])
    meta = book.meta

    def dc(name: str) -> list[str]:
        return opf.xpath(f"//dc:{name}/text()", namespaces=NS)
    assert dc("identifier") == [meta.identifier]
    assert meta.title in dc("title") and meta.subtitle in dc("title")
    assert dc("language") == [meta.language]
    assert dc("creator") == [meta.author]
    assert dc("publisher") == [meta.publisher]
    assert set(meta.subjects) <= set(dc("subject"))
    assert opf.xpath("//opf:meta[@property='dcterms:modified']/text()", namespaces=NS)


def test_no_mojibake_anywhere(bundled: dict[str, Path]) -> None:
    archive, _, _ = package(bundled["epub"])
    for name in archive.namelist():
        if name.endswith((".xhtml", ".opf", ".ncx")):
            assert "â€" not in archive.read(name).decode("utf-8"), name


def test_footnotes_become_linked_endnotes(tmp_path: Path) -> None:
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "epub") == 0
    archive, _, base = package(tmp_path / "edge-cases.epub")
    doc = etree.fromstring(archive.read(f"{base}/windows-notes.xhtml"))
    refs = doc.xpath("//x:a[@epub:type='noteref']", namespaces=NS)
    assert len(refs) == 2
    for ref in refs:
        target = ref.get("href").lstrip("#")
        [note] = doc.xpath(f"//*[@id='{target}']")
        assert note.get("{http://www.idpf.org/2007/ops}type") == "endnote"


def test_the_cover_image_is_taken_from_the_pdf_laid_out_in_the_same_build(tmp_path: Path) -> None:
    """Built with the PDF, the e-reader cover is the PDF's first page rasterised, not the cover
    laid out a second time; built alone, it is drawn; the two are the same pixels."""
    import io
    from unittest import mock

    from PIL import Image, ImageChops

    from chapbook.build import build as build_book
    from chapbook.builders import cover
    from chapbook.options import BuildOptions

    def cover_image(out: Path) -> Image.Image:
        archive, opf, base = package(out / "field-notes.epub")
        [item] = opf.xpath("//opf:item[contains(@properties,'cover-image')]", namespaces=NS)
        return Image.open(io.BytesIO(archive.read(f"{base}/{item.get('href')}"))).convert("RGB")

    manifest = ROOTS / "field-notes" / "book.yml"
    with mock.patch.object(cover, "_draw", side_effect=AssertionError("laid out again")):
        build_book(BuildOptions(manifest, tmp_path / "both", ("pdf", "epub")), Diagnostics())
    drawn = mock.Mock(wraps=cover._draw)
    with mock.patch.object(cover, "_draw", drawn):
        build_book(BuildOptions(manifest, tmp_path / "alone", ("epub",)), Diagnostics())
    assert drawn.call_count == 1
    from_pdf, alone = cover_image(tmp_path / "both"), cover_image(tmp_path / "alone")
    assert from_pdf.size == alone.size == (cover.COVER_WIDTH_PX, from_pdf.size[1])
    assert ImageChops.difference(from_pdf, alone).getbbox() is None


def test_photographs_are_stored_as_they_are_and_text_is_compressed(
        fixture_book, tmp_path: Path, epubcheck: EpubCheck) -> None:
    """A JPEG is compressed already: deflating it again saved 0.05% of a book of forty
    photographs and took 2.3 s of every EPUB build. It is stored as it is, byte for byte;
    the documents, styles and fonts are deflated, and EPUBCheck accepts the package."""
    from PIL import Image

    root = fixture_book("field-notes")
    photo = root / "essays" / "figures" / "quay.jpg"
    noise = Image.effect_noise((600, 400), 40).convert("RGB")
    Image.blend(noise, Image.linear_gradient("L").resize((600, 400)).convert("RGB"),
                0.5).save(photo, quality=90)
    essay = root / "essays" / "02-on-kings.md"
    essay.write_text(essay.read_text("utf-8") + "\n\n![The quay at dawn, from the harbour "
                     "wall.](figures/quay.jpg)\n", "utf-8")
    assert build(root / "book.yml", tmp_path, "epub") == 0
    epub = tmp_path / "field-notes.epub"
    archive = zipfile.ZipFile(epub)
    [jpeg] = [info for info in archive.infolist() if info.filename.endswith("quay.jpg")]
    assert jpeg.compress_type == zipfile.ZIP_STORED
    assert archive.read(jpeg) == photo.read_bytes()
    kinds = {info.filename.rsplit(".", 1)[-1]: info.compress_type for info in archive.infolist()
             if info.filename != "mimetype" and not info.filename.endswith(".jpg")}
    assert {"xhtml", "css", "opf", "ttf"} <= kinds.keys()
    assert set(kinds.values()) == {zipfile.ZIP_DEFLATED}
    assert [m["message"] for m in epubcheck(epub)
            if m["severity"] in ("FATAL", "ERROR", "WARNING")] == []
