"""The book's fonts: read from styles/fonts.css, subset to the characters a book uses.

The PDF engine embeds subsets on its own; the one-file HTML and the EPUB carry subsets made here
with fontTools, so they stay small and still never depend on a reader's installed fonts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import io
import json
import multiprocessing
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import tinycss2

from chapbook import __version__
from chapbook.cache import DataCache, SharedCache, library_version
from chapbook.codepoints import Coverage, css_unicode_range, runs
from chapbook.diagnostics import Diagnostics, Finding, Level
from chapbook.limits import die_with_parent
from chapbook.resources import styles_dir

if TYPE_CHECKING:
    from chapbook.model.manifest import Manifest

# Always kept, whatever the text: so that a reader's search box or a later edit still renders.
_BASE_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F)) + "‘’“”–—…·•↩→ "


@dataclass(frozen=True)
class FontFace:
    family: str
    style: str
    weight: str
    file: Path
    ranges: tuple[tuple[int, int], ...] = ()  # its `unicode-range`; () for the whole font

    @property
    def is_opentype_cff(self) -> bool:
        return self.file.suffix.lower() == ".otf"

    def sets(self, code: int) -> bool:
        """Whether the face is asked to set this code point (its font may still lack it)."""
        return not self.ranges or any(first <= code <= last for first, last in self.ranges)

    @property
    def unicode_range(self) -> str:
        return css_unicode_range(self.ranges)


def _declarations(rule: tinycss2.ast.AtRule) -> dict[str, list[tinycss2.ast.Node]]:
    declarations = tinycss2.parse_declaration_list(rule.content, skip_whitespace=True,
                                                   skip_comments=True)
    return {d.lower_name: d.value for d in declarations if d.type == "declaration"}


@cache
def font_faces() -> tuple[FontFace, ...]:
    css_path = styles_dir() / "fonts.css"
    rules = tinycss2.parse_stylesheet(css_path.read_text("utf-8"), skip_whitespace=True,
                                      skip_comments=True)
    faces = []
    for rule in rules:
        if rule.type != "at-rule" or rule.lower_at_keyword != "font-face":
            continue
        values = _declarations(rule)
        family = next(t.value for t in values["font-family"] if t.type == "string")
        style = tinycss2.serialize(values.get("font-style", [])).strip() or "normal"
        weight = tinycss2.serialize(values.get("font-weight", [])).strip() or "400"
        url = next(t for t in values["src"] if t.type == "url"
                   or (t.type == "function" and t.lower_name == "url"))
        href = url.value if url.type == "url" else url.arguments[0].value
        ranges = tuple((t.start, t.end) for t in values.get("unicode-range", [])
                       if t.type == "unicode-range")
        faces.append(FontFace(family, style, weight, (css_path.parent / href).resolve(), ranges))
    return tuple(faces)


# Faces that only set other scripts: left out of a book whose text has none of those letters.
SCRIPT_FACES = {"Amiri": ("ARABIC",), "Ezra SIL": ("HEBREW",), "Nanum Myeongjo": ("HANGUL",),
                "Gentium Plus": ("GREEK",),
                "Droid Sans Fallback": ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"),
                **{f"Noto Serif {script.title()}": (script,) for script in (
                    "DEVANAGARI", "BENGALI", "GURMUKHI", "GUJARATI", "TAMIL", "TELUGU", "KANNADA",
                    "MALAYALAM", "SINHALA", "THAI", "LAO", "KHMER", "MYANMAR", "ARMENIAN",
                    "GEORGIAN", "ETHIOPIC")}}


# Last in every stack: symbols and emoji that no other face has.
SYMBOL_FAMILY = "Symbola"


def needed_faces(text: str) -> tuple[FontFace, ...]:
    """The faces the text can use: every Latin face, a script's face only if the text has
    that script (subsetting a 4 MB CJK font for an English book is most of an HTML build), and
    the symbol face only if the text has a character no other face has."""
    characters = set(text)
    scripts = {unicodedata.name(c, "").split(" ")[0] for c in characters if ord(c) > 0x2FF}
    symbols = any(ord(c) > 0x7E and _needs_glyph(c)
                  and ord(c) not in covered_characters(without=SYMBOL_FAMILY)
                  for c in characters)
    return tuple(face for face in font_faces()
                 if (face.family == SYMBOL_FAMILY and symbols)
                 or (face.family != SYMBOL_FAMILY and (
                     face.family not in SCRIPT_FACES
                     or scripts & set(SCRIPT_FACES[face.family]))))


def _characters_of(face: FontFace, characters: str) -> str:
    """The characters a face's subset keeps: those its `unicode-range` asks it to set."""
    return "".join(c for c in characters if face.sets(ord(c))) if face.ranges else characters


def _characters(text: str) -> str:
    """The characters a subset keeps: the text's, but for control characters (line ends, tabs),
    and the base set. The HTML and the EPUB of a book come to the same set, so they share the
    subsetting."""
    return "".join(sorted({c for c in set(text) if unicodedata.category(c) != "Cc"}
                          | set(_BASE_CHARACTERS)))


@cache
def made_by() -> bytes:
    """What font subsets and coverage depend on besides a font's bytes and the characters: this
    module (how a font is subset and flavoured) and the libraries that do it. The cache keys its
    font entries on this alone, so a change elsewhere in chapbook keeps them."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for library in ("fonttools", "brotli"):
        digest.update(f"\0{library} {library_version(library)}".encode())
    return digest.digest()


def _subset_key(face: FontFace, characters: str, flavor: str | None) -> str:
    """A subset's key: chapbook's version, the font file, the characters and the flavour (None:
    the plain font, which the flavoured ones are made from)."""
    return hashlib.sha256(b"\0".join([__version__.encode(), face.file.read_bytes(),
                                      _characters_of(face, characters).encode(),
                                      str(flavor).encode()])).hexdigest()


def subset_fonts(faces: tuple[FontFace, ...], text: str, flavor: str | None,
                 cache: Path | None = None) -> dict[FontFace, bytes]:
    """Each face cut down to the characters of `text`, as `flavor` (None or "woff2"). With
    `cache` (a folder in build/), a subset made before (by this edition or another, or, through
    the user's cache folder, by another book or output folder) is read back instead:
    subsetting is most of the time an HTML or EPUB build takes. The faces still to
    be subset are shared among processes, one per core. The cache is safe to delete."""
    characters = _characters(text)
    store = DataCache(cache, "fonts", bytes, made_by=made_by())
    # the same subsets serve every book and folder on the machine
    shared = SharedCache("fonts", made_by=made_by())

    def load(face: FontFace, flavor: str | None) -> bytes | None:
        if not cache:
            return None
        key = _subset_key(face, characters, flavor)
        data = store.load(key)
        if data is None and (data := shared.load(key)) is not None:
            store.store(key, data)
            # with the plain subset it was made from, as a subset made here would be: the EPUB
            # takes the plain one
            plain_key = _subset_key(face, characters, None)
            if flavor is not None and (plain_data := shared.load(plain_key)) is not None:
                store.store(plain_key, plain_data)
        return data

    def keep(face: FontFace, flavor: str | None, data: bytes) -> None:
        if cache:
            key = _subset_key(face, characters, flavor)
            store.store(key, data)
            shared.store(key, data)

    done = {face: data for face in faces if (data := load(face, flavor)) is not None}
    wanted = [face for face in faces if face not in done]
    plain = {face: data for face in wanted if (data := load(face, None)) is not None}
    missing = [face for face in wanted if face not in plain]
    jobs = min(len(missing), os.cpu_count() or 1)
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        # The workers die with the build (PR_SET_PDEATHSIG): a killed build leaves none behind.
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                 initializer=die_with_parent) as pool:
            made = list(pool.map(_subset, missing, [characters] * len(missing)))
    else:
        made = [_subset(face, characters) for face in missing]
    for face, data in zip(missing, made, strict=True):
        plain[face] = data
        keep(face, None, data)
    for face in wanted:
        done[face] = plain[face] if flavor is None else _flavoured(plain[face], flavor)
        if flavor is not None:
            keep(face, flavor, done[face])
    if cache and (missing or (flavor is not None and wanted)):  # something was stored
        shared.trim()
    return {face: done[face] for face in faces}


def _flavoured(font: bytes, flavor: str) -> bytes:
    from fontTools.ttLib import TTFont

    loaded = TTFont(io.BytesIO(font), recalcTimestamp=False, recalcBBoxes=False)  # reproducible
    loaded.flavor = flavor
    buffer = io.BytesIO()
    loaded.save(buffer)
    return buffer.getvalue()


def _subset(face: FontFace, characters: str) -> bytes:
    from fontTools import subset  # heavy; a build whose subsets are all cached never needs it

    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    options.hinting = False
    # Graphite tables (Charis SIL's) cannot be subset; browsers and readers use OpenType anyway.
    # FFTM is FontForge's timestamp (Nanum Myeongjo's): nothing reads it.
    options.drop_tables += ["Silf", "Silt", "Sill", "Glat", "Gloc", "Feat", "FFTM"]
    font = subset.load_font(str(face.file), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=_characters_of(face, characters))
    subsetter.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    return buffer.getvalue()


def font_face_css(faces: tuple[FontFace, ...], source: Callable[[FontFace], str]) -> str:
    """@font-face rules for the faces an edition carries, each from `source(face)`."""
    return "\n".join(
        f'@font-face {{ font-family: "{face.family}"; font-style: {face.style}; '
        f'font-weight: {face.weight}; src: {source(face)};'
        + (f" unicode-range: {face.unicode_range};" if face.ranges else "") + " }"
        for face in faces) + "\n"


def data_uri(font: bytes) -> str:
    return f"data:font/woff2;base64,{base64.b64encode(font).decode('ascii')}"


# --- coverage: characters no shipped font has ------------------------------------------------
# The PDF would print them as an empty box (WeasyPrint's .notdef), and the HTML and EPUB subsets
# lack them too. `chapbook check` and `chapbook build` report them through `missing_glyphs`, so
# the two agree, without laying the book out.

# Characters that need no glyph of their own: controls (line ends, tabs, form feeds), format
# characters (soft hyphen, zero-width space and joiners, direction marks), spaces (Pango draws a
# missing one itself), line and paragraph separators, and variation selectors.
_NO_GLYPH_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}
_VARIATION_SELECTORS = ((0xFE00, 0xFE0F), (0xE0100, 0xE01EF), (0x034F, 0x034F))


@cache
def covered_characters(without: str | None = None) -> Coverage:
    """Every code point that some face of styles/fonts.css (but those of the family `without`)
    maps to a glyph. Reading the fonts' cmaps costs about a second, so the answer is kept in
    the user's cache folder, keyed on the font files themselves (hashing them is a few
    milliseconds), and read from there by every later build and check on the machine."""
    faces = sorted({face for face in font_faces() if face.family != without},
                   key=lambda face: (str(face.file), face.ranges))
    key = hashlib.sha256(b"".join(hashlib.sha256(face.file.read_bytes()).digest()
                                  + face.unicode_range.encode() for face in faces)).hexdigest()
    shared = SharedCache("coverage", made_by=made_by())
    if (entry := shared.load(key)) is not None:
        with contextlib.suppress(ValueError):
            return _decode_ranges(entry)
    covered = _read_coverage(faces)
    shared.store(key, _encode_ranges(covered))
    return covered


def _read_coverage(faces: list[FontFace]) -> Coverage:
    """What the faces set: each font's characters, within its `unicode-range`."""
    from fontTools.ttLib import TTFont

    covered: set[int] = set()
    for face in faces:
        with TTFont(face.file, lazy=True) as font:
            covered.update(code for code in font.getBestCmap() or {} if face.sets(code))
    return Coverage(runs(covered))


def _encode_ranges(covered: Coverage) -> bytes:
    """Runs of consecutive code points, "first last" a line: a few hundred lines, not 50 000."""
    return "".join(f"{first:x} {last:x}\n" for first, last in covered.ranges).encode("ascii")


def _decode_ranges(data: bytes) -> Coverage:
    """The code points `_encode_ranges` wrote; ValueError for anything else."""
    return Coverage(tuple(int(number, 16) for number in line.split(" ", 1))
                    for line in data.decode("ascii").splitlines())


def _needs_glyph(character: str) -> bool:
    code = ord(character)
    return (unicodedata.category(character) not in _NO_GLYPH_CATEGORIES
            and not any(low <= code <= high for low, high in _VARIATION_SELECTORS))


def unrenderable(text: str) -> str:
    """The characters of `text` that no shipped font has, each once, in order of first use."""
    candidates = {c for c in set(text) if ord(c) > 0x7E}  # every face has ASCII
    if not candidates:
        return ""
    covered = covered_characters()
    missing = {c for c in candidates if ord(c) not in covered and _needs_glyph(c)}
    return "".join(sorted(missing, key=text.index))


def _essay_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The essay's clean text (as the build reads it), line by line, entities decoded."""
    from chapbook.diagnostics import Diagnostics
    from chapbook.errors import BookError
    from chapbook.read.sources import read_source

    try:
        if path.read_bytes().isascii():
            return
        text = read_source(path, Diagnostics()).text
    except (OSError, BookError):
        return  # reported where the essay is read
    if not unrenderable(html.unescape(text)):
        return
    for number, line in enumerate(text.split("\n"), 1):
        yield number, html.unescape(line)


def _yaml_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The text values of a YAML file (comments are not printed), each at its line: a value
    written over several lines is split back into them."""
    import yaml

    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return
    if text.isascii() or not unrenderable(text):
        return
    lines = re.split("\r\n|[\r\n\x85\u2028\u2029]", text)  # the line breaks YAML counts
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.ScalarToken) and unrenderable(token.value):
                for number in range(token.start_mark.line,
                                    min(token.end_mark.line + 1, len(lines))):
                    start = token.start_mark.column if number == token.start_mark.line else 0
                    end = (token.end_mark.column if number == token.end_mark.line
                           else len(lines[number]))
                    yield number + 1, lines[number][start:end]
    except yaml.YAMLError:
        return  # the manifest's reader reports it


def missing_glyphs(files: Iterable[Path], cache: Path | None = None) -> list[Finding]:
    """One warning per line of the book's text files (essays, book.yml, glossary.yml,
    index.yml) that holds characters no shipped font has, naming each of them; each file's
    answer kept in `cache` under its content (a 200-essay book's were worked out again at each
    build: 0.09 s of an EPUB's 0.94 after one essay changed)."""
    kept = DataCache(cache, "glyphs", bytes)
    findings: list[Finding] = []
    for path in files:
        for number, characters in _missing_by_line(path, kept):
            findings.append(Finding(Level.WARNING, "missing-glyph",
                                    _missing_message(characters), path, number))
    return findings


def _missing_by_line(path: Path, kept: DataCache[bytes]) -> list[tuple[int, str]]:
    """The characters no shipped font has on each line of the file that holds some, as its
    content was last seen (kept), or worked out now."""
    try:
        data = path.read_bytes()
    except OSError:
        return []  # reported where the file is read
    if data.isascii():
        return []
    yaml_file = path.suffix.lower() in (".yml", ".yaml")
    key = hashlib.sha256((b"yaml\0" if yaml_file else b"essay\0") + data).hexdigest()
    found = _glyph_entry(kept.load(key))
    if found is not None:
        return found
    merged: dict[int, str] = {}
    for number, text in _yaml_lines(path) if yaml_file else _essay_lines(path):
        merged[number] = merged.get(number, "") + unrenderable(text)
    found = [(number, "".join(dict.fromkeys(characters)))
             for number, characters in sorted(merged.items()) if characters]
    kept.store(key, json.dumps(found).encode("utf-8"))
    return found


def _glyph_entry(data: bytes | None) -> list[tuple[int, str]] | None:
    """A kept answer of _missing_by_line, if it is one: read back from disk, it is checked."""
    if data is None:
        return None
    try:
        entry = json.loads(data)
    except ValueError:
        return None
    if not isinstance(entry, list) or not all(
            isinstance(item, list) and len(item) == 2 and type(item[0]) is int
            and isinstance(item[1], str) and item[1] for item in entry):
        return None
    return [(number, characters) for number, characters in entry]


def _missing_message(characters: str) -> str:
    named = [f'"{c}" (U+{ord(c):04X})' for c in characters]
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} or {named[-1]}"
    return (f"no font of the book has {listed}: it prints as an empty box; write it another "
            "way, or add a font that has it to styles/fonts/ and styles/fonts.css")


def book_text_files(manifest: Manifest) -> list[Path]:
    """The files whose text the editions print: book.yml, the essays, the glossary, the index."""
    extra = [path for path in (manifest.glossary, manifest.index) if path is not None]
    return [manifest.path, *(chapter.source for chapter in manifest.chapters), *extra]


def report_missing_glyphs(files: Iterable[Path], diagnostics: Diagnostics,
                          cache: Path | None = None) -> None:
    """What both `chapbook build` and `chapbook check` warn about missing glyphs."""
    diagnostics.add_all(missing_glyphs(files, cache))
