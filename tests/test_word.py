"""Word in, Word out. `chapbook import` on Word documents built here with pandoc (the library
chapbook reads them with): headings, a footnote and an endnote, a table, two images (one without
alt text), lists, a tracked change and a comment, manual numbering and an empty paragraph; and
the reviewers' edition (`chapbook build docx`), read back through its XML, opened by
LibreOffice, and imported again to give the bundled book's essays back."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import ftfy
import pytest
from lxml import etree
from PIL import Image
from pypandoc import get_pandoc_path

from .conftest import BUNDLED, ROOTS, run_cli

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
PANDOC = str(get_pandoc_path())

SOURCE = r"""---
title: Ports and Their People
author: [Ann Reviewer, Bob Writer]
---

# 1. The harbour books

Some “quoted” text with **bold**, *italic* and a [link](https://example.org).[^1] A
[new]{.insertion author="Ann" date="2026-01-01T00:00:00Z"} word and
[gone]{.deletion author="Ann" date="2026-01-01T00:00:00Z"} word.
[Keep this?]{.comment-start id="0" author="Bob" date="2026-01-01T00:00:00Z"}Commented
text[]{.comment-end id="0"} here.

```{=openxml}
<w:p/>
```

## 1.1 Fees by port

| Port | Ships |
|------|------:|
| Acre |    12 |

![A red square on white](red.png)

![](blue.png)

1\) first by hand

2\) second by hand

Another paragraph with a second note.[^2]

[^1]: A real footnote.

[^2]: Will be an endnote.
"""


def _as_endnote(docx: Path) -> None:
    """Make the document's second footnote an endnote, as Word writes one (pandoc writes only
    footnotes)."""
    with zipfile.ZipFile(docx) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    document = etree.fromstring(parts["word/document.xml"])
    footnotes = etree.fromstring(parts["word/footnotes.xml"])
    calls = document.findall(f".//{W}footnoteReference")
    last = calls[-1]
    number = last.get(f"{W}id")
    last.tag = f"{W}endnoteReference"
    note = next(n for n in footnotes if n.get(f"{W}id") == number)
    footnotes.remove(note)
    note.tag = f"{W}endnote"
    for reference in note.iter(f"{W}footnoteRef"):
        reference.tag = f"{W}endnoteRef"
    endnotes = etree.Element(f"{W}endnotes", nsmap={"w": W[1:-1]})
    endnotes.append(note)
    parts["word/document.xml"] = etree.tostring(document)
    parts["word/footnotes.xml"] = etree.tostring(footnotes)
    parts["word/endnotes.xml"] = etree.tostring(endnotes)
    parts["word/_rels/document.xml.rels"] = parts["word/_rels/document.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdEnd" Type="http://schemas.openxmlformats'
        b'.org/officeDocument/2006/relationships/endnotes" Target="endnotes.xml"/>'
        b"</Relationships>")
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/word/endnotes.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.wordprocessingml.endnotes+xml"/></Types>')
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


@pytest.fixture
def contribution(tmp_path: Path) -> Path:
    """A contributor's Word document."""
    Image.new("RGB", (40, 30), "red").save(tmp_path / "red.png")
    Image.new("RGB", (40, 30), "blue").save(tmp_path / "blue.png")
    (tmp_path / "source.md").write_text(SOURCE, "utf-8")
    docx = tmp_path / "ports.docx"
    subprocess.run([PANDOC, "source.md", "-o", docx.name], cwd=tmp_path, check=True)
    _as_endnote(docx)
    return docx


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A new book to import into."""
    assert run_cli("new", str(tmp_path / "book")).returncode == 0
    return tmp_path / "book" / "book.yml"


def test_a_document_with_tracked_changes_is_refused(contribution: Path, book: Path) -> None:
    result = run_cli("import", str(contribution), "--book", str(book))
    assert result.returncode == 1
    assert "2 tracked change(s)" in result.stderr and "insertion by Ann: 'new'" in result.stderr
    assert "--changes accept" in result.stderr and "Traceback" not in result.stderr
    assert not (book.parent / "essays" / "ports-and-their-people.md").exists()


def test_an_imported_essay_keeps_what_the_document_says(contribution: Path, book: Path) -> None:
    result = run_cli("import", str(contribution), "--book", str(book), "--changes", "accept",
                     "--add")
    assert result.returncode == 0, result.stderr
    essay = book.parent / "essays" / "ports-and-their-people.md"
    text = essay.read_text("utf-8")
    front, body = text.split("---\n", 2)[1:]
    assert "title: Ports and Their People" in front
    assert "Ann Reviewer" in front and "Bob Writer" in front
    # headings: Word's Heading 1 under the essay's title, its typed-in numbers gone
    assert re.findall(r"^(#+) (.*)$", body, re.M) == [("##", "The harbour books"),
                                                       ("###", "Fees by port")]
    # both notes, the footnote and the endnote, as Markdown notes with their calls
    assert len(re.findall(r"^\[\^\d+\]:", body, re.M)) == 2
    assert len(re.findall(r"\[\^\d+\](?!:)", body)) == 2
    assert "A real footnote." in body and "Will be an endnote." in body
    # the table, bold, italic, the link and the smart quotes
    assert "| Acre |" in body and "**bold**" in body and "*italic*" in body
    assert "[link](https://example.org)" in body and "“quoted”" in body
    # the tracked change accepted, the comment dropped with a warning naming its author
    assert "A new word and word." in body and "gone" not in body
    assert "Keep this?" not in body
    said = result.stdout + result.stderr  # findings on stdout, as `chapbook check` prints them
    assert "comment by Bob left out: 'Keep this?'" in said
    # the list numbered by hand is a list, the empty paragraph gone
    assert re.search(r"^1\. +first by hand\n2\. +second by hand$", body, re.M)
    # both images, copied beside the essay, one of them without alt text: check says where
    images = re.findall(r"!\[([^\]]*)\]\((figures/[^ )]+)", body)
    assert [alt for alt, _ in images] == ["A red square on white", ""]
    for _, image in images:
        with Image.open(essay.parent / image) as picture:
            assert picture.size == (40, 30)
    assert re.search(r"ports-and-their-people\.md:\d+: warning: image .* has no alt text", said)
    # added to the book, which then checks with that one warning only
    assert "- file: essays/ports-and-their-people.md" in book.read_text("utf-8")
    check = run_cli("check", "--book", str(book))
    assert check.returncode == 0 and "0 errors, 1 warning," in check.stdout, check.stdout


def test_rejecting_changes_keeps_the_deleted_text(contribution: Path, book: Path) -> None:
    result = run_cli("import", str(contribution), "--book", str(book), "--changes", "reject")
    assert result.returncode == 0, result.stderr
    body = (book.parent / "essays" / "ports-and-their-people.md").read_text("utf-8")
    assert "A word and gone word." in body


@pytest.mark.parametrize(("name", "content", "said"), [
    ("notes.txt", b"plain text", "only Word documents (.docx) can be imported"),
    ("broken.docx", b"not a zip at all", "this is not a Word document"),
])
def test_what_is_not_a_word_document_is_one_clear_error(tmp_path: Path, book: Path, name: str,
                                                       content: bytes, said: str) -> None:
    (tmp_path / name).write_bytes(content)
    result = run_cli("import", str(tmp_path / name), "--book", str(book))
    assert result.returncode == 1
    assert f"{tmp_path / name}: error: {said}" in result.stderr
    assert "Traceback" not in result.stderr and "hint:" in result.stderr


@pytest.fixture(scope="module")
def editions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The reviewers' edition of the bundled book and of three fixture books: field-notes
    (112 note calls, parts, a figure and tables), the briefing (figures, tables, citations,
    cross-references, appendices) and the Arabic book (right to left)."""
    out = tmp_path_factory.mktemp("docx")
    found = {}
    for name, manifest in (("bundled", BUNDLED),
                           *((root, ROOTS / root / "book.yml")
                             for root in ("field-notes", "briefing", "arabic"))):
        result = run_cli("build", "docx", "--book", str(manifest), "--out", str(out / name))
        assert result.returncode == 0, result.stderr
        found[name] = next((out / name).glob("*.docx"))
    return found


def _xml(docx: Path, part: str) -> etree._Element:
    with zipfile.ZipFile(docx) as archive:
        return etree.fromstring(archive.read(part))


def test_the_word_edition_has_real_footnotes_and_headings(editions: dict[str, Path]) -> None:
    docx = editions["field-notes"]
    document = _xml(docx, "word/document.xml")
    calls = document.findall(f".//{W}footnoteReference")
    html = (docx.parent / "field-notes.html")
    assert not html.exists()  # (only the Word edition was built)
    essays = (ROOTS / "field-notes" / "essays").glob("*.md")
    called = sum(len(set(re.findall(r"\[\^([^\]]+)\](?!:)", e.read_text("utf-8"))))
                 for e in essays)
    assert len(calls) >= called > 100
    notes = _xml(docx, "word/footnotes.xml").findall(f"{W}footnote")
    assert len([n for n in notes if "".join(n.itertext()).strip()]) == len(calls)
    styles = [p.get(f"{W}val") for p in document.iter(f"{W}pStyle")]
    assert styles.count("Heading1") == 2 and styles.count("Heading2") == 6  # parts, chapters


def test_a_right_to_left_book_is_right_to_left_in_word(editions: dict[str, Path]) -> None:
    paragraphs = _xml(editions["arabic"], "word/document.xml").iter(f"{W}p")
    body = [p for p in paragraphs if "".join(p.itertext()).strip()]
    assert sum(p.find(f"{W}pPr/{W}bidi") is not None for p in body) > 0.9 * len(body)


def test_the_word_edition_carries_the_books_metadata_and_page(editions: dict[str, Path]) -> None:
    docx = editions["bundled"]
    core = _xml(docx, "docProps/core.xml")
    text = {element.tag.split("}")[1]: element.text for element in core}
    assert text["title"] == "Defence Diplomacy"
    assert text["creator"] == "The Briefings Editorial Board"
    size = _xml(docx, "word/document.xml").find(f".//{W}pgSz")
    assert (size.get(f"{W}w"), size.get(f"{W}h")) == ("8391", "11906")  # A5 in twips
    fonts = etree.tostring(_xml(docx, "word/styles.xml")).decode()
    assert 'w:ascii="Charis SIL"' in fonts and 'w:ascii="Inter"' in fonts


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("name", ["bundled", "field-notes", "briefing", "arabic"])
def test_libreoffice_opens_the_word_edition(editions: dict[str, Path], name: str,
                                            tmp_path: Path) -> None:
    result = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(editions[name])],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / (editions[name].stem + ".pdf")
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", pages)[1]) >= 3


def _plain(markdown: str) -> str:
    """An essay's text as a reader reads it: no front matter or markup, white space and the
    typography chapbook sets (curly quotes, dashes, ellipses) normalised, mojibake repaired (as
    chapbook repairs it on reading)."""
    markdown = re.sub(r"\A---\n.*?\n---\n", "", ftfy.fix_text(markdown), flags=re.S)
    text = subprocess.run([PANDOC, "--from", "gfm", "--to", "plain", "--wrap=none"],
                          input=markdown, capture_output=True, text=True, check=True).stdout
    for curly, straight in (("‘", "'"), ("’", "'"), ("“", '"'), ("”", '"'), ("–", "-"),
                            ("—", "--"), ("…", "...")):
        text = text.replace(curly, straight)
    return " ".join(text.split())


def test_the_word_edition_imports_back_to_the_same_essays(editions: dict[str, Path],
                                                         book: Path) -> None:
    result = run_cli("import", str(editions["bundled"]), "--book", str(book))
    assert result.returncode == 0, result.stderr
    written = [Path(line.removeprefix("chapbook: wrote "))
               for line in result.stdout.splitlines() if line.startswith("chapbook: wrote ")]
    originals = re.findall(r"- file: (essays/\S+\.md)", BUNDLED.read_text("utf-8"))
    assert len(written) == len(originals) == 5
    for original, imported in zip(originals, written, strict=True):
        source = (BUNDLED.parent / original).read_text("utf-8")
        title, rest = re.match(r"# ([^\n]*)\n(.*)", source, re.S).groups()  # type: ignore[union-attr]
        back = imported.read_text("utf-8")
        assert _plain(back) == _plain(rest), original
        assert _plain(f"# {title}") in _plain(back.split("---\n")[1].replace("title:", ""))


def test_a_chapter_in_another_language_keeps_it_in_word(tmp_path: Path) -> None:
    """pandoc's HTML reader drops an <article>'s attributes, and the web edition's chapters are
    articles: in an English book, the Arabic chapter lost its right-to-left paragraphs and the
    Chinese one its language, so Word spell-checked both as English."""
    result = run_cli("build", "docx", "--book", str(ROOTS / "scripts" / "book.yml"),
                     "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    document = _xml(tmp_path / "scripts.docx", "word/document.xml")

    def paragraph(start: str) -> etree._Element:
        return next(p for p in document.iter(f"{W}p") if "".join(p.itertext()).startswith(start))

    arabic = paragraph("تؤدي الدبلوماسية")
    assert arabic.find(f"{W}pPr/{W}bidi") is not None
    languages = {value for element in arabic.iter(f"{W}lang")
                 for value in element.attrib.values()}
    assert "ar" in languages, languages
    chinese_text = (ROOTS / "scripts" / "essays" / "chinese.md").read_text("utf-8")
    first = next(line for line in chinese_text.splitlines()[1:] if line.strip())[:6]
    chinese = paragraph(first)
    assert chinese.find(f"{W}pPr/{W}bidi") is None
    assert "zh-Hans" in {value for element in chinese.iter(f"{W}lang")
                         for value in element.attrib.values()}


def test_importing_the_word_edition_writes_no_invisible_characters(
        editions: dict[str, Path], tmp_path: Path) -> None:
    """The Word edition keeps a word joiner before each note call (so no line starts with a
    call), and importing it wrote them into the essays: 112 invisible characters in
    field-notes, one before every note."""
    book = tmp_path / "book"
    shutil.copytree(ROOTS / "field-notes", book)
    result = run_cli("import", str(editions["field-notes"]), "--book", str(book / "book.yml"))
    assert result.returncode == 0, result.stderr
    written = [Path(line.removeprefix("chapbook: wrote "))
               for line in result.stdout.splitlines() if line.startswith("chapbook: wrote ")]
    assert written and any("[^" in path.read_text("utf-8") for path in written)
    assert not [path.name for path in written if "\u2060" in path.read_text("utf-8")]


def test_a_note_in_a_chapter_title_survives_the_word_round_trip(
        editions: dict[str, Path], tmp_path: Path) -> None:
    """`# LXXIII. On Kings and Their Harbours[^1]` came back as the title alone: its note was
    lost without a word, and every later note moved up a number."""
    book = tmp_path / "book"
    shutil.copytree(ROOTS / "field-notes", book)
    result = run_cli("import", str(editions["field-notes"]), "--book", str(book / "book.yml"))
    assert result.returncode == 0, result.stderr
    [kings] = [Path(line.removeprefix("chapbook: wrote ")) for line in result.stdout.splitlines()
               if line.startswith("chapbook: wrote ") and "kings" in line]
    essay = kings.read_text("utf-8")
    title = next(line for line in essay.splitlines() if line.startswith("# "))
    assert re.fullmatch(r"# LXXIII\. On Kings and Their Harbours\[\^\d+\]", title), title
    assert "The numbering follows the chronicle" in essay
    assert "\ntitle:" not in essay.split("\n---\n")[0]  # (a title said once)
