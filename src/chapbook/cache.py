"""Content-addressed caches in build/.cache: parsed essays, and what the typesetter found.

Parsed essays (build/.cache/essays):
An entry is keyed on everything its parse depends on: chapbook's version, the essay's bytes, its
place in the book (id, number, language, the book's folder) and the glossary and index files
(terms are found while parsing). It holds the parsed essay, what the term pass found in it (by
entry id, so it re-attaches to the freshly loaded glossary and index) and the findings its reading
produced, which are reported again. The cache is never trusted for anything else, and deleting
it only costs a re-parse.

Typeset results (build/.cache/layout and build/.cache/cover): the page of every anchor and where
each printed page begins (what the EPUB's page list needs), and the e-reader cover image, keyed on
every file that goes into them: the book's manifest, essays, images, glossary and index files,
and chapbook's own code, templates and styles, with WeasyPrint's version. So `make epub` after
`make pdf` of the same book does not lay the book out again, and any change lays it out anew.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Generic, TypeVar

import chapbook
from chapbook import __version__
from chapbook.book import Book
from chapbook.collect.glossary import Glossary
from chapbook.collect.index import Index
from chapbook.collect.occurrences import Found, Occurrence
from chapbook.diagnostics import Finding
from chapbook.markdown import ParsedEssay
from chapbook.resources import styles_dir, templates_dir

T = TypeVar("T")


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


class PickleCache(Generic[T]):
    """Entries of one kind, pickled under their key; a missing, unreadable or foreign entry is
    simply not there."""

    def __init__(self, folder: Path | None, kind: str, type_: type[T]) -> None:
        self.folder = folder / kind if folder else None
        self.type = type_

    def load(self, key: str) -> T | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.pickle"
        try:
            with path.open("rb") as stream:
                entry = pickle.load(stream)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            return None
        return entry if isinstance(entry, self.type) else None

    def store(self, key: str, entry: T) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{key}.{os.getpid()}.part"
        with temporary.open("wb") as stream:
            pickle.dump(entry, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, self.folder / f"{key}.pickle")


class EssayCache(PickleCache[CachedEssay]):
    def __init__(self, folder: Path | None) -> None:
        super().__init__(folder, "essays", CachedEssay)


def _tree(digest: Any, folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())


@functools.cache
def _tools_digest() -> bytes:
    """chapbook's code, templates and styles (fonts included) and WeasyPrint's version."""
    digest = hashlib.sha256(f"{__version__} weasyprint {version('weasyprint')}".encode())
    for folder in (Path(chapbook.__file__).parent, templates_dir(), styles_dir()):
        _tree(digest, folder)
    return digest.digest()


def book_key(book: Book, purpose: str, whole: bool = True) -> str:
    """A key for something made from the book by chapbook's current code and styles: from the
    whole book, or (`whole=False`) from the manifest alone, as the cover is."""
    digest = hashlib.sha256(_tools_digest() + purpose.encode())
    manifest = book.manifest
    files: list[Path | None] = [manifest.path]
    if whole:
        files += [manifest.glossary, manifest.index, *(c.source for c in book.chapters),
                  *(manifest.root / image for c in book.chapters for image in c.images)]
    for path in files:
        if path is not None:
            digest.update(b"\0" + str(path).encode() + b"\0")
            digest.update(path.read_bytes() if path.is_file() else b"missing")
    return digest.hexdigest()


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
