"""A content-addressed cache of parsed essays in build/.cache/essays.

An entry is keyed on everything its parse depends on: chapbook's version, the essay's bytes, its
place in the book (id, number, language, the book's folder) and the glossary and index files
(terms are found while parsing). It holds the parsed essay, what the term pass found in it (by
entry id, so it re-attaches to the freshly loaded glossary and index) and the findings its reading
produced, which are reported again. The cache is never trusted for anything else, and deleting
it only costs a re-parse.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from chapbook import __version__
from chapbook.collect.glossary import Glossary
from chapbook.collect.index import Index
from chapbook.collect.occurrences import Found, Occurrence
from chapbook.diagnostics import Finding
from chapbook.markdown import ParsedEssay


@dataclass
class CachedEssay:
    essay: ParsedEssay
    glossary: list[tuple[str, Occurrence]]
    index: list[tuple[str, Occurrence]]
    marks: list[tuple[tuple[str, ...], Occurrence]]
    findings: list[Finding]


def essay_key(*parts: bytes | str) -> str:
    digest = hashlib.sha256(__version__.encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()


class EssayCache:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder / "essays" if folder else None

    def load(self, key: str) -> CachedEssay | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.pickle"
        try:
            with path.open("rb") as stream:
                entry = pickle.load(stream)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        return entry if isinstance(entry, CachedEssay) else None

    def store(self, key: str, entry: CachedEssay) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{key}.{os.getpid()}.part"
        with temporary.open("wb") as stream:
            pickle.dump(entry, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, self.folder / f"{key}.pickle")


def freeze(essay: ParsedEssay, found: Found, findings: list[Finding]) -> CachedEssay:
    return CachedEssay(essay, [(entry.id, o) for entry, o in found.glossary],
                       [(heading.id, o) for heading, o in found.index], list(found.marks),
                       findings)


def thaw(entry: CachedEssay, glossary: Glossary | None, index: Index | None,
         found: Found) -> bool:
    """Re-attach a cached essay's occurrences to the book's glossary and index; False if any
    entry they name is gone (then the essay is parsed again)."""
    entries = {e.id: e for e in glossary.entries} if glossary else {}
    headings = {h.id: h for h in index.all_headings()} if index else {}
    if any(i not in entries for i, _ in entry.glossary) or \
            any(i not in headings for i, _ in entry.index):
        return False
    found.glossary += [(entries[i], o) for i, o in entry.glossary]
    found.index += [(headings[i], o) for i, o in entry.index]
    found.marks += entry.marks
    return True
