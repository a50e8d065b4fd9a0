"""chapbook's own words in the book's language, and a whole book in Arabic set right to left in
every edition: the EPUB's page progression, rectos on the left in print with folios and running
heads on the right sides, the booklet bound on the right."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from lxml import etree, html
from pypdf import PdfReader

from chapbook.words import Words, languages

from .conftest import BUNDLED, ROOT, ROOTS, EpubCheck, run_cli
from .test_untrusted import small_book

ENGLISH = ["Contents", "Chapter 1", "Part I", "Key points", "Glossary", "Index", "See also",
           "Published by", "Identifier", "Notes", "Back to note", "Title page", "Imprint"]
OPF = {"opf": "http://www.idpf.org/2007/opf"}


def test_the_words_are_there_in_every_language_the_readme_names() -> None:
    assert {"en", "fr", "de", "es", "ar", "zh"} <= set(languages())
    assert Words("fr-CA")("contents") == Words("fr")("contents") == "Table des matières"
    assert Words("pt-BR")("contents") == "Contents"  # not in the table: English
    assert Words("de")("chapter", number=3) == "Kapitel 3"
    assert Words("de").date("2026-03-04") == "4. März 2026"
    assert Words("zh-Hans").date("2026-03-04") == "2026年3月4日"
    assert Words("en").date("2026-03-04") == "4 March 2026"
    assert Words("en-US").date("2026-03-04") == "March 4, 2026"



def test_the_table_of_long_dates_writes_each_date_as_babel_does() -> None:
    """templates/dates.tsv stands in for Babel (words.py): for every locale it holds, every
    month, a day of one digit and of two and a year of three digits come out as Babel writes
    them."""
    from babel import Locale
    from babel.dates import format_date

    from chapbook.words import _formatted, _long_date

    table = (ROOT / "templates" / "dates.tsv").read_text("utf-8").splitlines()[1:]
    assert len(table) > 1000
    days = [date(year, month, day) for year in (2026, 987) for month in range(1, 13)
            for day in (1, 22)]
    for line in table:
        locale = line.split("\t")[0]
        known = _long_date(locale)
        assert known is not None
        written = [_formatted(*known, day) for day in days]
        assert written == [format_date(day, format="long", locale=Locale.parse(locale))
                           for day in days], locale


def test_a_build_writes_its_date_without_loading_babel(tmp_path: Path) -> None:
    """Babel's code and data, loaded for the imprint's one date, stayed to the end of the build
    (words.py): the bundled book's date comes from the table."""
    script = ("import sys; from chapbook.cli import main; "
              f"main(['build', 'html', '--quiet', '--book', {str(BUNDLED)!r}, '--out', "
              f"{str(tmp_path)!r}]); print('babel' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.stdout.split()[-1] == "False", result.stderr
    assert "<time datetime=" in (tmp_path / "defence-diplomacy-briefing.html").read_text("utf-8")

def _small_book(folder: Path, language: str) -> Path:
    (folder / "essays").mkdir(parents=True)
    (folder / "book.yml").write_text(
        f"slug: words\nmetadata:\n  title: Zwei Flüsse\n  author: A. B.\n"
        f"  language: {language}\n  publisher: Verlag\n"
        "  identifier: urn:uuid:5b9e2f1c-7a3d-4c6b-8e1f-0a2b3c4d5e6f\n  date: 2026-03-04\n"
        "parts:\n  - title: Erste\n    chapters:\n      - file: essays/eins.md\n"
        "        key_points: [Eins, Zwei]\n"
        "back_matter: [glossary, index]\nglossary: glossary.yml\nindex: index.yml\n", "utf-8")
    (folder / "essays" / "eins.md").write_text(
        "# Flüsse\n\nDer Nil und der Rhein.[^1] Der Nil ist lang.\n\n[^1]: Eine Anmerkung.\n",
        "utf-8")
    (folder / "glossary.yml").write_text(
        "terms:\n  - term: Nil\n    forms: [Nil]\n    definition: Ein Fluss.\n"
        "    see_also: [Rhein]\n  - term: Rhein\n    forms: [Rhein]\n"
        "    definition: Ein anderer Fluss.\n", "utf-8")
    (folder / "index.yml").write_text(
        "headings:\n  - heading: Nil\n    forms: [Nil]\n    see_also: [Rhein]\n"
        "  - heading: Rhein\n    forms: [Rhein]\n", "utf-8")
    return folder / "book.yml"


@pytest.mark.parametrize("language", ["fr", "de-DE", "es", "zh-Hans"])
def test_a_book_says_its_own_words_in_its_language(language: str, tmp_path: Path) -> None:
    manifest = _small_book(tmp_path / "book", language)
    out = tmp_path / "out"
    result = run_cli("build", "html", "epub", "--book", str(manifest), "--out", str(out))
    assert result.returncode == 0, result.stderr
    words = Words(language)
    page = (out / "words.html").read_text("utf-8")
    text = re.sub(r"\s+", " ", html.fromstring(page).text_content())
    for key, values in [("contents", {}), ("part", {"number": "I"}), ("chapter", {"number": 1}),
                        ("key_points", {}), ("glossary", {}), ("index", {}), ("see_also", {}),
                        ("published_by", {"publisher": "Verlag"}), ("notes", {})]:
        assert words(key, **values) in text, (key, words(key, **values))
    assert words.date("2026-03-04") in text
    with zipfile.ZipFile(out / "words.epub") as epub:
        documents = "".join(epub.read(name).decode("utf-8") for name in epub.namelist()
                            if name.endswith(".xhtml"))
    # no English word of chapbook's own in the text, the names screen readers read, or titles
    own = {words(key) for key in ("index", "notes", "glossary")}  # "Index" is French too
    for english in [english for english in ENGLISH if english not in own]:
        for where, content in (("HTML", page), ("EPUB", documents)):
            assert not re.search(rf"[>\"]\s*{re.escape(english)}\b", content), (where, english)
    assert words("chapter", number=1) in documents and words("contents") in documents


@pytest.fixture(scope="module")
def arabic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("arabic")
    result = run_cli("build", "all", "booklet", "--book", str(ROOTS / "arabic" / "book.yml"),
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr
    return out


def test_the_arabic_epub_reads_right_to_left_and_passes_epubcheck(
        arabic: Path, epubcheck: EpubCheck) -> None:
    with zipfile.ZipFile(arabic / "diplomasiya.epub") as epub:
        opf = etree.fromstring(epub.read("EPUB/content.opf"))
        chapter = epub.read("EPUB/mafhum.xhtml").decode("utf-8")
        nav = epub.read("EPUB/nav.xhtml").decode("utf-8")
    assert opf.find("opf:spine", OPF).get("page-progression-direction") == "rtl"
    assert re.search(r'<html[^>]*dir="rtl"', chapter) and 'lang="ar"' in chapter
    assert "المحتويات" in nav and "الفصل 1" in chapter
    assert epubcheck(arabic / "diplomasiya.epub") == []


def _words(pdf: Path, page: int) -> list[tuple[float, float, str]]:
    """(x, y, text) of every word on a page, as poppler reads it."""
    result = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf),
                             "-"], capture_output=True, text=True, check=True).stdout
    return [(float(x), float(y), text) for x, y, text in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', result)]


def test_the_arabic_pdf_has_its_rectos_on_the_left(arabic: Path) -> None:
    pdf = arabic / "diplomasiya.pdf"
    reader = PdfReader(pdf)
    width = float(reader.pages[0].mediabox.width)
    height = float(reader.pages[0].mediabox.height)
    title = "الدبلوماسية الدفاعية في حوض النيل"
    folios = heads = 0
    for number in range(1, len(reader.pages) + 1):
        words = _words(pdf, number)
        bottom = [(x, text) for x, y, text in words if y > height - 60 and text.isdigit()]
        if bottom:  # the folio, on the outer corner: the left of a recto (odd), right of a verso
            [(x, folio)] = bottom
            assert int(folio) == number
            assert (x < width / 2) == (number % 2 == 1), (number, x)
            folios += 1
        top = " ".join(text for _, y, text in words if y < 50)
        if top:  # the running head: the chapter's on a recto, the book's title on a verso
            # poppler reads an Arabic line's letters back in either order
            assert (title in top or title[::-1] in top) == (number % 2 == 0), (number, top)
            heads += 1
    assert folios >= 2 and heads >= 2
    everything = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                check=True).stdout
    # poppler splits some Arabic words at a ligature and marks runs with embedding controls
    def squeezed(text: str) -> str:
        return re.sub(r"[\s\u202a-\u202e]", "", text)
    assert squeezed("المحتويات") in squeezed(everything)
    # the date by Babel ("4 مارس 2026"), its parts in whichever order poppler reads them back
    assert all(part in squeezed(everything) for part in Words("ar").date("2026-03-04").split())
    assert "March" not in everything


def test_the_arabic_booklet_binds_on_the_right(arabic: Path) -> None:
    booklet = arabic / "diplomasiya-booklet.pdf"
    width = float(PdfReader(booklet).pages[0].mediabox.width)
    cover = _words(arabic / "diplomasiya.pdf", 1)
    first_side = _words(booklet, 1)
    # the cover (page 1) lies left of the spine: the fold, and the binding, on its right
    cover_words = {text for _, _, text in cover}
    left = {text for x, _, text in first_side if x < width / 2}
    assert cover_words and cover_words <= left


def test_a_paragraph_in_another_script_says_its_language_in_every_edition(
        tmp_path: Path, epubcheck: EpubCheck) -> None:
    """An Arabic or Hebrew paragraph in an English essay was set right to left but had no
    `lang`: a screen reader read it with the English voice. It says its language (the script's
    main one), in the web edition and the EPUB, and EPUBCheck accepts it."""
    from .test_untrusted import small_book

    essay = ("# Voices\n\nAn English paragraph.\n\n"
             "كانت منارة الإسكندرية إحدى عجائب الدنيا السبع.\n\n"
             "שלום עליכם, אמר השומר.\n\nEnglish again.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = run_cli("build", "html", "epub", "--book", str(manifest), "--out",
                     str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    arabic, hebrew = (page.xpath(f"//p[starts-with(normalize-space(), '{start}')]")[0]
                      for start in ("كانت", "שלום"))
    assert (arabic.get("lang"), arabic.get("dir")) == ("ar", "rtl")
    assert (hebrew.get("lang"), hebrew.get("dir")) == ("he", "rtl")
    assert page.xpath("//p[normalize-space()='An English paragraph.']")[0].get("lang") is None
    with zipfile.ZipFile(tmp_path / "out" / "small.epub") as archive:
        chapter = next(archive.read(name).decode() for name in archive.namelist()
                       if name.endswith(".xhtml") and "שלום" in archive.read(name).decode())
    assert 'lang="he"' in chapter and 'lang="ar"' in chapter
    assert epubcheck(tmp_path / "out" / "small.epub") == []


def _languages_in_structure(pdf_path: Path) -> list[tuple[str, str]]:
    """Each structure element of the PDF that names a language, with the text it holds."""
    import pdfplumber

    found = []
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            text: dict[int, str] = {}
            for char in page.chars:
                if char.get("mcid") is not None:
                    text[char["mcid"]] = text.get(char["mcid"], "") + char["text"]
            if not text:  # a blank page: pdfplumber finds no structure to read, and fails
                continue

            def held(element: dict, text: dict[int, str] = text) -> str:
                return "".join(text.get(mcid, "") for mcid in element.get("mcids", [])) + \
                    "".join(held(child) for child in element.get("children", []))

            waiting = list(page.structure_tree)
            while waiting:
                element = waiting.pop()
                if element.get("lang"):
                    found.append((element["lang"], held(element)))
                waiting += element.get("children", [])
    return found


def test_the_tagged_pdf_says_where_another_language_begins(tmp_path: Path) -> None:
    """PDF/UA asks for each change of language to be declared (ISO 14289-1, 7.2), so that a
    screen reader reading the PDF changes its voice. The HTML's `lang` on a paragraph or a run
    of Greek reached the structure tree of no PDF: only the document's language was there."""
    arabic = "كانت منارة الإسكندرية إحدى عجائب الدنيا السبع."
    essay = (f"# Voices\n\nAn English paragraph.\n\n{arabic}\n\n"
             "The keepers called it λόγος in their letters.\n\nEnglish again.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    declared = _languages_in_structure(tmp_path / "out" / "small.pdf")
    assert ("el", "λόγος") in declared
    # the paragraph's letters, whole (pdfplumber gives them in their order on the page)
    assert [sorted(text.replace(" ", "")) for language, text in declared if language == "ar"] \
        == [sorted(arabic.replace(" ", ""))]
    # the book's own language is the document's, said once in the catalogue, not again here
    assert all(language != "en" for language, _ in declared)
    assert str(PdfReader(tmp_path / "out" / "small.pdf").trailer["/Root"]["/Lang"]) == "en"


@pytest.mark.parametrize("language, typed, quoted", [
    ("de", '"Die Stadt" und \'ihr Hafen\'', "„Die Stadt“ und ‚ihr Hafen‘"),
    ("fr", '"La ville" et \'son port\'', "«\u202fLa ville\u202f» et “son port”"),
    ("ru", '"Город" и \'его порт\'', "«Город» и „его порт“"),
    ("pl", '"Miasto" i \'port\'', "„Miasto” i «port»"),
    ("ja", '"奈良" と \'港\'', "「奈良」 と 『港』"),
    ("en-GB", '"The town" and \'its port\'', "“The town” and ‘its port’"),
])
def test_straight_quotes_become_the_quotes_of_the_chapters_language(
        tmp_path: Path, language: str, typed: str, quoted: str) -> None:
    """The typographer turned every straight quote into English curly quotes, whatever the
    language: a Russian chapter had “Самарканд”, a German one “Stadt”. (Japanese written
    without spaces around its quotes keeps them straight: markdown-it's typographer takes a
    quote between two letters for an apostrophe.)"""
    manifest = small_book(tmp_path / "book", {"a.md": f"# Title\n\nIt says {typed}.\n"},
                          language=language)
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    [paragraph] = page.xpath("//p[starts-with(normalize-space(), 'It says')]")
    assert paragraph.text_content().strip() == f"It says {quoted}."


def test_the_glossary_and_index_take_the_books_quotes(tmp_path: Path) -> None:
    """What the book's YAML files hold is set with the book's quotes, as its essays are."""
    manifest = small_book(tmp_path / "book", {"a.md": "# Titel\n\nDer Hafen liegt still.\n"})
    manifest.write_text(manifest.read_text("utf-8").replace("language: en", "language: de")
                        + "glossary: glossary.yml\n", "utf-8")
    (manifest.parent / "glossary.yml").write_text(
        "terms:\n  - term: Hafen\n    definition: 'Ein \"sicherer\" Ort.'\n", "utf-8")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    assert [p.text_content() for p in page.xpath("//p[@class='gloss-definition']")] \
        == ["Ein „sicherer“ Ort."]
