"""The book's fonts: read from styles/fonts.css, subset to the characters a book uses.

The PDF engine embeds subsets on its own; the one-file HTML and the EPUB carry subsets made here
with fontTools, so they stay small and still never depend on a reader's installed fonts.
"""

from __future__ import annotations

import base64
import hashlib
import io
import multiprocessing
import os
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tinycss2

from chapbook import __version__
from chapbook.cache import PickleCache
from chapbook.resources import styles_dir

# Always kept, whatever the text: so that a reader's search box or a later edit still renders.
_BASE_CHARACTERS = "".join(chr(c) for c in range(0x20, 0x7F)) + "‘’“”–—…·•↩→ "


@dataclass(frozen=True)
class FontFace:
    family: str
    style: str
    weight: str
    file: Path

    @property
    def is_opentype_cff(self) -> bool:
        return self.file.suffix.lower() == ".otf"


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
        faces.append(FontFace(family, style, weight, (css_path.parent / href).resolve()))
    return tuple(faces)


# Faces that only set other scripts: left out of a book whose text has none of those letters.
SCRIPT_FACES = {"Amiri": ("ARABIC",),
                "Droid Sans Fallback": ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO")}


def needed_faces(text: str) -> tuple[FontFace, ...]:
    """The faces the text can use: every Latin face, and a script's face only if the text has
    that script (subsetting a 4 MB CJK font for an English book is most of an HTML build)."""
    scripts = {unicodedata.name(c, "").split(" ")[0] for c in set(text) if ord(c) > 0x2FF}
    return tuple(face for face in font_faces()
                 if face.family not in SCRIPT_FACES
                 or scripts & set(SCRIPT_FACES[face.family]))


def _characters(text: str) -> str:
    """The characters a subset keeps: the text's, but for control characters (line ends, tabs),
    and the base set. The HTML and the EPUB of a book come to the same set, so they share the
    subsetting."""
    return "".join(sorted({c for c in set(text) if unicodedata.category(c) != "Cc"}
                          | set(_BASE_CHARACTERS)))


def _subset_key(face: FontFace, characters: str, flavor: str | None) -> str:
    """A subset's key: chapbook's version, the font file, the characters and the flavour (None:
    the plain font, which the flavoured ones are made from)."""
    return hashlib.sha256(b"\0".join([__version__.encode(), face.file.read_bytes(),
                                      characters.encode(), str(flavor).encode()])).hexdigest()


def subset_fonts(faces: tuple[FontFace, ...], text: str, flavor: str | None,
                 cache: Path | None = None) -> dict[FontFace, bytes]:
    """Each face cut down to the characters of `text`, as `flavor` (None or "woff2"). With
    `cache` (a folder in build/), a subset made before (by this edition or another) is read
    back instead: subsetting is most of the time an HTML or EPUB build takes. The faces still to
    be subset are shared among processes, one per core. The cache is safe to delete."""
    characters = _characters(text)
    store = PickleCache(cache, "fonts", bytes)

    def load(face: FontFace, flavor: str | None) -> bytes | None:
        return store.load(_subset_key(face, characters, flavor)) if cache else None

    def keep(face: FontFace, flavor: str | None, data: bytes) -> None:
        if cache:
            store.store(_subset_key(face, characters, flavor), data)

    done = {face: data for face in faces if (data := load(face, flavor)) is not None}
    wanted = [face for face in faces if face not in done]
    plain = {face: data for face in wanted if (data := load(face, None)) is not None}
    missing = [face for face in wanted if face not in plain]
    jobs = min(len(missing), os.cpu_count() or 1)
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
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
    options.drop_tables += ["Silf", "Silt", "Sill", "Glat", "Gloc", "Feat"]
    font = subset.load_font(str(face.file), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    return buffer.getvalue()


def font_face_css(faces: tuple[FontFace, ...], source: Callable[[FontFace], str]) -> str:
    """@font-face rules for the faces an edition carries, each from `source(face)`."""
    return "\n".join(
        f'@font-face {{ font-family: "{face.family}"; font-style: {face.style}; '
        f'font-weight: {face.weight}; src: {source(face)}; }}' for face in faces) + "\n"


def data_uri(font: bytes) -> str:
    return f"data:font/woff2;base64,{base64.b64encode(font).decode('ascii')}"
