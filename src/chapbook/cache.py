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

Every entry of every kind (essays, font subsets, page maps, covers) is also keyed on the code that
made it (code_digest: chapbook's own files, templates and styles, and the versions of the
libraries that shape the output), so a build into an old build/ after a change to chapbook, even
one that leaves its version number alone, makes everything again instead of serving old output.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
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

    @staticmethod
    def _name(key: str) -> str:
        """The entry's file name: its key, bound to the code that makes the entry."""
        return hashlib.sha256(code_digest() + key.encode()).hexdigest()

    def load(self, key: str) -> T | None:
        if self.folder is None:
            return None
        path = self.folder / f"{self._name(key)}.pickle"
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
        name = self._name(key)
        temporary = self.folder / f".{name}.{os.getpid()}.part"
        with temporary.open("wb") as stream:
            pickle.dump(entry, stream, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, self.folder / f"{name}.pickle")


class EssayCache(PickleCache[CachedEssay]):
    def __init__(self, folder: Path | None) -> None:
        super().__init__(folder, "essays", CachedEssay)


def _tree(digest: Any, folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())


# The libraries whose version changes what chapbook makes: parsing, sanitising, repairing,
# subsetting, laying out, writing.
LIBRARIES = ("markdown-it-py", "mdit-py-plugins", "nh3", "ftfy", "fonttools", "weasyprint",
             "pydyf", "pikepdf", "pypdf", "jinja2", "lxml", "ebooklib", "pyyaml")


def _library_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


@functools.cache
def code_digest() -> bytes:
    """chapbook's own code (every file of the package), its templates and styles (fonts
    included), and the versions of the libraries that shape its output: what every cache entry
    is keyed on. Hashed once per process (about 30 ms; the styles' fonts are most of it)."""
    digest = hashlib.sha256(__version__.encode())
    for library in LIBRARIES:
        digest.update(f"\0{library} {_library_version(library)}".encode())
    for folder in (Path(chapbook.__file__).resolve().parent, templates_dir(), styles_dir()):
        digest.update(b"\0" + folder.name.encode() + b"\0")
        _tree(digest, folder)
    return digest.digest()


def book_key(book: Book, purpose: str, whole: bool = True) -> str:
    """A key for something made from the book by chapbook's current code and styles: from the
    whole book, or (`whole=False`) from the manifest alone, as the cover is."""
    digest = hashlib.sha256(code_digest() + purpose.encode())
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
