"""Reading an essay: bytes in, clean text out. Sources are opened read-only and never written.

Repairs are reported as findings so the author can fix the source when they choose to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ftfy

from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError

# ftfy repairs encoding damage only: the author's straight quotes stay for the typographer.
_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, fix_latin_ligatures=False,
                             fix_character_width=False, normalization="NFC",
                             explain=False)


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


def read_source(path: Path, diagnostics: Diagnostics) -> SourceText:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise BookError(f"cannot read the essay: {err.strerror}", path,
                        hint="check that the file exists and is readable") from err
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
    fixed = ftfy.fix_text(text, _FTFY)
    if fixed != text:
        diagnostics.note("mojibake", "mojibake repaired in the output (the source is unchanged)",
                         path, _first_changed_line(text, fixed))
        text = fixed
    return SourceText(path, text)
