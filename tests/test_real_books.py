"""A book chapbook was not written for: tests/roots/field-notes, with numbered essay files,
front matter, notes in a title and notes cited again, an essay with its own Notes heading, links
between chapters, a PNG and an SVG, aligned tables, long lists and tables, wrapped glossary
phrases and four scripts. Built once, every edition read back."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree, html
from pypdf import PdfReader

from .conftest import ROOTS, EpubCheck
from .test_epub import NS, package

FIELD_NOTES = ROOTS / "field-notes" / "book.yml"
# An XML name without colons (NCName), in the ASCII range chapbook's ids use.
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


@pytest.fixture(scope="module")
def field_notes(built) -> dict[str, Path]:
    out, _ = built("field-notes")
    return {fmt: out / f"field-notes.{fmt}" for fmt in ("pdf", "epub", "html")}


def _xhtml_documents(epub: Path) -> dict[str, etree._Element]:
    archive = package(epub)[0]
    return {Path(name).name: etree.fromstring(archive.read(name))
            for name in archive.namelist() if name.endswith(".xhtml")}


def test_epubcheck_reports_nothing_on_a_book_it_was_not_written_for(
        field_notes: dict[str, Path], tmp_path: Path, epubcheck: EpubCheck) -> None:
    messages = epubcheck(field_notes["epub"])
    assert [(m["severity"], m["ID"], m["message"], m["locations"][:1]) for m in messages
            if m["severity"] in ("FATAL", "ERROR", "WARNING")] == []


def test_every_id_is_an_xml_name_and_unique_in_every_edition(
        field_notes: dict[str, Path]) -> None:
    archive, opf, base = package(field_notes["epub"])
    package_ids = opf.xpath("//@id") + opf.xpath("//opf:spine/opf:itemref/@idref",
                                                  namespaces=NS)
    ncx = etree.fromstring(archive.read(f"{base}/toc.ncx"))
    documents = {"content.opf": package_ids, "toc.ncx": ncx.xpath("//@id")}
    for name, root in _xhtml_documents(field_notes["epub"]).items():
        documents[name] = root.xpath("//@id")
    documents["html"] = html.fromstring(field_notes["html"].read_bytes()).xpath("//@id")
    bad = {name: [i for i in ids if not NCNAME.match(i)] for name, ids in documents.items()}
    assert {name: ids for name, ids in bad.items() if ids} == {}
    for name, ids in documents.items():
        if name == "content.opf":
            ids = opf.xpath("//@id")
        assert len(ids) == len(set(ids)), (name, sorted({i for i in ids if ids.count(i) > 1}))


def test_numbered_file_names_give_readable_chapter_documents(
        field_notes: dict[str, Path]) -> None:
    names = set(_xhtml_documents(field_notes["epub"]))
    assert {"introduction.xhtml", "on-kings.xhtml", "ledgers.xhtml"} <= names


def _chapter(epub: Path, name: str) -> etree._Element:
    return _xhtml_documents(epub)[name]


def _book_html(field_notes: dict[str, Path]) -> html.HtmlElement:
    return html.fromstring(field_notes["html"].read_bytes())


def _pdf_text(pdf: Path) -> list[str]:
    return [(page.extract_text() or "").replace("\u2002", " ") for page in PdfReader(pdf).pages]


def test_a_note_in_a_chapter_title_is_kept_in_every_edition(
        field_notes: dict[str, Path]) -> None:
    kings = _chapter(field_notes["epub"], "on-kings.xhtml")
    title = kings.xpath("//x:h1[@class='chapter-title']", namespaces=NS)[0]
    call = title.xpath(".//x:a[@epub:type='noteref']", namespaces=NS)[0]
    assert call.text == "1"
    note = kings.xpath(f"//*[@id='{call.get('href')[1:]}']", namespaces=NS)[0]
    assert "begins its count with the founder" in "".join(note.itertext())
    backlink = note.xpath(".//x:a[@role='doc-backlink']/@href", namespaces=NS)[0]
    assert backlink == f"#{call.get('id')}"
    # the contents, nav and running heads keep the plain title
    nav = _chapter(field_notes["epub"], "nav.xhtml")
    entries = ["".join(a.itertext()).strip()
               for a in nav.xpath("//x:nav[@epub:type='toc']//x:a", namespaces=NS)]
    assert [e for e in entries if "On Kings" in e] == ["2. LXXIII. On Kings and Their Harbours"]
    web = _book_html(field_notes)
    web_title = web.xpath("//article[@id='on-kings']//h2[@class='chapter-title']")[0]
    assert web_title.xpath(".//a[@role='doc-noteref']")[0].text == "1"
    # print: the note is at the foot of the opener's page, numbered 1, and the bookmark is clean
    pages = _pdf_text(field_notes["pdf"])
    opener = next(text for text in pages if "LXXIII. On Kings and Their Harbours" in text
                  and "seventy-three kings" in text)
    assert "1 The numbering follows the chronicle" in opener
    reader = PdfReader(field_notes["pdf"])
    titles = [item.title for entry in reader.outline if isinstance(entry, list)
              for item in entry]
    assert "LXXIII. On Kings and Their Harbours" in titles


def test_a_note_cited_three_times_is_one_note_with_one_number_in_every_edition(
        field_notes: dict[str, Path]) -> None:
    kings = _chapter(field_notes["epub"], "on-kings.xhtml")
    calls = [a for a in kings.xpath("//x:a[@epub:type='noteref']", namespaces=NS)
             if a.get("href").endswith("--fn3")]
    assert [a.text for a in calls] == ["3", "3", "3"]
    assert len({a.get("id") for a in calls}) == 3
    notes = kings.xpath("//x:li[@epub:type='endnote']", namespaces=NS)
    assert len(notes) == 17  # 16 labels, plus the note in the title; none printed twice
    backlinks = kings.xpath("//x:li[@id='on-kings--fn3']//x:a[@role='doc-backlink']/@href",
                            namespaces=NS)
    assert backlinks == [f"#{a.get('id')}" for a in calls]
    web = _book_html(field_notes)
    assert [a.text for a in web.xpath("//article[@id='on-kings']//a[@role='doc-noteref']")
            if a.get("href") == "#on-kings--fn3"] == ["3", "3", "3"]
    # print: the note's text once, numbered 3; no note numbered beyond 17 in the chapter
    text = "\n".join(_pdf_text(field_notes["pdf"]))
    assert text.count("Two sets of books were common in ports under distant rule.") == 1
    assert "3 Two sets of books were common" in text


def test_an_essay_with_its_own_notes_heading_keeps_both(field_notes: dict[str, Path]) -> None:
    kings = _chapter(field_notes["epub"], "on-kings.xhtml")
    headings = ["".join(h.itertext()) for h in kings.xpath("//x:h2", namespaces=NS)]
    assert headings.count("Notes") == 2  # the essay's own, and the book's notes section


def test_every_page_list_entry_points_at_a_marker_that_exists(
        field_notes: dict[str, Path]) -> None:
    documents = _xhtml_documents(field_notes["epub"])
    nav = documents["nav.xhtml"]
    targets = nav.xpath("//x:nav[@epub:type='page-list']//x:a/@href", namespaces=NS)
    # every printed page with text is in the list, but the half title (no EPUB document has it)
    listed = {int(target.rsplit("-", 1)[1]) for target in targets}
    printed = {number for number, text in enumerate(_pdf_text(field_notes["pdf"]), 1)
               if text.strip()}
    half_title = 3
    assert printed - listed == {half_title}
    missing = []
    for target in targets:
        name, _, fragment = target.partition("#")
        if not documents[name].xpath(f"//*[@id='{fragment}']"):
            missing.append(target)
    assert missing == []
    # pages that begin inside a numbered list and inside a table have their markers there
    ledgers = documents["ledgers.xhtml"]
    assert ledgers.xpath("//x:li//x:span[@epub:type='pagebreak']", namespaces=NS)
    assert ledgers.xpath("//x:td//x:span[@epub:type='pagebreak']", namespaces=NS)


def test_links_between_chapters_resolve_in_every_edition(field_notes: dict[str, Path]) -> None:
    intro = _chapter(field_notes["epub"], "introduction.xhtml")
    hrefs = intro.xpath("//x:div[@class='chapter-body'] //x:a/@href | //x:p//x:a/@href",
                        namespaces=NS)
    assert "on-kings.xhtml#on-kings" in hrefs
    assert "ledgers.xhtml#ledgers-what-the-ledgers-record" in hrefs
    assert "many-tongues.xhtml#many-tongues-names-for-the-sea" in hrefs
    assert not [h for h in hrefs if ".md" in h]
    web = _book_html(field_notes)
    web_hrefs = web.xpath("//article[@id='introduction']//a/@href")
    assert "#ledgers-what-the-ledgers-record" in web_hrefs and "#on-kings" in web_hrefs
    assert not [h for h in web_hrefs if ".md" in h]
    # print: internal links only, and no local path anywhere in the file
    data = field_notes["pdf"].read_bytes()
    assert b"file:" not in data and str(ROOTS).encode() not in data
    reader = PdfReader(field_notes["pdf"])
    uris = [annotation.get_object().get("/A", {}).get("/URI")
            for page in reader.pages for annotation in page.get("/Annots") or []]
    assert [uri for uri in uris if uri] == []


def test_aligned_table_columns_keep_their_alignment(field_notes: dict[str, Path]) -> None:
    ledgers = _chapter(field_notes["epub"], "ledgers.xhtml")
    header = [th.get("class") for th in ledgers.xpath("//x:table[1]//x:th", namespaces=NS)]
    assert header == ["align-left", "align-center", "align-right", "align-right",
                      "align-right"]
    web = _book_html(field_notes)
    assert [td.get("class") for td in web.xpath("//article[@id='ledgers']//table[1]//tr[2]/td")
            ] == ["align-left", "align-center", "align-right", "align-right", "align-right"]
    for sheet in ("print.css", "screen.css", "epub.css"):
        css = (Path(__file__).resolve().parents[1] / "styles" / sheet).read_text()
        assert "td.align-right { text-align: right; }" in css


def test_two_note_calls_in_a_row_are_kept_apart(field_notes: dict[str, Path]) -> None:
    kings = _chapter(field_notes["epub"], "on-kings.xhtml")
    call = kings.xpath("//x:a[@href='#on-kings--fn5']", namespaces=NS)[0]
    assert call.getprevious().get("class") == "note-separator"
    text = "\n".join(_pdf_text(field_notes["pdf"]))
    assert "in person.4,5" in text


def test_print_notes_do_not_keep_the_source_line_breaks(field_notes: dict[str, Path]) -> None:
    text = "\n".join(_pdf_text(field_notes["pdf"]))
    # the note is written over two source lines, broken after "cited"
    assert "earlier material is cited\nonly where" not in text
    assert "earlier material is cited only" in text.replace("\n", " ")


def test_phrases_wrapped_over_two_source_lines_are_found(field_notes: dict[str, Path]) -> None:
    # "maritime law" is broken after "maritime" in the introduction and in the fifth essay
    glossary = _chapter(field_notes["epub"], "glossary.xhtml")
    entry = glossary.xpath("//x:dt[x:dfn='maritime law']/following-sibling::x:dd[1]",
                           namespaces=NS)[0]
    used_in = [a.text for a in entry.xpath(".//x:p[@class='gloss-where']/x:a", namespaces=NS)]
    assert used_in == ["1", "5"]
    intro = _chapter(field_notes["epub"], "introduction.xhtml")
    link = intro.xpath("//x:a[@epub:type='glossref'][contains(@href, 'maritime')]",
                       namespaces=NS)[0]
    assert " ".join("".join(link.itertext()).split()) == "maritime law"


def test_front_matter_sets_the_title_subtitle_authors_and_abstract(
        field_notes: dict[str, Path]) -> None:
    intro = _chapter(field_notes["epub"], "introduction.xhtml")
    assert "".join(intro.xpath("//x:h1", namespaces=NS)[0].itertext()) == \
        "Introduction: Reading the Middle Sea"
    assert intro.xpath("//x:p[@class='chapter-subtitle']/text()", namespaces=NS) == [
        "Why ports remember what capitals forget"]
    assert intro.xpath("//x:p[@class='chapter-authors']/text()", namespaces=NS) == [
        "Miriam Adler and Yusuf Haddad"]
    assert intro.xpath("//x:section[@role='doc-abstract']", namespaces=NS)
    body = etree.tostring(intro, encoding="unicode")
    assert "title:" not in body and "<hr" not in body
    first_page = next(t for t in _pdf_text(field_notes["pdf"]) if "CHAPTER 1" in t.upper()
                      and "Reading the Middle Sea" in t)
    assert "Miriam Adler and Yusuf Haddad" in first_page and "abstract:" not in first_page


def test_notes_sections_have_unique_names_and_backlinks_say_what_they_show(
        field_notes: dict[str, Path]) -> None:
    # what axe-core checks in `make check` (landmark-unique, label-content-name-mismatch)
    web = _book_html(field_notes)
    sections = web.xpath("//section[@role='doc-endnotes']")
    names = [" ".join("".join(web.get_element_by_id(s.get("aria-labelledby")).itertext())
                      .split()) for s in sections]
    assert len(names) == 3 and len(set(names)) == 3
    for backlink in web.xpath("//a[@role='doc-backlink']"):
        visible = "".join(backlink.itertext()).replace("↩", "").strip()
        assert visible in backlink.get("aria-label")
    css = (Path(__file__).resolve().parents[1] / "styles" / "screen.css").read_text()
    assert ".backlink { text-decoration: underline; }" in css


def test_make_all_reads_the_book_once_and_says_each_warning_once(tmp_path: Path) -> None:
    import shutil
    import subprocess

    book = tmp_path / "book"
    shutil.copytree(ROOTS / "field-notes", book)
    essay = book / "essays" / "03-ledgers.md"
    essay.write_text(essay.read_text("utf-8").replace("# The Ledgers", "The Ledgers", 1), "utf-8")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(["make", "-s", "all", f"BOOK={book / 'book.yml'}",
                             f"OUT={tmp_path / 'out'}"], cwd=root, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert output.count("[no-title]") == 1
    assert output.count("reading") == 1
    assert {p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")} == {
        "field-notes.pdf", "field-notes.epub", "field-notes.html"}


def test_greek_words_carry_their_language_and_one_face(field_notes: dict[str, Path]) -> None:
    tongues = _chapter(field_notes["epub"], "many-tongues.xhtml")
    spans = {("".join(s.itertext()), s.get("lang"))
             for s in tongues.xpath("//x:span[@lang='el' or @lang='grc']", namespaces=NS)}
    assert ("θάλασσα", "el") in spans and ("νόμος ῥοδίων ναυτικός", "grc") in spans
    import subprocess

    fonts = subprocess.run(["pdffonts", str(field_notes["pdf"])], capture_output=True,
                           text=True, check=True).stdout
    assert "Gentium-Plus" in fonts
    assert "DejaVu" not in fonts and "Noto" not in fonts  # no machine font is reached


def test_a_word_in_a_note_is_located_in_the_section_of_the_notes_call(
        field_notes: dict[str, Path]) -> None:
    # "ledgers" occurs in chapter 2 only in note 2, called before the first section; the
    # notes come after the last section ("Notes") in the text, which must not count
    index = _chapter(field_notes["epub"], "index.xhtml")
    entry = index.xpath("//x:li[x:span[@class='index-term']='ledgers']", namespaces=NS)[0]
    labels = [a.text for a in entry.xpath("./x:a[@class='locator']", namespaces=NS)]
    assert "2" in labels and "2.2" not in labels


def test_make_takes_a_book_with_spaces_in_its_file_names(tmp_path: Path) -> None:
    """The Makefile's list of inputs split file names at spaces: one `coast map 1850.png` in
    the book's folder and every target failed with "No rule to make target …/coast"."""
    book = tmp_path / "my book"
    shutil.copytree(ROOTS / "terms", book)
    (book / "essays" / "coast map #2: 1850.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(["make", "-n", "html", f"BOOK={book / 'book.yml'}",
                             f"OUT={tmp_path / 'out'}"], cwd=root, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "chapbook build html" in result.stdout
