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
    "Hindi": "कूटनीति",
    "Bengali": "কূটনীতি",
    "Tamil": "இராஜதந்திரம்",
    "Thai": "การทูต",
    "Armenian": "դիվանագիտություն",
    "Georgian": "დიპლომატია",
    "Amharic": "ዲፕሎማሲ",
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
                   "Nanum-Myeongjo", "Symbola", "Noto-Serif-Devanagari", "Noto-Serif-Bengali",
                   "Noto-Serif-Tamil", "Noto-Serif-Thai", "Noto-Serif-Armenian",
                   "Noto-Serif-Georgian", "Noto-Serif-Ethiopic"):
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


def _runs_of_script(page: object, first: int, last: int) -> list[tuple[str, set[str]]]:
    """Each run of letters from first..last on a pdfplumber page, with the faces it is set in."""
    runs: list[tuple[str, set[str]]] = []
    text, faces, line = "", set(), None
    for char in sorted(page.chars, key=lambda c: (-round(c["matrix"][5]), c["x0"])):  # type: ignore
        if round(char["matrix"][5]) != line and text:  # the baseline: faces differ in height
            runs.append((text, faces))
            text, faces = "", set()
        line = round(char["matrix"][5])
        if first <= ord(char["text"][0]) <= last:
            text += char["text"]
            faces.add(char["fontname"].split("+")[-1].split("-")[0])
        elif text:
            runs.append((text, faces))
            text, faces = "", set()
    if text:
        runs.append((text, faces))
    return runs


def test_a_word_of_greek_or_japanese_is_set_in_one_face_wherever_it_stands(
        tmp_path: Path) -> None:
    """Charis has 23 Greek letters (those of IPA and mathematics), and stood before Gentium Plus
    in every stack: outside a paragraph marked Greek (a running head, the index, the glossary)
    a Greek word changed face letter by letter. Nanum Myeongjo has kana and CJK punctuation,
    and stood before Droid Sans Fallback: Japanese changed face between kanji and kana."""
    import pdfplumber

    book = tmp_path / "book"
    (book / "essays").mkdir(parents=True)
    (book / "book.yml").write_text(
        "slug: harbours\nmetadata:\n  title: Κωνσταντινούπολη and Nara\n  author: Tester\n"
        "  language: en\n  identifier: urn:uuid:4f0e9a52-3b1c-4d2e-9f6a-7b8c9d0e1f2b\n"
        "  date: \"2026-03-04\"\nchapters:\n  - file: essays/a.md\n"
        "glossary: glossary.yml\nindex: index.yml\n", "utf-8")
    (book / "glossary.yml").write_text(
        "terms:\n  - term: polis\n    definition: Η πόλη, the city of Κωνσταντινούπολη.\n",
        "utf-8")
    (book / "index.yml").write_text(
        "headings:\n  - heading: Κωνσταντινούπολη\n    forms: [Κωνσταντινούπολη]\n", "utf-8")
    filler = " ".join(["The harbour kept its lights burning through the long winter."] * 12)
    paragraphs = "\n\n".join([filler] * 14)
    (book / "essays" / "a.md").write_text(
        "# Harbours\n\nThe polis of Κωνσταντινούπολη traded with Nara, where 奈良の正倉院には "
        f"treasures lie.\n\n{paragraphs}\n", "utf-8")
    result = run_cli("build", "pdf", "--book", "book.yml", "--out", "out", cwd=book)
    assert result.returncode == 0, result.stderr
    greek_words = japanese_runs = 0
    with pdfplumber.open(book / "out" / "harbours.pdf") as pdf:
        for number, page in enumerate(pdf.pages, 1):
            for word, faces in _runs_of_script(page, 0x370, 0x3FF):
                assert len(faces) == 1, (number, word, faces)
                greek_words += 1
            for run, faces in _runs_of_script(page, 0x3040, 0x9FFF):
                assert len(faces) == 1, (number, run, faces)
                japanese_runs += 1
    # the title page, the running heads, the text, the glossary and the index
    assert greek_words >= 6 and japanese_runs >= 1


def test_a_face_is_never_declared_to_set_a_character_its_font_lacks() -> None:
    """WeasyPrint tells fontconfig a face has exactly its `unicode-range`: a code point the font
    lacks would be printed from it as an empty box, never from the next face of the stack."""
    limited = [face for face in font_faces() if face.ranges]
    assert {face.family for face in limited} >= {"Charis SIL", "Nanum Myeongjo"}
    for face in limited:
        cmap = set(TTFont(face.file, lazy=True).getBestCmap())
        declared = {code for first, last in face.ranges for code in range(first, last + 1)}
        assert declared <= cmap, (face.file.name, sorted(declared - cmap)[:5])
        assert face.family != "Charis SIL" or not any(
            0x370 <= code <= 0x3FF for code in declared)


def test_the_epub_and_html_carry_each_face_within_its_range(
        every_script: tuple[Path, str]) -> None:
    """The e-reader and the browser are told the same ranges, and each subset holds no more:
    Charis's Greek letters, which no stack would use, are not shipped."""
    out, _ = every_script
    with zipfile.ZipFile(out / "every-script.epub") as epub:
        fonts_css = epub.read("EPUB/styles/fonts.css").decode("utf-8")
        charis = re.search(r'@font-face \{ font-family: "Charis SIL"; font-style: normal; '
                           r'font-weight: 400; src: url\("([^"]+)"\); unicode-range: U\+20-7E',
                           fonts_css)
        assert charis, fonts_css
        cmap = TTFont(io.BytesIO(epub.read(f"EPUB/styles/{charis.group(1)}"))).getBestCmap()
    assert ord("δ") not in cmap and ord("d") in cmap  # "διπλωματία" is in the text
    html = (out / "every-script.html").read_text("utf-8")
    assert re.search(r'font-family: "Charis SIL"[^}]*unicode-range: U\+20-7E', html)


def test_code_is_set_in_a_monospaced_face_in_every_edition(tmp_path: Path) -> None:
    """No monospaced face was shipped, and fontconfig knows no font of the machine: code in
    the PDF was set in Inter, so a keeper's log typed in columns no longer lined up."""
    import pdfplumber

    log = "Hour  Lamp  Wind\n0200  lit   NW 4\n0400  lit   NW 5"
    manifest_folder = tmp_path / "book"
    (manifest_folder / "essays").mkdir(parents=True)
    (manifest_folder / "book.yml").write_text(
        "slug: log\nmetadata:\n  title: Log\n  author: T\n  language: en\n"
        "  identifier: urn:uuid:4f0e9a52-3b1c-4d2e-9f6a-7b8c9d0e1f2c\n  date: \"2026-03-04\"\n"
        "chapters:\n  - file: essays/a.md\n", "utf-8")
    (manifest_folder / "essays" / "a.md").write_text(
        f"# Log\n\nThe `lamp` log:\n\n```\n{log}\n```\n", "utf-8")
    result = run_cli("build", "pdf", "epub", "html", "--book", "book.yml", "--out", "out",
                     cwd=manifest_folder)
    assert result.returncode == 0, result.stderr
    with pdfplumber.open(manifest_folder / "out" / "log.pdf") as pdf:
        chars = [c for page in pdf.pages for c in page.chars]
    coded = [c for c in chars if c["fontname"].split("+")[-1].startswith("DejaVu-Sans-Mono")]
    assert "".join(c["text"] for c in coded).replace(" ", "") == \
        "lamp" + log.replace("\n", "").replace(" ", "")
    widths = {round(c["width"], 2) for c in coded if c["size"] == coded[-1]["size"]}
    assert len(widths) == 1  # every character as wide as the next: the columns line up
    with zipfile.ZipFile(manifest_folder / "out" / "log.epub") as epub:
        assert '"DejaVu Sans Mono"' in epub.read("EPUB/styles/fonts.css").decode()
    assert '"DejaVu Sans Mono"' in (manifest_folder / "out" / "log.html").read_text("utf-8")
