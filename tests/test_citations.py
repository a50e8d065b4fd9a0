"""Citations and reference lists (issue 13): the briefing book cites from BibTeX and CSL-JSON in
Chicago author-date with a list per chapter; a small book uses the Chicago notes style with one
list for the book. Read back from every edition, and checked by EPUBCheck."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree, html
from pypdf import PdfReader

from .conftest import ROOTS, EpubCheck, run_cli
from .test_epub import linked, package
from .test_untrusted import small_book

SLUG = "nile-briefing"


def _text(element: etree._Element) -> str:
    """The text as read: the word joiner that keeps a note call on its word's line unseen."""
    return " ".join("".join(element.itertext()).replace("\u2060", "").split())


def test_every_citation_links_to_its_entry_in_the_chapters_list(briefing: Path) -> None:
    page = html.fromstring((briefing / f"{SLUG}.html").read_bytes())
    citations = page.xpath("//a[@class='citation']")
    assert len(citations) >= 6
    for citation in citations:
        [entry] = page.xpath("//li[@id=$id]", id=citation.get("href")[1:])
        [chapter] = citation.xpath("ancestor::article")
        assert entry.xpath("ancestor::article") == [chapter]  # the list of its own chapter
        assert entry.xpath("ancestor::section[@role='doc-bibliography']")
    treaties = page.get_element_by_id("treaties")
    entries = [_text(li) for li in treaties.xpath(".//ul[@class='reference-list']/li")]
    assert entries == sorted(entries)  # in the style's order: by author
    assert entries[-1].startswith("Waterbury, John. 2002. The Nile Basin")
    assert any(entry.startswith("Nile Basin Initiative. 2012.") for entry in entries)  # JSON
    text = _text(treaties)
    assert "(Tvedt 2004, 85–90)" in text
    assert "(see Waterbury 2002, 33; Nile Basin Initiative 2012)" in text
    assert "Cascão and Zeitoun (2010) read it as hegemony contested (2002)" in text


def test_no_citation_syntax_reaches_any_edition(briefing: Path) -> None:
    pdf = " ".join(page.extract_text() for page in PdfReader(briefing / f"{SLUG}.pdf").pages)
    archive, _, _ = package(briefing / f"{SLUG}.epub")
    epub = " ".join(_text(etree.fromstring(archive.read(name)))
                    for name in archive.namelist() if name.endswith(".xhtml"))
    web = _text(html.fromstring((briefing / f"{SLUG}.html").read_bytes()))
    for edition, text in (("pdf", pdf), ("epub", epub), ("html", web)):
        assert not re.search(r"\[@|-@|@(?:waterbury|cascao|tvedt|nbi)", text), edition
        assert "Tvedt 2004" in text, edition


def test_the_epubs_citations_reach_their_entries(briefing: Path) -> None:
    pairs = linked(briefing / f"{SLUG}.epub", "citation")
    assert len(pairs) >= 6
    for _, entry in pairs:
        assert entry.get("{http://www.idpf.org/2007/ops}type") == "biblioentry"


def test_an_unknown_key_and_a_book_without_bibliography_are_warned_at_their_line(
        tmp_path: Path) -> None:
    essay = "# A\n\nText.\n\nAs shown [@nowhere2020, p. 3], and @nowhere2020 says.\n"
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "essays/a.md:5: warning: '[@nowhere2020, p. 3]' cites a work, but the book has no " \
        "bibliography" in result.stderr
    body = _text(html.fromstring((tmp_path / "out" / "small.html").read_bytes()))
    assert "[@" not in body and "As shown (nowhere2020?), and" in body
    assert "@nowhere2020 says" in body  # without a bibliography, an @ in the text is text
    shutil.copy(ROOTS / "briefing" / "refs.bib", manifest.parent / "refs.bib")
    manifest.write_text(manifest.read_text() + "bibliography: refs.bib\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert "essays/a.md:5: warning: '@nowhere2020' is not in the bibliography" \
        in result.stderr
    body = _text(html.fromstring((tmp_path / "out" / "small.html").read_bytes()))
    assert "As shown (nowhere2020?), and nowhere2020? says" in body  # with one, it cites
    check = run_cli("check", "--book", str(manifest))
    assert "a.md:5: warning: '@nowhere2020' is not in the bibliography" in check.stdout


def test_a_notes_style_puts_citations_in_numbered_notes_and_one_list_at_the_end(
        tmp_path: Path, epubcheck: EpubCheck) -> None:
    essay = ("# A\n\nFirst claim [@waterbury2002, p. 33].[^1] Second [see @cascao2010]. "
             "Third [@cascao2010, chap. 2].\n\n[^1]: An author's note that cites [@tvedt2004].\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    shutil.copy(ROOTS / "briefing" / "refs.bib", manifest.parent / "refs.bib")
    manifest.write_text(manifest.read_text() + "bibliography: refs.bib\n"
                        "csl: chicago-notes-bibliography\nreferences: book\n")
    result = run_cli("build", "html", "epub", "pdf", "--book", str(manifest), "--out",
                     str(tmp_path / "out"))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    notes = [_text(li) for li in page.xpath("//section[@role='doc-endnotes']//li")]
    # each call after the punctuation that followed the citation, with no space before it
    text = _text(page.xpath("//div[@class='chapter-body']/p")[0])
    assert text.startswith("First claim.1") and "Second.3" in text and "Third.4" in text
    # calls numbered in reading order: the citation, the author's note, the second citation
    assert notes[0].startswith("John Waterbury, The Nile Basin")
    assert notes[0].rstrip("↩ a.").endswith("33")
    # a citation inside an author's note is in parentheses, and does not end its sentence
    assert notes[1].startswith("An author’s note that cites (Terje Tvedt, The River Nile")
    assert ".." not in notes[1]
    assert notes[2].startswith("See Ana Elisa Cascão and Mark Zeitoun")  # a note's capital
    # the short form of a later note, with a chapter as its locator (two citeproc-py slips
    # mended in the shipped styles: no stray "edition", and "chap." kept)
    assert notes[3].startswith("Cascão and Zeitoun, ") and "edition" not in notes[3]
    assert notes[3].rstrip("↩ a").endswith("chap. 2.")
    references = page.get_element_by_id("references")
    assert [li.get("id") for li in references.xpath(".//li")] == \
        ["ref-cascao2010", "ref-tvedt2004", "ref-waterbury2002"]
    text = " ".join(p.extract_text() for p in PdfReader(tmp_path / "out" / "small.pdf").pages)
    assert "References" in text and "Waterbury, John. The Nile Basin" in " ".join(text.split())
    assert epubcheck(tmp_path / "out" / "small.epub") == []


def test_bibliography_mistakes_are_errors_at_their_line(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nText.\n"})
    base = manifest.read_text()
    for extra, what in (("bibliography: refs.txt\n", "is neither BibTeX (.bib) nor CSL-JSON"),
                        ("bibliography: missing.bib\n", "bibliography 'missing.bib' does not "
                         "exist"),
                        ("bibliography: refs.bib\ncsl: harvard\n",
                         "'harvard' is neither a CSL file in the book's folder nor a style")):
        (manifest.parent / "refs.bib").write_text("@book{a, title = {A}, year = {2000}}\n")
        manifest.write_text(base + extra)
        result = run_cli("build", "html", "--book", str(manifest), "--out",
                         str(tmp_path / "out"))
        assert result.returncode == 1 and what in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_a_page_cited_stays_in_its_citation_and_the_list_gives_the_articles_pages(
        tmp_path: Path) -> None:
    """A locator belongs to its citation: the reference list gives the article's own pages
    (`pages = {27--41}`), whichever page the first citation named; and a range typed with
    BibTeX's `--`, as Pandoc takes it, is one locator set with an en dash."""
    essay = ("# A\n\nFirst [@cascao2010, p. 33]. Then [@tvedt2004, pp. 26--168]. "
             "Last [@waterbury2002, pp. 3-5].\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    shutil.copy(ROOTS / "briefing" / "refs.bib", manifest.parent / "refs.bib")
    manifest.write_text(manifest.read_text() + "bibliography: refs.bib\nreferences: book\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    text = _text(page.xpath("//div[@class='chapter-body']/p")[0])
    assert "First (Cascão and Zeitoun 2010, 33)." in text
    assert "Then (Tvedt 2004, 26–168)." in text and "--" not in text
    assert "Last (Waterbury 2002, 3–5)." in text
    [entry] = [_text(li) for li in page.xpath("//li[@id='ref-cascao2010']")]
    assert "27–41" in entry and "33" not in entry, entry


THESES_AND_PAMPHLETS = """@phdthesis{okoth2019,
  author = {Okoth, Grace},
  title = {Rivers and Ministries},
  school = {University of Nairobi},
  year = {2019}
}

@incollection{lamb2001,
  author = {Lamb, Peter},
  title = {The Upper Basin's Keepers},
  booktitle = {Waters of the Nile},
  editor = {Hurst, Harold},
  publisher = {Cairo University Press},
  address = {Cairo},
  pages = {12--30},
  year = {2001}
}

@book{nicholson1995,
  author = {Nicholson, Christopher},
  title = {Rock Lighthouses of Britain: The End of an Era?},
  publisher = {Whittles},
  year = {1995}
}

@misc{nbi2015,
  author = {{Nile Basin Initiative}},
  title = {The State of the Basin?},
  howpublished = {Nile Basin Initiative Secretariat},
  year = {2015},
  keywords = {basin, report},
  eprint = {1234.5678}
}
"""


def test_bibtex_fields_citeproc_py_leaves_out_reach_the_list_and_the_rest_are_named(
        tmp_path: Path) -> None:
    """A thesis's school, a chapter's book and editor, a pamphlet's publisher, as Pandoc and
    Zotero read BibTeX; a field no list shows is a warning at its line, and citeproc-py's own
    warnings (with their paths inside the environment) never reach the terminal."""
    essay = ("# A\n\nOne [@okoth2019]. Two [@lamb2001, p. 14]. Three [@nbi2015]. "
             "Four [@nicholson1995].\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "refs.bib").write_text(THESES_AND_PAMPHLETS, "utf-8")
    manifest.write_text(manifest.read_text() + "bibliography: refs.bib\nreferences: book\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line.lower()]
    assert warnings == [f"{manifest.parent / 'refs.bib'}:32: warning: the BibTeX field 'eprint' "
                        "of 'nbi2015' is not read, so no reference list shows it: move what it "
                        "says into `note`, or remove it [bibliography]"], result.stderr
    assert "site-packages" not in result.stderr
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    entries = {li.get("id"): _text(li) for li in page.xpath("//li[starts-with(@id, 'ref-')]")}
    assert "PhD thesis" in entries["ref-okoth2019"], entries
    assert "University of Nairobi" in entries["ref-okoth2019"]
    chapter = entries["ref-lamb2001"]
    assert "Waters of the Nile" in chapter and "Hurst" in chapter, chapter
    assert "Basin’s Keepers" in chapter  # the essays' apostrophe, not the .bib's
    assert "Cairo University Press" in chapter and "14" not in chapter  # (as Pandoc sets it)
    assert "Nile Basin Initiative Secretariat" in entries["ref-nbi2015"], entries
    assert "Preprint" not in entries["ref-nbi2015"]
    # CSL's punctuation, which citeproc-py leaves undone: no full stop after a title's own
    # question mark, and in American English the stop inside the closing quote, as Pandoc sets it
    assert "Era?. Whittles" not in entries["ref-nicholson1995"], entries["ref-nicholson1995"]
    assert "The End of an Era? Whittles" in entries["ref-nicholson1995"]
    assert "“Rivers and Ministries.”" in entries["ref-okoth2019"], entries["ref-okoth2019"]


def _cited_book(tmp_path: Path, essay: str, bib: str, settings: str = "references: book\n"
                ) -> html.HtmlElement:
    """A one-essay book citing from `bib`, built as HTML without a warning: its page."""
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "refs.bib").write_text(bib, "utf-8")
    manifest.write_text(manifest.read_text() + "bibliography: refs.bib\n" + settings)
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    return html.fromstring((tmp_path / "out" / "small.html").read_bytes())


OTHER_LANGUAGES = """@book{bartold1900,
  author = {Бартольд, Василий},
  title = {Туркестан в эпоху монгольского нашествия},
  publisher = {Киршбаум},
  year = {1900}
}

@book{papadopoulos1999,
  author = {Παπαδόπουλος, Γιώργος},
  title = {Ο δρόμος του μεταξιού},
  publisher = {Εστία},
  year = {1999}
}

@book{frankopan2015,
  author = {Frankopan, Peter},
  title = {The silk roads: a new history of the world},
  publisher = {Bloomsbury},
  langid = {british},
  year = {2015}
}

@book{hansen2012,
  author = {Hansen, Valerie},
  title = {The silk road: a new history},
  publisher = {Oxford University Press},
  langid = {american},
  year = {2012}
}

@book{sinor1963,
  author = {Sinor, Denis},
  title = {Introduction à l'étude de l'Eurasie centrale},
  publisher = {Harrassowitz},
  langid = {french},
  year = {1963}
}
"""


def test_titles_in_other_languages_keep_their_case_and_english_ones_take_title_case(
        tmp_path: Path) -> None:
    """A style's title case is for English titles (CSL 1.0.2): a Russian or Greek title with
    no `langid` was set "Туркестан В Эпоху Монгольского Нашествия"; and biblatex's language
    names (`american`, `british`) were not read as English, so those titles were not cased."""
    essay = ("# A\n\nCited [@bartold1900; @papadopoulos1999; @frankopan2015; @hansen2012; "
             "@sinor1963].\n")
    page = _cited_book(tmp_path, essay, OTHER_LANGUAGES)
    entries = {li.get("id"): _text(li) for li in page.xpath("//li[starts-with(@id, 'ref-')]")}
    assert "Туркестан в эпоху монгольского нашествия" in entries["ref-bartold1900"]
    assert "Ο δρόμος του μεταξιού" in entries["ref-papadopoulos1999"]
    assert "The Silk Roads: A New History of the World" in entries["ref-frankopan2015"]
    assert "The Silk Road: A New History" in entries["ref-hansen2012"]
    assert "Introduction à l’étude de l’Eurasie centrale" in entries["ref-sinor1963"]


@pytest.mark.parametrize("command", ["check", "build"])
@pytest.mark.parametrize("bib, line", [
    ("@book{a,\n  author = {Levitt, Theresa},\n  title = {A Flash},\n  year = {2013}\n", 1),
    ("@book{a, title = {A}, year = {2000}}\n\n@book{b,\n  title = {A Short Bright Flash,\n"
     "  year = {2013}\n}\n\n@book{c, title = {C}, year = {2001}}\n", 3),
])
def test_an_entry_left_open_is_an_error_at_its_line_not_a_hang(
        tmp_path: Path, command: str, bib: str, line: int) -> None:
    """citeproc-py's BibTeX reader loops for ever on an entry or a field whose brace is never
    closed: `check` spun until killed, and a build ran to its 15-minute limit, which then
    blamed "something very large" in no named file."""
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nText [@a].\n"})
    (manifest.parent / "refs.bib").write_text(bib, "utf-8")
    manifest.write_text(manifest.read_text() + "bibliography: refs.bib\n")
    arguments = ["--out", str(tmp_path / "out")] if command == "build" else []
    # a process of its own, which the test can stop, should it hang again
    result = subprocess.run([sys.executable, "-m", "chapbook", command, "--book", str(manifest),
                             *arguments], capture_output=True, text=True, timeout=60)
    said = result.stdout + result.stderr  # (check reports on stdout)
    assert result.returncode != 0
    assert f"refs.bib:{line}: error:" in said and "never closed" in said, said
    assert "Traceback" not in said


@pytest.mark.parametrize("bib, said", [
    ("@book{a, title = {A} year = {2000}}\n", "not separated by commas"),
    ("@{a, title = {A}}\n", "refs.bib:1: error: the bibliography cannot be read: an entry has "
                            "no type"),
    ("@book{a,\n  title = Lights,\n  year = {2000}}\n",
     "refs.bib:2: error: the bibliography cannot be read: 'lights' is neither an entry type "
     "nor a @string abbreviation"),
])
def test_a_malformed_entry_is_one_clear_error(tmp_path: Path, bib: str, said: str) -> None:
    """A missing comma crashed the build ("chapbook failed unexpectedly (AssertionError)"),
    and an unknown abbreviation was "cannot be read: 'lights'", with no line."""
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nText [@a].\n"})
    (manifest.parent / "refs.bib").write_text(bib, "utf-8")
    manifest.write_text(manifest.read_text() + "bibliography: refs.bib\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 1 and said in result.stderr, result.stderr
    assert "unexpectedly" not in result.stderr


NOTES_BIB = """@book{kraut1994,
  author = {Kraut, Alan M.},
  title = {Silent Travelers: Germs, Genes, and the Immigrant Menace},
  publisher = {Basic Books},
  year = {1994}
}

@book{creighton1894,
  author = {Creighton, Charles},
  title = {A History of Epidemics in Britain},
  volume = {2},
  publisher = {Cambridge University Press},
  year = {1894}
}

@misc{asv1631,
  author = {{Provveditori alla Sanità}},
  title = {Notatorio, 1630--1631.},
  year = {1631}
}

@article{arcy1960,
  author = {d'Arcy, Jean},
  title = {L'Europe et la peste d'Orient},
  langid = {french},
  journal = {Revue},
  volume = {4},
  pages = {1--20},
  year = {1960}
}
"""


def test_a_notes_style_keeps_the_author_in_the_sentence_and_sets_notes_as_chicago_does(
        tmp_path: Path) -> None:
    """In a notes style, `@kraut1994 traces…` lost the author from the sentence (“³ traces…”),
    `@key [pp. 78--96]` left its bracket in the text, a citation inside an author's note lost
    its parentheses, a note opened "see …", notes kept straight apostrophes, "--" after a
    labelled locator stayed, an entry with a `volume` crashed the build, a short note gave
    the whole title where Chicago and Pandoc give the part before its colon, a title's own full
    stop doubled the style's, and a @misc entry, which citeproc-py sets as nothing in this
    style's list, crashed the build ("zip() argument 2 is shorter")."""
    essay = ("# A\n\n@kraut1994 traces the idea. @kraut1994 [pp. 78--96] again. Creighton "
             "counted [see @creighton1894, vol. 2, pp. 327--331]. D'Arcy [@arcy1960].[^n]\n\n"
             "[^n]: As argued [@kraut1994, 9], and as @arcy1960 [p. 4] shows. The register "
             "[@asv1631] and again [@asv1631].\n")
    page = _cited_book(tmp_path, essay, NOTES_BIB, "csl: chicago-notes-bibliography\n")
    [body] = page.xpath("//div[@class='chapter-body']/p")
    for copy in body.xpath(".//span[@class='footnote']"):
        copy.drop_tree()  # (each note's copy for print)
    assert " ".join(_text(body).split()) == ("Alan M. Kraut1 traces the idea. Kraut2 again. "
                                             "Creighton counted.3 D’Arcy.4,5")
    notes = [" ".join(_text(note).replace("↩", "").split())
             for note in page.xpath("//section[contains(@class, 'endnotes')]//li")]
    assert notes == [
        "Alan M. Kraut, Silent Travelers: Germs, Genes, and the Immigrant Menace (Basic Books, "
        "1994).",
        "Kraut, Silent Travelers, 78–96.",
        "See Charles Creighton, A History of Epidemics in Britain, vol. 2 (Cambridge "
        "University Press, 1894), vol. 2, pp. 327–331.",
        "Jean d’Arcy, “L’Europe et la peste d’Orient,” Revue 4 (1960): 1–20.",
        "As argued (Kraut, Silent Travelers, 9), and as d’Arcy, “L’Europe et la peste "
        "d’Orient,” 4 shows. The register (Provveditori alla Sanità, “Notatorio, 1630–1631,” "
        "1631) and again (Provveditori alla Sanità, “Notatorio, 1630–1631.”)."], notes


BIBLATEX = """@article{times1831,
  title = {The Cholera Morbus},
  journaltitle = {The Times},
  date = {1831-06-23},
  pages = {3}
}

@book{foucault1977,
  author = {Foucault, Michel},
  title = {Discipline and Punish},
  translator = {Sheridan, Alan},
  publisher = {Pantheon},
  year = {1977}
}

@mvbook{sticker1908,
  author = {Sticker, Georg},
  title = {Abhandlungen aus der Seuchengeschichte},
  langid = {german},
  publisher = {Töpelmann},
  date = {1908}
}
"""


def test_biblatex_fields_zotero_exports_reach_the_list(tmp_path: Path) -> None:
    """Zotero's biblatex export dates a work with `date`, which citeproc-py skips: every
    newspaper article was "n.d."; a `translator` was dropped, and @mvbook was refused."""
    essay = "# A\n\nCited [@times1831; @foucault1977; @sticker1908].\n"
    page = _cited_book(tmp_path, essay, BIBLATEX)
    entries = {li.get("id"): " ".join(_text(li).split())
               for li in page.xpath("//li[starts-with(@id, 'ref-')]")}
    assert "1831" in entries["ref-times1831"] and "n.d." not in entries["ref-times1831"]
    assert "Sheridan" in entries["ref-foucault1977"]
    assert "1908" in entries["ref-sticker1908"]
    cited = " ".join(_text(page.xpath("//div[@class='chapter-body']/p")[0]).split())
    assert cited == "Cited (“The Cholera Morbus” 1831; Foucault 1977; Sticker 1908).", cited


def test_a_comment_with_an_open_brace_is_no_open_entry(tmp_path: Path) -> None:
    """The check for an entry left open (citeproc-py loops on one) must not take a @comment,
    which may hold anything, for one."""
    page = _cited_book(tmp_path, "# A\n\nCited [@a].\n",
                       "@comment{ an open { brace\n@book{a, author = {Lamb, Peter}, "
                       "title = {A}, year = {2000}}\n")
    assert "Lamb" in page.text_content()
