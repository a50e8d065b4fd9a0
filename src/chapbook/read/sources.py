"""Reading an essay: bytes in, clean text out. Sources are opened read-only and never written.

Repairs are reported as findings so the author can fix the source when they choose to.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import ftfy

from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.schema import NONCHARACTERS

# ftfy repairs encoding damage only: the author's straight quotes stay for the typographer,
# and HTML entities (`&nbsp;`) for Markdown, which decodes them where the author wrote them.
_FTFY = ftfy.TextFixerConfig(unescape_html=False, uncurl_quotes=False,
                             fix_latin_ligatures=False, fix_character_width=False,
                             normalization=None, explain=False)


@dataclass(frozen=True)
class SourceText:
    path: Path
    text: str


def _first_changed_line(before: str, after: str) -> int:
    for number, (old, new) in enumerate(zip(before.splitlines(), after.splitlines(),
                                            strict=False), 1):
        if old != new:
            return number
    return 1


# What a chapter file that is not text usually is, by its first bytes.
_SIGNATURES = ((b"%PDF-", "a PDF"), (b"PK\x03\x04", "a ZIP archive (a Word .docx, an OpenDocument "
               "file or an EPUB)"), (b"\xd0\xcf\x11\xe0", "an old Word or Office document"),
               (b"{\\rtf", "an RTF document"), (b"\x89PNG", "a PNG image"),
               (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"))
_TEXT_CONTROLS = {9, 10, 12, 13, 27}


def _not_text(raw: bytes) -> str | None:
    """What the bytes are, when they are plainly not a text file; None for text."""
    for signature, kind in _SIGNATURES:
        if raw.startswith(signature):
            return kind
    sample = raw[:8192]
    controls = sum(1 for byte in sample if byte < 32 and byte not in _TEXT_CONTROLS)
    return "binary data" if sample and controls > len(sample) // 10 else None


# Bounds where the work starts: far past any essay, short of what makes the parser or the layout
# run for minutes. Each is an error naming the file (and line), never a hang.
MAX_ESSAY_BYTES = 16 * 1024 * 1024
MAX_LINE_CHARACTERS = 100_000


def read_source(path: Path, diagnostics: Diagnostics, raw: bytes | None = None) -> SourceText:
    """The essay's text, repaired; `raw`: its bytes, read already."""
    try:
        size = len(raw) if raw is not None else path.stat().st_size if path.is_file() else 0
        if size > MAX_ESSAY_BYTES:
            raise BookError(f"the essay is larger than {MAX_ESSAY_BYTES // 1024 // 1024} MB",
                            path, hint="split it into several chapters")
        if raw is None:
            raw = path.read_bytes()
    except OSError as err:
        raise BookError(f"cannot read the essay: {err.strerror}", path,
                        hint="check that the file exists and is readable") from err
    kind = _not_text(raw)
    if kind is not None:
        raise BookError(f"this chapter is {kind}, not a Markdown essay", path,
                        hint="convert it to Markdown (for a Word file: `pandoc FILE.docx -t "
                             "commonmark_x -o FILE.md`) and name the .md file in book.yml")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        text = raw.decode("cp1252", errors="replace")
        diagnostics.warn("encoding", "not UTF-8; read as Windows-1252 (cp1252)", path, line)
    if "\x00" in text:
        diagnostics.warn("nul-bytes", "NUL bytes removed", path,
                         text[: text.index("\x00")].count("\n") + 1)
        text = text.replace("\x00", "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Decomposed accents (as macOS writes file names and some editors text) become composed
    # ones: the same text to a reader, so it is no repair to report.
    text = unicodedata.normalize("NFC", text)
    text = _controls(text, path, diagnostics)
    fixed = ftfy.fix_text(text, _FTFY)
    if fixed != text:
        diagnostics.note("mojibake", "mojibake repaired in the output (the source is unchanged)",
                         path, _first_changed_line(text, fixed))
        text = fixed
    _check_line_lengths(text, path)
    if "\ufffd" in text:
        diagnostics.warn("replacement-character", "a character was lost before this essay "
                         "reached chapbook and stands as � (U+FFFD); put the right one back",
                         path, text[: text.index("\ufffd")].count("\n") + 1)
    return SourceText(path, text)


def _check_line_lengths(text: str, path: Path) -> None:
    if len(text) <= MAX_LINE_CHARACTERS:
        return
    for number, line in enumerate(text.split("\n"), 1):
        if len(line) > MAX_LINE_CHARACTERS:
            raise BookError(f"line {number} has {len(line):,} characters", path, number,
                            hint=f"break it into paragraphs; a line may have at most "
                                 f"{MAX_LINE_CHARACTERS:,}")


_FORM_FEED_INSIDE_A_LINE = re.compile(r"(?<=[^\n])\f(?=[^\n])")
# C0 controls and DEL, and the noncharacters (U+FFFE, U+FFFF, U+FDD0–U+FDEF and the last two
# of every plane), which XML forbids: an EPUB holding one is a fatal error (RSC-016).
_CONTROLS = re.compile(f"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f{NONCHARACTERS}]")


def _controls(text: str, path: Path, diagnostics: Diagnostics) -> str:
    """Control characters print as boxes. A form feed (a page break in old text files, usually
    on a line of its own) is read as white space; the others are removed. Line ends stay as
    they are, so every later finding keeps its line. Each kind is reported at its first line."""
    found = _CONTROLS.search(text)
    if found is None:
        return text
    line = text[: found.start()].count("\n") + 1
    if found.group() == "\f" and not _CONTROLS.search(text.replace("\f", "")):
        diagnostics.note("control-characters", "form feeds (page breaks of old text files) read "
                         "as white space", path, line)
    else:
        diagnostics.warn("control-characters", "control characters removed (they print as "
                         "empty boxes)", path, line)
    return _CONTROLS.sub("", _FORM_FEED_INSIDE_A_LINE.sub(" ", text))
