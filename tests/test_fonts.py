"""Every script the README claims is set in a shipped font, in every edition: one word of each,
typed into a book, comes out of the PDF in shipped faces alone (no font of the machine), and the
HTML and the EPUB declare a face that has every letter of it, in the stacks of their text and
their headings."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from chapbook.fonts import font_faces

from .conftest import run_cli

WORDS = {
    "Latin": "diplomacy",
    "Greek": "διπλωματία",
    "polytonic Greek": "ἀρχὴ ἥμισυ",
    "Cyrillic": "дипломатия",
    "Hebrew": "דיפלומטיה",
    "Arabic": "دبلوماسية",
    "Chinese": "外交部",
    "Japanese": "がいこうカン",
    "Korean": "외교관",
    "symbols": "✓★☎⚓",
    "emoji": "🌍",
}
HEADING = "Κεφάλαιο 外交 외교 ✓"
FACE = re.compile(r'@font-face\s*\{[^}]*?font-family:\s*"([^"]+)"[^}]*?url\("([^"]+)"\)')


@pytest.fixture(scope="module")
def every_script(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    book = tmp_path_factory.mktemp("every-script")
    (book / "essays").mkdir()
    (book / "book.yml").write_text(
        "slug: every-script\nmetadata:\n  title: Every Script\n  author: The Test Desk\n"
        "  language: en\n  identifier: urn:uuid:4f0e9a52-3b1c-4d2e-9f6a-7b8c9d0e1f2a\n"
        "  date: \"2026-03-04\"\n"
        "chapters:\n  - file: essays/words.md\n", "utf-8")
    paragraphs = "\n\n".join(f"In {name}: {word}." for name, word in WORDS.items())
    (book / "essays" / "words.md").write_text(
        f"# One Word of Each Script\n\n{paragraphs}\n\n## {HEADING}\n\nThe end.\n", "utf-8")
    out = book / "out"
    result = run_cli("build", "all", "--book", "book.yml", "--out", str(out), cwd=book)
    assert result.returncode == 0, result.stderr
    return out, result.stderr


def _shipped_names() -> set[str]:
    return {face.family.replace(" ", "-") for face in font_faces()}


def test_the_pdf_sets_every_script_in_shipped_fonts_alone(
        every_script: tuple[Path, str]) -> None:
    out, messages = every_script
    assert "[missing-glyph]" not in messages, messages
    pdf = out / "every-script.pdf"
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    shipped = _shipped_names()
    for line in listing:
        name = line.split()[0]
        assert re.fullmatch(r"[A-Z]{6}\+\S+", name), line  # embedded as a subset
        assert any(name[7:].startswith(family) for family in shipped), line  # never the machine's
    embedded = {line.split()[0][7:] for line in listing}
    for family in ("Gentium-Plus", "Ezra-SIL", "Amiri", "Droid-Sans-Fallback",
                   "Nanum-Myeongjo", "Symbola"):
        assert any(name.startswith(family) for name in embedded), (family, embedded)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for name, word in WORDS.items():  # letters, not order: right-to-left text reads back reversed
        assert set(word.replace(" ", "")) <= set(text), name


def _stack(css: str, selector: str) -> list[str]:
    rule = re.search(re.escape(selector) + r"\s*\{[^}]*?font(?:-family)?:([^;}]*)", css)
    assert rule, selector
    return re.findall(r'"([^"]+)"', rule.group(1))


def _covering(faces: dict[str, list[TTFont]], word: str, stack: list[str]) -> str | None:
    """The first family of `stack` whose declared faces have every letter of `word`."""
    letters = {ord(c) for c in word if not c.isspace()}
    for family in stack:
        for font in faces.get(family, []):
            if letters <= set(font.getBestCmap()):
                return family
    return None


def _check_declared(faces: dict[str, list[TTFont]], text: list[str], headings: list[str]) -> None:
    for name, word in WORDS.items():
        assert _covering(faces, word, text), (name, text)
    for word in HEADING.split():
        assert _covering(faces, word, headings), (word, headings)


def test_the_html_declares_a_face_for_every_script(every_script: tuple[Path, str]) -> None:
    out, _ = every_script
    html = (out / "every-script.html").read_text("utf-8")
    faces: dict[str, list[TTFont]] = {}
    for family, url in FACE.findall(html):
        data = base64.b64decode(url.split(",", 1)[1])
        faces.setdefault(family, []).append(TTFont(io.BytesIO(data)))
    _check_declared(faces, _stack(html, "html"), _stack(html, "h1, h2, h3, h4, h5, h6"))


def test_the_epub_declares_a_face_for_every_script(every_script: tuple[Path, str]) -> None:
    out, _ = every_script
    with zipfile.ZipFile(out / "every-script.epub") as epub:
        fonts_css = epub.read("EPUB/styles/fonts.css").decode("utf-8")
        book_css = "".join(epub.read(name).decode("utf-8") for name in epub.namelist()
                           if name.endswith(".css") and not name.endswith("fonts.css"))
        faces: dict[str, list[TTFont]] = {}
        for family, url in FACE.findall(fonts_css):
            data = epub.read(f"EPUB/styles/{url}")
            faces.setdefault(family, []).append(TTFont(io.BytesIO(data)))
    _check_declared(faces, _stack(book_css, "body"), _stack(book_css, "h1, h2, h3, h4, h5, h6"))


def test_the_markers_of_nested_lists_are_set_in_the_text_face(tmp_path: Path) -> None:
    """Each level of a bulleted list is marked in the text face: the browser's defaults for
    the second and third levels ("◦", "▪") are missing from Charis SIL, and were taken from the
    fallback fonts, a Korean face's hollow circle twice the size of the bullet above it."""
    from .test_untrusted import small_book

    essay = ("# Lists\n\nA list:\n\n- first level\n    - second level\n        - third level\n"
             "- first again\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0 and "missing-glyph" not in result.stderr, result.stderr
    import pdfplumber

    with pdfplumber.open(tmp_path / "out" / "small.pdf") as pdf:
        markers = [(char["text"], char["fontname"]) for page in pdf.pages
                   for char in page.chars if char["text"] in "•◦▪–‣"]
    assert len(markers) == 4, markers
    assert all("Charis" in font for _, font in markers), markers
    assert len({text for text, _ in markers}) == 3, markers  # a mark of its own for each level
