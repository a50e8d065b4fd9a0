"""Glossary and index: terms found as whole words in the text, true page numbers in print, links
that resolve in the EPUB and HTML, warnings for what is defined but never used."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lxml_html
from pypdf import PdfReader

from chapbook.build import load_book
from chapbook.collect.locators import page_locators
from chapbook.diagnostics import Diagnostics
from chapbook.sorting import sort_key

from .conftest import BUNDLED, ROOTS, build, run_cli
from .test_pdf import outline_pages

NS = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}
EPUB_TYPE = "{http://www.idpf.org/2007/ops}type"


def flat(text: str) -> str:
    """Text for matching a form: line-end hyphenation undone, hyphens and spacing folded."""
    text = re.sub(r"[-\u00ad\u2010]\n", "", text)
    text = text.replace("’", "'").replace("\u2010", "-").replace("-", "").replace("•", " ")
    return re.sub(r"\s+", " ", text).casefold()


@pytest.fixture(scope="module")
def book():
    return load_book(BUNDLED, Diagnostics())


@pytest.fixture(scope="module")
def pdf_pages(bundled: dict[str, Path]) -> list[str]:
    return [page.extract_text() for page in PdfReader(bundled["pdf"]).pages]


@pytest.fixture(scope="module")
def index_text(bundled: dict[str, Path], pdf_pages: list[str]) -> str:
    start = dict(outline_pages(PdfReader(bundled["pdf"])))["Index"]
    return re.sub(r"\s+", " ", " ".join(pdf_pages[start - 1:]))


@pytest.fixture(scope="module")
def anchor_pages(book, built) -> dict[str, int]:
    """Each anchor's page, as the shared build's layout kept it in its cache."""
    from chapbook.cache import cached_page_map

    page_map = cached_page_map(book, built("bundled")[0] / ".cache")
    assert page_map is not None, "the shared build kept no page map for this book"
    return page_map.pages


def test_bundled_book_uses_every_term(book) -> None:
    diagnostics = Diagnostics()
    load_book(BUNDLED, diagnostics)
    assert [str(f) for f in diagnostics.findings if f.code in ("unused-term",
            "broken-cross-reference", "broken-see-also")] == []
    assert len(book.glossary.entries) >= 20


def test_every_index_locator_names_a_page_with_the_term(book, anchor_pages, pdf_pages,
                                                        index_text) -> None:
    checked = 0
    for heading in book.index.all_headings():
        locators = page_locators(heading.occurrences, anchor_pages)
        numbers: list[int] = []
        for locator in locators:
            first, _, last = locator.label.partition("–")
            run = range(int(first), int(last or first) + 1)
            assert not numbers or run[0] > numbers[-1] + 1, f"{heading.label}: {locator.label}"
            numbers.extend(run)
            for page in (run[0], run[-1]):
                # a phrase may start at the foot of its page and end on the next
                text = flat(pdf_pages[page - 1])
                spill = flat(pdf_pages[page - 1] + " " + pdf_pages[page][:300])
                assert any(flat(form) in spill and flat(form).split()[0] in text
                           for form in heading.forms), \
                    f"'{heading.label}' has locator {page}, whose page lacks {heading.forms}"
            checked += 1
        assert len(numbers) == len(set(numbers))
        labels = ", ".join(locator.label for locator in locators)
        if locators:
            assert f"{heading.text}, {labels}" in index_text, heading.label
    assert checked > 50


def test_ranges_join_consecutive_pages(book, anchor_pages) -> None:
    joined = [loc.label for h in book.index.all_headings()
              for loc in page_locators(h.occurrences, anchor_pages) if "–" in loc.label]
    assert joined, "the bundled index has no page range at all"
    for label in joined:
        first, last = (int(n) for n in label.split("–"))
        assert last > first


def test_glossary_says_where_a_term_is_first_discussed(book, anchor_pages, pdf_pages,
                                                       bundled: dict[str, Path]) -> None:
    start = dict(outline_pages(PdfReader(bundled["pdf"])))["Glossary"]
    end = dict(outline_pages(PdfReader(bundled["pdf"])))["Index"]
    glossary = re.sub(r"\s+", " ", " ".join(pdf_pages[start - 1:end - 1]))
    for entry in book.glossary.entries:
        first = anchor_pages[entry.occurrences[0].anchor]
        assert f"First discussed on p.\u00a0{first}" in glossary or \
            f"First discussed on p. {first}" in glossary, entry.term
        assert any(flat(form) in flat(pdf_pages[first - 1]) for form in entry.forms)


def test_index_and_glossary_are_sorted_ignoring_case_and_accents(book) -> None:
    texts = [h.text for h in book.index.headings]
    assert texts == sorted(texts, key=sort_key)
    assert sort_key("Élysée") < sort_key("embassy") < sort_key("Ummah")
    terms = [e.term for e in book.glossary.entries]
    assert terms == sorted(terms, key=sort_key)


def test_first_use_in_each_chapter_links_to_the_glossary(book, bundled: dict[str, Path]) -> None:
    tree = lxml_html.parse(str(bundled["html"])).getroot()
    for chapter in book.chapters:
        [article] = tree.xpath(f"//article[@id='{chapter.id}']")
        for entry in book.glossary.entries:
            used = [o for o in entry.occurrences if o.chapter_id == chapter.id]
            links = article.xpath(f".//a[@class='term'][@href='#{entry.id}']")
            assert len(links) == (1 if used else 0), (chapter.id, entry.term)
            if used:
                first = tree.xpath(f"//*[@id='{used[0].anchor}']")[0]
                assert first.getparent() is links[0] or first is links[0]
    for entry in book.glossary.entries:
        assert tree.xpath(f"//dl[@class='glossary-list']/dt[@id='{entry.id}']/dfn")


def test_epub_glossary_and_index_links_resolve(bundled: dict[str, Path]) -> None:
    archive = zipfile.ZipFile(bundled["epub"])
    docs = {Path(n).name: etree.fromstring(archive.read(n)) for n in archive.namelist()
            if n.endswith(".xhtml")}
    ids = {name: set(doc.xpath("//@id")) for name, doc in docs.items()}
    index = docs["index.xhtml"]
    assert index.xpath("//x:section[@epub:type='index'][@role='doc-index']", namespaces=NS)
    hrefs = index.xpath("//x:a/@href", namespaces=NS)
    assert len(hrefs) > 100
    for href in hrefs:
        name, _, fragment = href.partition("#")
        assert fragment in ids[name or "index.xhtml"], href
    assert index.xpath("//*[@epub:type='index-entry']", namespaces=NS)
    assert index.xpath("//x:a[@epub:type='index-locator']", namespaces=NS)
    glossary = docs["glossary.xhtml"]
    assert glossary.xpath("//x:section[@epub:type='glossary'][@role='doc-glossary']",
                          namespaces=NS)
    terms = glossary.xpath("//x:dt[@epub:type='glossterm']/@id", namespaces=NS)
    assert len(terms) >= 20
    for name, doc in docs.items():
        for link in doc.xpath("//x:a[@epub:type='glossref']/@href", namespaces=NS):
            target, _, fragment = link.partition("#")
            assert target == "glossary.xhtml" and fragment in terms, (name, link)
    keys = etree.fromstring(archive.read("EPUB/glossary-search-keys.xml"))
    assert len(keys) == len(terms)


def test_terms_are_whole_words_never_in_urls(tmp_path: Path) -> None:
    assert build(ROOTS / "terms" / "book.yml", tmp_path, "html", "epub") == 0
    tree = lxml_html.parse(str(tmp_path / "terms.html")).getroot()
    [article] = tree.xpath("//article[@id='alliances']")
    marked = [span.text for span in article.xpath(".//span[@class='ix']")]
    assert "realliance" not in " ".join(marked) and "alliancegoers" not in " ".join(marked)
    for link in article.xpath(".//a[starts-with(@href,'http')]"):
        assert "alliance" in link.get("href")
        if link.text_content().startswith("http"):
            assert not link.xpath(".//span"), "an anchor inside an autolinked URL"
    # a glossary link never nests in another link
    assert not article.xpath(".//a//a")
    text = lxml_html.tostring(article).decode()
    assert "non-alliance" in text and 'id="alliances-' in text


def test_hand_placed_marks_and_accented_headings(tmp_path: Path) -> None:
    assert build(ROOTS / "terms" / "book.yml", tmp_path, "html") == 0
    tree = lxml_html.parse(str(tmp_path / "terms.html")).getroot()
    entries = [li.text_content().split("\n")[0].strip()
               for li in tree.xpath("//section[@class='index']//li")]
    assert entries.index("Ábaco, 2") < entries.index("alliances, 1, 1.1, 2. See also pacts; "
                                                       "treaties.")  # alphabetical
    assert "secret, 1.1" in entries and "Places, 2" in entries
    assert not any(e.startswith("unicorns") for e in entries)
    [mark] = [a for a in tree.xpath("//section[@class='index']//a[@class='locator']")
              if a.text == "1.1"][-1:]
    target = tree.xpath(f"//*[@id='{mark.get('href')[1:]}']")[0]
    assert target.text == "alliance"


def test_build_warns_for_unused_terms_and_broken_references(tmp_path: Path) -> None:
    result = run_cli("build", "html", "--book", str(ROOTS / "terms" / "book.yml"),
                     "--out", str(tmp_path))
    assert result.returncode == 0
    err = result.stderr
    assert re.search(r"terms/glossary\.yml:9: warning: glossary term 'protocolary' occurs "
                     r"nowhere", err)
    assert re.search(r"terms/index\.yml:15: warning: index heading 'unicorns' occurs nowhere", err)
    assert re.search(r"terms/index\.yml:2: warning: 'alliances' refers to 'pacts', which is not",
                     err)
    assert re.search(r"terms/glossary\.yml:5: warning: 'treaty' refers to 'protocol'", err)
    strict = run_cli("build", "html", "--strict", "--book", str(ROOTS / "terms" / "book.yml"),
                     "--out", str(tmp_path))
    assert strict.returncode == 2


@pytest.mark.skipif(__import__("shutil").which("pdftotext") is None, reason="needs poppler")
def test_every_pdf_locator_links_to_the_page_it_names(bundled: dict[str, Path]) -> None:
    import subprocess

    import pikepdf
    pdf = pikepdf.open(bundled["pdf"])
    destinations = pikepdf.NameTree(pdf.Root.Names.Dests)
    page_number = {page.objgen: n for n, page in enumerate(pdf.pages, 1)}
    start = dict(outline_pages(PdfReader(bundled["pdf"])))["Glossary"]
    checked = 0
    for number in range(start, len(pdf.pages) + 1):
        page = pdf.pages[number - 1]
        height = float(page.MediaBox[3])
        bbox = subprocess.run(["pdftotext", "-bbox", "-f", str(number), "-l", str(number),
                               str(bundled["pdf"]), "-"], capture_output=True, text=True,
                              check=True).stdout
        words = [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<',
            bbox)]
        for annotation in page.get("/Annots", []):
            if annotation.get("/Subtype") != "/Link" or "/Dest" not in annotation:
                continue
            x0, y0, x1, y1 = (float(v) for v in annotation.Rect)
            top, bottom = height - max(y0, y1), height - min(y0, y1)
            label = " ".join(w for a, b, c, d, w in words  # words centred inside the link
                             if x0 - 1 <= (a + c) / 2 <= x1 + 1
                             and top - 2 <= (b + d) / 2 <= bottom + 2)
            match = re.match(r"(\d+)", label)
            if not match:
                continue  # a cross-reference to another heading, not a page locator
            target = destinations[str(annotation.Dest)]
            assert page_number[target[0].objgen] == int(match.group(1)), (number, label)
            checked += 1
    assert checked > 100


def test_the_chapters_names_for_locators_are_made_once_per_book() -> None:
    """Every segment's HTML names the chapters its locators point into; the names were made
    again for each segment rendered, from every chapter: n² in a book of n chapters (1,200
    chapters: 5.8 s of a build's keys alone). The collect phase makes them once."""
    from unittest import mock

    from chapbook import templating
    from chapbook.collect.locators import chapter_names
    from chapbook.layout.paginate import segments

    book = load_book(BUNDLED, Diagnostics())
    with mock.patch.object(templating, "chapter_names", wraps=chapter_names) as made:
        for segment in segments(book):
            templating.render_book_html(book, sections=("body",), segment=segment)
        templating.render_book_html(book)
    assert made.call_count == 0
    assert book.chapter_names == chapter_names(book.chapters) != {}


def test_glossary_and_index_text_is_set_with_the_essays_quotes_and_dashes(
        tmp_path: Path) -> None:
    """A term file's text is typed as plain YAML, with straight quotes: the essays' text had
    curly quotes and apostrophes while the glossary and index beside them kept "keeper's log"
    (a newcomer's book). Both are now set as the essays are, in every edition."""
    from .test_untrusted import small_book

    essay = ("# Lights\n\nThe keeper's log was kept daily. The keepers' wives kept it too. "
             "The log says \"calm\".\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "glossary.yml").write_text(
        "terms:\n  - term: keeper's log\n    definition: 'The \"daily\" record of a light, "
        "1820--1850.'\n", "utf-8")
    (manifest.parent / "index.yml").write_text(
        "headings:\n  - heading: keepers' wives\n    see_also: [keeper's log]\n"
        "  - heading: keeper's log\n", "utf-8")
    manifest.write_text(manifest.read_text() + "glossary: glossary.yml\nindex: index.yml\n")
    out = tmp_path / "out"
    result = run_cli("build", "html", "epub", "--book", str(manifest), "--out", str(out))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    page = lxml_html.parse(str(out / "small.html")).getroot()
    [term] = page.xpath("//dl[@class='glossary-list']//dfn")
    assert term.text_content() == "keeper’s log"
    [definition] = page.xpath("//p[@class='gloss-definition']")
    assert definition.text_content() == "The “daily” record of a light, 1820–1850."
    index = [span.text_content() for span in page.xpath("//span[@class='index-term']")]
    assert index == ["keeper’s log", "keepers’ wives"], index
    [see_also] = page.xpath("//span[@class='index-see-also']")
    assert see_also.text_content() == "See also keeper’s log.", see_also.text_content()
    import zipfile

    with zipfile.ZipFile(out / "small.epub") as archive:
        text = " ".join(archive.read(name).decode() for name in archive.namelist()
                        if name.endswith(".xhtml"))
    assert "keeper’s log" in text and "keeper's log" not in text


def test_a_heading_that_only_groups_its_subentries_is_no_warning(tmp_path: Path) -> None:
    """"illuminants" with `forms: []` gathers "colza oil" and "paraffin": it fell back to its
    own word as a form and was warned of as occurring nowhere, so `--strict` failed unless the
    word was worked into the text (a newcomer's book). A heading whose sub-entries occur is in
    use; one with neither is still a warning."""
    from .test_untrusted import small_book

    essay = "# Lamps\n\nThe lamps burned colza oil, then paraffin.\n"
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "index.yml").write_text(
        "headings:\n  - heading: illuminants\n    forms: []\n    subentries:\n"
        "      - heading: colza oil\n      - heading: paraffin\n"
        "  - heading: lamps\n    subentries:\n      - heading: paraffin\n"
        "  - heading: wicks\n    subentries:\n      - heading: cotton\n", "utf-8")
    manifest.write_text(manifest.read_text() + "index: index.yml\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2 and all("occurs nowhere" in line for line in warnings), warnings
    assert "'wicks'" in warnings[0] and "'wicks, cotton'" in warnings[1], warnings
    page = lxml_html.parse(str(tmp_path / "out" / "small.html")).getroot()
    terms = [span.text_content() for span in page.xpath("//span[@class='index-term']")]
    assert terms == ["illuminants", "colza oil", "paraffin", "lamps", "paraffin"], terms


def test_letters_without_a_decomposition_sort_and_group_with_their_base_letter(
        tmp_path: Path) -> None:
    """Accents were folded by Unicode decomposition alone, and Ł, Đ, Ø and the dotless ı have
    none: "Łódź" had a letter group of its own after Z, away from "Lodz. See Łódź.", and the
    glossary put "ılıca" after "Zamość" while the index filed it under I."""
    from .test_untrusted import small_book

    names = ["Lublin", "Łódź", "Zamość", "Dutch", "Đà Nẵng", "ılıca", "İzmir", "Ørsted",
             "Oslo", "Æthelred", "Aachen", "Þingvellir", "Tallinn"]
    manifest = small_book(tmp_path / "book", {"a.md": "# Places\n\n" + ", ".join(names) + ".\n"})
    (manifest.parent / "index.yml").write_text(
        "headings:\n" + "".join(f"  - heading: {name}\n" for name in names)
        + "  - heading: Lodz\n    see: Łódź\n", "utf-8")
    (manifest.parent / "glossary.yml").write_text(
        "terms:\n" + "".join(f"  - term: {name}\n    definition: a place.\n" for name in names),
        "utf-8")
    manifest.write_text(manifest.read_text("utf-8")
                        + "glossary: glossary.yml\nindex: index.yml\n", "utf-8")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    page = lxml_html.parse(str(tmp_path / "out" / "small.html")).getroot()
    groups: dict[str, list[str]] = {}
    letter = ""
    for element in page.xpath("//section[contains(@class, 'index')]"
                              "//*[self::h2 or self::li[not(contains(@class, 'subentry'))]]"):
        if element.tag == "h2":
            letter = element.text_content().strip()
        else:
            groups.setdefault(letter, []).append(element.text_content().split(",")[0].strip())
    assert list(groups) == ["A", "D", "I", "L", "O", "T", "Z"]
    assert groups["A"] == ["Aachen", "Æthelred"]
    assert groups["D"] == ["Đà Nẵng", "Dutch"]
    assert groups["I"] == ["ılıca", "İzmir"]
    assert groups["L"] == ["Lodz. See Łódź.", "Łódź", "Lublin"]
    assert groups["O"] == ["Ørsted", "Oslo"]
    assert groups["T"] == ["Tallinn", "Þingvellir"]
    glossary = [term.text_content().strip() for term in
                page.xpath("//*[contains(@class, 'glossary-list')]/dt")]
    assert glossary == ["Aachen", "Æthelred", "Đà Nẵng", "Dutch", "ılıca", "İzmir", "Łódź",
                        "Lublin", "Ørsted", "Oslo", "Tallinn", "Þingvellir", "Zamość"]


def test_terms_in_scripts_with_vowel_signs_or_without_spaces_are_found(tmp_path: Path) -> None:
    """Words were runs of `\\w`, which Devanagari's vowel signs and virama are not, so "रेशम"
    was three words and never matched; and Japanese or Chinese, written without spaces, was
    one word a whole sentence long, so "正倉院" inside it was never found either. Both were
    warned of as used nowhere."""
    from .test_untrusted import small_book

    names = ["रेशम", "正倉院", "丝绸之路", "İznik"]
    essay = ("# Silk\n\nSilk is रेशम in Hindi.\n\n奈良の正倉院には宝物がある。\n\n"
             "The Chinese say 丝绸之路。 The tiles of İznik.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "index.yml").write_text(
        "headings:\n" + "".join(f"  - heading: {name}\n" for name in names) + "  - heading: 倉院\n"
        "    forms: [倉院]\n", "utf-8")
    manifest.write_text(manifest.read_text("utf-8") + "index: index.yml\n", "utf-8")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "[unused-term]" not in result.stderr, result.stderr
    page = lxml_html.parse(str(tmp_path / "out" / "small.html")).getroot()
    entries = {entry.text_content().split(",")[0].strip(): entry.xpath(".//a/@href")
               for entry in page.xpath("//section[contains(@class, 'index')]//li")}
    for name in [*names, "倉院"]:  # within a run of kanji, as an indexer of Japanese finds it
        assert len(entries[name]) == 1, (name, entries)
    marked = page.xpath("//*[@id = substring-after(//li[starts-with(normalize-space(), "
                        "'रेशम')]//a/@href, '#')]")
    assert marked and "रेशम" in marked[0].getparent().text_content()


def test_see_also_references_are_in_alphabetical_order(tmp_path: Path) -> None:
    """An index's "See also" listed its headings in the order the YAML gave them ("See also
    quarantine; plague hospitals"); Chicago lists them alphabetically (CMOS 15.20)."""
    from .test_untrusted import small_book

    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nLazarets, quarantine and plague "
                                                      "hospitals.\n"})
    (manifest.parent / "index.yml").write_text(
        "headings:\n  - heading: lazarets\n    see_also: [quarantine, plague hospitals]\n"
        "  - heading: quarantine\n  - heading: plague hospitals\n", "utf-8")
    manifest.write_text(manifest.read_text("utf-8") + "index: index.yml\n", "utf-8")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    page = lxml_html.parse(str(tmp_path / "out" / "small.html")).getroot()
    [see_also] = page.xpath("//span[@class='index-see-also']")
    assert see_also.text_content() == "See also plague hospitals; quarantine."
