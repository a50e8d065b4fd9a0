"""The book's fonts: read from styles/fonts.css, subset to the characters a book uses.

The PDF engine embeds subsets on its own; the one-file HTML and the EPUB carry subsets made here
with fontTools, so they stay small and still never depend on a reader's installed fonts.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tinycss2

from chapbook import __version__
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


def subset_font(face: FontFace, text: str, flavor: str | None,
                cache: Path | None = None) -> bytes:
    """The face cut down to the characters of `text`. With `cache` (a folder in build/), a subset
    made before for the same font file, characters and chapbook version is read back instead:
    subsetting is most of the time an HTML or EPUB build takes. The cache is safe to delete."""
    key = ""
    if cache is not None:
        characters = "".join(sorted(set(text + _BASE_CHARACTERS)))
        key = hashlib.sha256(b"\0".join([
            __version__.encode(), face.file.read_bytes(), characters.encode(),
            str(flavor).encode()])).hexdigest()
        cached = cache / "fonts" / f"{key}.bin"
        if cached.is_file():
            return cached.read_bytes()
    data = _subset(face, text, flavor)
    if cache is not None:
        (cache / "fonts").mkdir(parents=True, exist_ok=True)
        temporary = cache / "fonts" / f".{key}.{os.getpid()}.part"
        temporary.write_bytes(data)
        os.replace(temporary, cache / "fonts" / f"{key}.bin")
    return data


def _subset(face: FontFace, text: str, flavor: str | None) -> bytes:
    from fontTools import subset  # heavy; a build whose subsets are all cached never needs it

    options = subset.Options()
    options.flavor = flavor
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
    subsetter.populate(text=text + _BASE_CHARACTERS)
    subsetter.subset(font)
    buffer = io.BytesIO()
    subset.save_font(font, buffer, options)
    return buffer.getvalue()


def font_face_css(faces: tuple[FontFace, ...], source: Callable[[FontFace], str]) -> str:
    """@font-face rules for the faces an edition carries, each from `source(face)`."""
    return "\n".join(
        f'@font-face {{ font-family: "{face.family}"; font-style: {face.style}; '
        f'font-weight: {face.weight}; src: {source(face)}; }}' for face in faces) + "\n"


def data_uri(face: FontFace, text: str, cache: Path | None = None) -> str:
    data = base64.b64encode(subset_font(face, text, "woff2", cache)).decode("ascii")
    return f"data:font/woff2;base64,{data}"
