"""WeasyPrint, confined: it fetches nothing but the book's own files and chapbook's styles, sets
type in no font but the shipped ones, and what it logs becomes findings instead of lines lost on
stderr."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from weasyprint import CSS, HTML, Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from chapbook.diagnostics import Diagnostics, Finding
from chapbook.languages import direction
from chapbook.layout import compat  # its patches apply on import
from chapbook.limits import leaves_behind
from chapbook.model.book import Book
from chapbook.resources import styles_dir

# The book's folder as WeasyPrint sees it. WeasyPrint names a raster image in the PDF after its
# URL, so a URL holding the real folder made two builds of a book in two folders differ (and
# wrote the builder's folder into the file); below this root the fetcher reads the real folder.
BOOK_URL = "file:///chapbook-book/"
_BOOK_PATH = unquote(urlparse(BOOK_URL).path)


class ConfinedFetcher(URLFetcher):
    """Refuses every URL but data: and files below the allowed folders; URLs below BOOK_URL are
    files of the book's folder `book`."""

    def __init__(self, allowed: list[Path], book: Path | None = None) -> None:
        super().__init__(allowed_protocols={"file", "data"})
        self.allowed = [folder.resolve() for folder in allowed]
        self.book = book.resolve() if book else None

    def fetch(self, url: str, headers: dict[str, str] | None = None):  # type: ignore[override]
        parsed = urlparse(url)
        if parsed.scheme == "file":
            local = unquote(parsed.path)
            if self.book is not None and local.startswith(_BOOK_PATH):
                url = (self.book / local[len(_BOOK_PATH):]).as_uri()
                local = unquote(urlparse(url).path)
            path = Path(local).resolve()
            if not any(path.is_relative_to(folder) for folder in self.allowed):
                raise ValueError(f"blocked: '{url}' is outside the book's folder")
        elif parsed.scheme != "data":
            raise ValueError(f"blocked: '{url}' (chapbook fetches nothing from the network)")
        return super().fetch(url, headers)


_QUOTED = re.compile(r"'([^'\n]{3,})'|\"([^\"\n]{3,})\"")


class _FindingsHandler(logging.Handler):
    """WeasyPrint's warnings as findings at the file and line of the text they are about. A
    missing glyph is the `missing-glyph` finding `chapbook check` reports too (the same finding,
    so it is counted once); a warning quoting a file of the book is placed where an essay names
    it; the rest are about the book as a whole (book.yml)."""

    def __init__(self, diagnostics: Diagnostics, source: Path) -> None:
        super().__init__(logging.WARNING)
        self.diagnostics = diagnostics
        self.source = source

    def emit(self, record: logging.LogRecord) -> None:
        self.take(record.getMessage())

    def take(self, message: str) -> None:
        if compat.MISSING_ALT_TEXT in message:
            return  # the parse has said so, at the essay's line (collect/alttext.py)
        notdef = compat.MISSING_GLYPH.match(message)
        if notdef:
            code = f"(U+{ord(notdef.group(1)):04X})"
            known = [f for f in _glyph_findings(self.source) if code in f.message]
            self.diagnostics.add_all(known)
            if known:
                return
        quoted = [a or b for a, b in _QUOTED.findall(message)]
        place = _place(self.source, notdef.group(1) if notdef else None, quoted)
        self.diagnostics.warn("typesetting", message, *place)


_CODE_POINT = re.compile(r"\(U\+([0-9A-F]{4,6})\)")


def found_again(findings: Iterable[Finding], diagnostics: Diagnostics,
                manifest_path: Path) -> None:
    """What a piece's layout found, reported again by a build that takes the piece from the
    cache. A missing glyph is placed as this build's layout would place it, at the line its
    character stands on now: the piece's HTML, its key, does not hold the lines of the essay,
    and the character may have moved since."""
    handler = _FindingsHandler(diagnostics, manifest_path)
    for finding in findings:
        if finding.code != "missing-glyph":
            diagnostics.add_all([finding])
            continue
        for code in _CODE_POINT.findall(finding.message):
            handler.take('.notdef glyph rendered for Unicode string unsupported by fonts: '
                         f'"{chr(int(code, 16))}"')


def _text_files(manifest_path: Path) -> list[Path]:
    from chapbook.fonts import book_text_files
    from chapbook.read.manifest import load_manifest

    try:
        return book_text_files(load_manifest(manifest_path))
    except Exception:  # the build has read it; a warning must not stop it if it changed since
        return [manifest_path]


@functools.lru_cache(maxsize=4)
def _cached_glyph_findings(manifest_path: Path, stamp: tuple[int, ...]) -> list[Finding]:
    from chapbook.fonts import missing_glyphs

    return missing_glyphs(_text_files(manifest_path))


def _glyph_findings(manifest_path: Path) -> list[Finding]:
    """`missing_glyphs` of the book, computed once per state of its files."""
    stamp = tuple(path.stat().st_mtime_ns if path.exists() else 0
                  for path in _text_files(manifest_path))
    return _cached_glyph_findings(manifest_path, stamp)


def _place(manifest_path: Path, character: str | None,
           quoted: list[str]) -> tuple[Path, int | None]:
    """The first line of the book's text files holding the character, or a file of the book
    that the message quotes as a URL; else book.yml."""
    root = manifest_path.parent.resolve()
    wanted = [character] if character else []
    for url in quoted:
        local = unquote(urlparse(url).path)
        if url.startswith(BOOK_URL):
            # as the book's folder names it, or as an essay in a folder of it does
            parts = local[len(_BOOK_PATH):].split("/")
            wanted += ["/".join(parts[first:]) for first in range(len(parts))]
        elif url.startswith("file://") and "\0" not in local \
                and Path(local).resolve().is_relative_to(root):
            wanted.append(Path(local).resolve().relative_to(root).as_posix())
    wanted = [text for text in wanted if text]
    files = _text_files(manifest_path) if wanted else []
    for path in files[1:] + files[:1]:  # the essays first
        try:
            lines = path.read_text("utf-8-sig", errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            if any(text in line for text in wanted):
                return path, number
    return manifest_path, None


@contextlib.contextmanager
def captured_logs(diagnostics: Diagnostics, source: Path) -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    handler = _FindingsHandler(diagnostics, source)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


# --- laying out ----------------------------------------------------------------------------

# The font configurations this build made, each with the process that made it: their folders
# are removed at the build's end (remove_font_folders), by that process alone (a forked
# worker's configuration is its parent's, still in use).
_made_fonts: list[tuple[int, weakref.ref[FontConfiguration]]] = []


def remove_font_folders() -> None:
    """Remove the font folders of the configurations this process made (compat)."""
    for maker, made in list(_made_fonts):
        if maker == os.getpid():
            if (fonts := made()) is not None:
                compat.remove_font_folder(fonts)
            _made_fonts.remove((maker, made))


def shipped_fonts_only() -> FontConfiguration:
    """A font configuration that knows no font of the machine, only the faces of fonts.css
    that the stylesheets add to it: fontconfig reads FONTCONFIG_FILE as WeasyPrint makes it,
    and styles/fontconfig.conf names no folder. The variable is put back at once, so programs
    started later (a browser in the tests) see the machine's own setting."""
    before = os.environ.get("FONTCONFIG_FILE")
    os.environ["FONTCONFIG_FILE"] = str(styles_dir() / "fontconfig.conf")
    try:
        fonts = FontConfiguration()
        _made_fonts.append((os.getpid(), weakref.ref(fonts)))
        return fonts
    finally:
        if before is None:
            del os.environ["FONTCONFIG_FILE"]
        else:
            os.environ["FONTCONFIG_FILE"] = before


class Typesetter:
    """One book's stylesheets and fonts, loaded once and used for every piece laid out."""

    def __init__(self, book: Book, diagnostics: Diagnostics,
                 extra_sheets: tuple[str, ...] = ()) -> None:
        self.book = book
        self.diagnostics = diagnostics
        styles = styles_dir()
        self.fetcher = ConfinedFetcher([book.manifest.root, styles], book.manifest.root)
        self.fonts = shipped_fonts_only()
        with captured_logs(diagnostics, book.manifest.path):
            self.stylesheets = [
                CSS(filename=str(styles / "fonts.css"), font_config=self.fonts,
                    url_fetcher=self.fetcher),
                CSS(string=f"@page {{ size: {book.manifest.page_size}; }}",
                    font_config=self.fonts),
                *(CSS(filename=str(styles / sheet), font_config=self.fonts,
                      url_fetcher=self.fetcher) for sheet in ("common.css", "print.css")),
                *([CSS(filename=str(styles / "print-rtl.css"), font_config=self.fonts,
                       url_fetcher=self.fetcher)]
                  if direction(book.meta.language) == "rtl" else []),
                *(CSS(filename=str(styles / sheet), font_config=self.fonts,
                      url_fetcher=self.fetcher) for sheet in extra_sheets),
            ]
        if (folder := compat.font_folder(self.fonts)) is not None:
            leaves_behind(folder)  # (removed by the watcher if the build is killed)

    def render(self, html: str, extra_css: str = "") -> Document:
        stylesheets = list(self.stylesheets)
        if extra_css:
            stylesheets.append(CSS(string=extra_css, font_config=self.fonts))
        with captured_logs(self.diagnostics, self.book.manifest.path):
            try:
                return HTML(string=html, base_url=BOOK_URL, url_fetcher=self.fetcher).render(
                    stylesheets=stylesheets, font_config=self.fonts)
            finally:
                compat.forget_kept_lines()


def render_document(book: Book, html: str, diagnostics: Diagnostics,
                    extra_css: str = "") -> Document:
    """Lay out one HTML string of the book with the print styles."""
    return Typesetter(book, diagnostics).render(html, extra_css)
