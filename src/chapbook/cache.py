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

A long book's PDF pieces (build/.cache/pieces): runs of chapters and parts of the back matter as
written, with their anchors' pages and page starts, keyed on their HTML, images and edition and
used only at the first page they were written for (PieceCache).

Every entry of every kind (essays, font subsets, page maps, covers) is also keyed on the code that
made it (code_digest: chapbook's own files, templates and styles, and the versions of the
libraries that shape the output), so a build into an old build/ after a change to chapbook, even
one that leaves its version number alone, makes everything again instead of serving old output.
Font subsets and the fonts' coverage are made by fonts.py and fontTools alone, so they are keyed
on those (fonts.made_by()): a change elsewhere in chapbook does not subset every font again.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import functools
import hashlib
import hmac
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Generic, TypeVar

import chapbook
from chapbook import __version__
from chapbook.cache_codec import CacheDataError, Codec
from chapbook.diagnostics import Finding, Level
from chapbook.markdown.rawhtml import IMAGE_TYPES, ImageResolver, found_the_same
from chapbook.model.book import Book
from chapbook.model.essay import (
    CitationSite,
    Contributor,
    EssaySummary,
    FloatSite,
    Footnote,
    FrontMatter,
    Heading,
    LinkSite,
    ParsedEssay,
    ReferenceSite,
)
from chapbook.model.pages import PageMap, PageStart
from chapbook.model.terms import Found, Glossary, Index, Occurrence
from chapbook.resources import styles_dir, templates_dir

T = TypeVar("T")


@dataclass
class CachedEssay:
    """What the read phase takes of a parsed essay: its summary, the terms it uses, what parsing
    it found, and the images its tokens name. The parsed essay itself, tokens and all, is an
    entry of its own (EssayCache.load_essay), read only by an edition that renders it."""

    summary: EssaySummary
    # each use of a glossary term or index heading: [its id, anchor, section, section's title,
    # line], plain JSON that reads back at the decoder's speed (the chapter is the essay's own)
    glossary: list[list[Any]]
    index: list[list[Any]]
    marks: list[tuple[tuple[str, ...], Occurrence]]
    findings: list[Finding]
    named_images: list[str]  # every image a token names (Markdown's, or raw HTML's)


def essay_key(*parts: bytes | str) -> str:
    digest = hashlib.sha256(__version__.encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()


# Entries a build found damaged, foreign or unreadable, and made again: reported once, as a note.
_ignored: list[Path] = []


def ignored_entries() -> list[Path]:
    """The entries set aside since the last call (and forgets them)."""
    found = list(dict.fromkeys(_ignored))
    _ignored.clear()
    return found


def ignored_elsewhere(entries: list[Path]) -> None:
    """Entries a forked process set aside (its ignored_entries()), to be reported with this
    one's: the web edition's process reads the essays first, and makes a damaged one again."""
    _ignored.extend(entries)


def _user_folder() -> Path:
    """chapbook's folder in the user's cache (XDG_CACHE_HOME, else ~/.cache)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chapbook"


@functools.cache
def _secret() -> bytes | None:
    """The key that signs this machine's cache entries, kept outside build/ (in the user's cache
    folder, readable by the user alone), so whoever can write build/ cannot make an entry this
    chapbook accepts. None where it cannot be kept: then nothing is cached."""
    folder = _user_folder()
    path = folder / "cache-key"
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".cache-key.{os.getpid()}"
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "wb") as stream:
            stream.write(os.urandom(32))
        os.replace(temporary, path)
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == 32 else None


class DataCache(Generic[T]):
    """Entries of one kind under their key, as data, never as code: bytes as they are, other
    values through `codec` (cachecodec.py: JSON that can only become the types it names). Each
    entry is signed (HMAC-SHA256 with a key kept outside build/) over its name and content, so a
    planted, edited or copied-in entry is set aside and made again, as a damaged one is."""

    MAX_ENTRY = 256 * 1024 * 1024  # the largest font subset or page map is far smaller

    def __init__(self, folder: Path | None, kind: str, type_: type[T],
                 codec: Codec | None = None, made_by: bytes | None = None) -> None:
        """`made_by`: a digest of the code that makes this kind of entry, when that is known to
        be narrower than the whole of chapbook (font subsets: fonts.py and fontTools); by
        default, code_digest()."""
        self.folder = folder / kind if folder else None
        self.type = type_
        self.codec = codec
        self.made_by = made_by
        if codec is None and type_ is not bytes:
            raise TypeError("a cache of anything but bytes needs a codec")

    def _name(self, key: str) -> str:
        """The entry's file name: its key, bound to the code that makes the entry."""
        made_by = code_digest() if self.made_by is None else self.made_by
        return hashlib.sha256(made_by + key.encode()).hexdigest()

    @staticmethod
    def _tag(secret: bytes, name: str, body: bytes) -> bytes:
        return hmac.new(secret, name.encode() + b"\0" + body, hashlib.sha256).hexdigest().encode()

    def load(self, key: str) -> T | None:
        secret = _secret()
        if self.folder is None or secret is None:
            return None
        name = self._name(key)
        path = self.folder / f"{name}.entry"
        try:
            if not path.exists():
                return None
            if not path.is_file() or path.stat().st_size > self.MAX_ENTRY:
                raise CacheDataError("not an entry")
            tag, _, body = path.read_bytes().partition(b"\n")
            if not hmac.compare_digest(tag, self._tag(secret, name, body)):
                raise CacheDataError("not signed by this machine's chapbook")
            value = body if self.codec is None else self.codec.loads(body)
            if not isinstance(value, self.type):
                raise CacheDataError("an entry of another kind")
        except (OSError, CacheDataError):
            _ignored.append(path)
            return None
        return value

    def store(self, key: str, entry: T) -> None:
        secret = _secret()
        if self.folder is None or secret is None:
            return
        name = self._name(key)
        body = entry if self.codec is None else self.codec.dumps(entry)
        assert isinstance(body, bytes)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = self.folder / f".{name}.{os.getpid()}.part"
            temporary.write_bytes(self._tag(secret, name, body) + b"\n" + body)
            os.replace(temporary, self.folder / f"{name}.entry")
        except OSError:
            pass  # a cache that cannot be written only costs the next build its time


class SharedCache(DataCache[bytes]):
    """Entries no one book owns (font subsets: a font, some characters, chapbook's code), kept in
    the user's cache folder and shared by every book and output folder on the machine; the
    least recently used go once the folder passes MAX_BYTES. Safe to delete."""

    MAX_BYTES = 256 * 1024 * 1024

    def __init__(self, kind: str, made_by: bytes | None = None) -> None:
        super().__init__(_user_folder(), kind, bytes, made_by=made_by)

    def load(self, key: str) -> bytes | None:
        value = super().load(key)
        if value is not None and self.folder is not None:
            with contextlib.suppress(OSError):  # used now: the last to go
                os.utime(self.folder / f"{self._name(key)}.entry")
        return value

    def trim(self) -> None:
        """Let the least recently used entries go until the folder is under MAX_BYTES: once
        per build step that stored something, not once per entry."""
        if self.folder is None:
            return
        try:
            entries = sorted((stat.st_mtime, stat.st_size, path)
                             for path in self.folder.glob("*.entry") for stat in [path.stat()])
            total = sum(size for _, size, _ in entries)
            for _, size, path in entries:
                if total <= self.MAX_BYTES:
                    break
                path.unlink(missing_ok=True)
                total -= size
        except OSError:
            pass  # another build trimmed it first


ESSAY_CODEC = Codec((CachedEssay, EssaySummary, LinkSite, FloatSite, ReferenceSite,
                     CitationSite, ParsedEssay, Heading, Footnote, FrontMatter, Contributor,
                     Occurrence, Finding, Level))


class EssayCache:
    """Parsed essays in build/.cache/essays, under their key (read/essays.py): what the read
    phase takes of each (its summary, a few kilobytes), and apart from it the parsed essay,
    tokens and all, which only an edition that renders it reads."""

    def __init__(self, folder: Path | None) -> None:
        self.summaries = DataCache(folder, "essays", CachedEssay, ESSAY_CODEC)
        self.essays = DataCache(folder, "essays", ParsedEssay, ESSAY_CODEC)

    def load(self, key: str) -> CachedEssay | None:
        return self.summaries.load(key)

    def holds(self, key: str) -> bool:
        """Whether an entry is kept under `key` (unread, unchecked: load() may still refuse
        it)."""
        folder = self.summaries.folder
        return folder is not None and (folder / f"{self.summaries._name(key)}.entry").exists()

    def writable(self) -> bool:
        """Whether entries can be kept at all (a folder for them, and the key that signs
        them)."""
        return self.summaries.folder is not None and _secret() is not None

    def load_essay(self, key: str, summary: EssaySummary, root: Path) -> ParsedEssay | None:
        """The parsed essay of `key`, if it is kept and is the one `summary` was made from:
        it names no image but the summary's (checked as the book's at thaw), and found the
        images it looked for as the summary says."""
        essay = self.essays.load(f"{key} essay")
        named = _named_images(essay) if essay is not None else None
        if essay is None or named is None or not named <= set(summary.images) \
                or essay.env.get("image_lookups") != summary.image_lookups \
                or not _notes_shared(essay):
            return None
        essay.env["images"] = ImageResolver(root.resolve())
        return essay

    def store(self, key: str, essay: ParsedEssay, entry: CachedEssay) -> None:
        """The essay first: a summary is kept only beside its essay."""
        self.store_essay(key, essay)
        self.summaries.store(key, entry)

    def store_essay(self, key: str, essay: ParsedEssay) -> None:
        self.essays.store(f"{key} essay", storable(essay))


def _notes_shared(essay: ParsedEssay) -> bool:
    """The notes the calls point at (env["chapbook_notes"], by markdown-it's note id) are the
    essay's notes again, not copies read back apart from them: the collect phase writes into
    the essay's notes, and the renderer reads the calls'. False for notes of another shape."""
    calls = essay.env.get("chapbook_notes", {})
    notes = {note.id: note for note in essay.footnotes if isinstance(note, Footnote)}
    if not isinstance(calls, dict) or len(notes) != len(essay.footnotes) or not all(
            isinstance(note, Footnote) and note.id in notes for note in calls.values()):
        return False
    essay.env["chapbook_notes"] = {call: notes[note.id] for call, note in calls.items()}
    return True


def storable(essay: ParsedEssay) -> ParsedEssay:
    """A parsed essay as kept: all of it but the image resolver, which is the book's."""
    return dataclasses.replace(essay, env={name: value for name, value in essay.env.items()
                                           if name != "images"})


def _tree(digest: Any, folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()
                       and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())


# The libraries whose version changes what chapbook makes: parsing, sanitising, repairing,
# citing, dating, hyphenating, subsetting, laying out, writing, converting images and Word.
LIBRARIES = ("markdown-it-py", "mdit-py-plugins", "nh3", "ftfy", "fonttools", "weasyprint",
             "pydyf", "tinyhtml5", "tinycss2", "cssselect2", "pyphen", "pikepdf", "jinja2",
             "lxml", "ebooklib", "pyyaml", "citeproc-py", "babel", "pillow", "pypdfium2",
             "pypandoc-binary", "python-docx")

# The system's libraries WeasyPrint lays text out with (Pango breaks lines, HarfBuzz shapes
# glyphs, fontconfig chooses the face that fills in a missing glyph): upgraded with the system,
# not with chapbook. Each by the file names WeasyPrint loads it by (text/ffi.py: Linux's first,
# the quickest), else as ctypes finds it (slower: it runs ldconfig), and the function that tells
# its version, with what that function returns.
SYSTEM_LIBRARIES: dict[str, tuple[tuple[str, ...], str, str, Any]] = {
    "pango": (("libpango-1.0.so.0", "libpango-1.0.dylib", "libpango-1.0-0.dll"), "pango-1.0",
              "pango_version_string", ctypes.c_char_p),
    "harfbuzz": (("libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0.dll"), "harfbuzz",
                 "hb_version_string", ctypes.c_char_p),
    "fontconfig": (("libfontconfig.so.1", "libfontconfig.1.dylib", "libfontconfig-1.dll"),
                   "fontconfig", "FcGetVersion", ctypes.c_int)}


def library_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def _system_version(files: tuple[str, ...], name: str, function: str, answer: Any) -> str:
    library = None
    for file in files:
        with contextlib.suppress(OSError):
            library = ctypes.CDLL(file)
            break
    else:
        found = ctypes.util.find_library(name)
        with contextlib.suppress(OSError):
            library = ctypes.CDLL(found) if found else None
    call = getattr(library, function, None) if library is not None else None
    if call is None:
        return "-"
    call.restype = answer
    told = call()
    return told.decode("ascii", "replace") if isinstance(told, bytes) else str(told)


def system_versions() -> dict[str, str]:
    """Each of SYSTEM_LIBRARIES' version ("-" if it cannot be found)."""
    return {library: _system_version(*found) for library, found in SYSTEM_LIBRARIES.items()}


@functools.cache
def code_digest() -> bytes:
    """chapbook's own code (every file of the package), its templates and styles (fonts
    included), and the versions of the libraries that shape its output: what every cache entry
    is keyed on. Hashed once per process (about 30 ms; the styles' fonts are most of it)."""
    digest = hashlib.sha256(__version__.encode())
    for library in LIBRARIES:
        digest.update(f"\0{library} {library_version(library)}".encode())
    for library, found in system_versions().items():
        digest.update(f"\0{library} {found}".encode())
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
                  *(manifest.root / image for c in book.chapters for image in c.images),
                  *manifest.bibliography, manifest.csl]
    for path in files:
        if path is not None:  # (named as the file system does, however the command spelled it)
            digest.update(b"\0" + str(path.resolve()).encode() + b"\0")
            digest.update(path.read_bytes() if path.is_file() else b"missing")
    return digest.hexdigest()


def freeze(summary: EssaySummary, essay: ParsedEssay, found: Found,
           findings: list[Finding]) -> CachedEssay:
    """What the read phase keeps of a parsed essay (the image resolver is the book's)."""
    return CachedEssay(summary, [_row(entry.id, o) for entry, o in found.glossary],
                       [_row(heading.id, o) for heading, o in found.index], list(found.marks),
                       findings, sorted(str(image) for image in _named_images(essay) or ()))


def _row(term_id: str, occurrence: Occurrence) -> list[Any]:
    return [term_id, occurrence.anchor, occurrence.section, occurrence.section_title,
            occurrence.line]


def _occurrences(rows: list[list[Any]], terms: dict[str, Any], chapter_id: str,
                 number: int) -> list[tuple[Any, Occurrence]] | None:
    """The uses of terms the rows name, in the chapter; None if a row is not such a row or
    names a term the book no longer has."""
    found = []
    for row in rows if type(rows) is list else [None]:
        if not (type(row) is list and len(row) == 5 and type(row[0]) is str
                and type(row[1]) is str and type(row[2]) is int and type(row[3]) is str
                and type(row[4]) is int and row[0] in terms):
            return None
        found.append((terms[row[0]], Occurrence(chapter_id, number, *row[1:])))
    return found


def _named_images(essay: ParsedEssay) -> set[object] | None:
    """Every image a token of the essay points at (Markdown's, or raw HTML's); None if a token
    holds its raw HTML's images in some other shape than the audit's."""
    named: set[object] = set()
    stack = [*essay.tokens, *essay.title_tokens,
             *(token for note in essay.footnotes for token in note.tokens)]
    while stack:
        token = stack.pop()
        if "image" in token.meta:
            named.add(token.meta["image"])
        if "images" in token.meta:
            approved = token.meta["images"]
            if not isinstance(approved, dict):
                return None
            named.update(approved.values())
        stack.extend(token.children or [])
    return named


def _images_in_book(entry: CachedEssay, root: Path) -> bool:
    """The images a cached essay names are files inside the book, as the audit left them: an
    entry is checked as if it came from the book, signed or not."""
    images = entry.summary.images
    if not isinstance(images, list) or not isinstance(entry.named_images, list):
        return False
    folder = root.resolve()
    for image in images:
        if not isinstance(image, str):
            return False
        path = (folder / image).resolve()
        if not path.is_relative_to(folder) or not path.is_file() \
                or path.suffix.lower() not in IMAGE_TYPES:
            return False
    # and every image a token points at is one of those (and is again when the tokens are read)
    return set(entry.named_images) <= set(images)


def thaw(entry: CachedEssay, glossary: Glossary | None, index: Index | None, found: Found,
         source: Path, root: Path, chapter_id: str, number: int) -> bool:
    """Re-attach a cached essay's occurrences to the book's glossary and index; False if any
    entry they name is gone, its images are not the book's, or an image it looked for is not
    found as it was (then the essay is parsed again)."""
    if not _images_in_book(entry, root) or \
            not found_the_same(entry.summary.image_lookups, source, root):
        return False
    entries = {e.id: e for e in glossary.entries} if glossary else {}
    headings = {h.id: h for h in index.all_headings()} if index else {}
    in_glossary = _occurrences(entry.glossary, entries, chapter_id, number)
    in_index = _occurrences(entry.index, headings, chapter_id, number)
    if in_glossary is None or in_index is None:
        return False
    found.glossary += in_glossary
    found.index += in_index
    found.marks += entry.marks
    return True


# --- the print layout's page map, which the EPUB's page list reads (model/pages.py) ---

def _maps(cache: Path | None) -> DataCache[PageMap]:
    return DataCache(cache, "layout", PageMap, Codec((PageMap, PageStart)))


def cached_page_map(book: Book, cache: Path | None, edition: str = "pdf") -> PageMap | None:
    return _maps(cache).load(book_key(book, f"layout {edition}"))


def store_page_map(book: Book, cache: Path | None, page_map: PageMap,
                   edition: str = "pdf") -> None:
    _maps(cache).store(book_key(book, f"layout {edition}"), page_map)


# --- the front matter's length, which layout/paginate.py takes as a guess it then checks ---

MAX_FRONT_PAGES = 999


def _front_lengths(cache: Path | None) -> DataCache[bytes]:
    return DataCache(cache, "front", bytes)


def remembered_front_length(book: Book, cache: Path | None, edition: str) -> int | None:
    """The front matter's length in pages when this manifest's book was last laid out as
    `edition` (its essays may have changed since: the layout checks the guess)."""
    data = _front_lengths(cache).load(book_key(book, f"front length {edition}", whole=False))
    if data is None or not data.isdigit() or not 0 < int(data) <= MAX_FRONT_PAGES:
        return None
    return int(data)


def remember_front_length(book: Book, cache: Path | None, edition: str, pages: int) -> None:
    _front_lengths(cache).store(book_key(book, f"front length {edition}", whole=False),
                                str(pages).encode())


# --- the reading PDF last written, which the booklet is imposed from (builders/booklet.py) ---

def _written(cache: Path | None) -> DataCache[bytes]:
    return DataCache(cache, "written", bytes)


def note_reading_pdf(book: Book, cache: Path | None, data: bytes) -> None:
    """Remember the digest of the reading PDF just written for the book as it is now."""
    _written(cache).store(book_key(book, "reading pdf"), hashlib.sha256(data).digest())


def current_reading_pdf(book: Book, cache: Path | None, path: Path) -> bytes | None:
    """The reading PDF at `path` if it is the one written for the book as it is now (its
    digest is the one noted), else None: an older, edited or foreign file is never used."""
    digest = _written(cache).load(book_key(book, "reading pdf"))
    try:
        data = path.read_bytes() if digest is not None and path.is_file() else None
    except OSError:
        return None
    return data if data is not None and hashlib.sha256(data).digest() == digest else None


# --- a long book's body, written as PDF pieces (layout/parallel.py) ---

@dataclass
class CachedPiece:
    """A piece of the body as written: where it starts (after `blanks` blank versos), its
    length, its anchors' pages, its page starts, and its PDFs' bookmark levels and digests
    (one PDF as a rule, two for a part written in halves at once)."""

    first_page: int
    blanks: int
    length: int
    pages: dict[str, int]
    starts: list[PageStart]
    levels: list[list[int]]
    findings: list[Finding]  # what laying it out and writing it found, reported again
    pdf_digests: list[str] = dataclasses.field(default_factory=list)  # set by PieceCache.store

    def fits(self, first_page: int, blanks: int) -> bool:
        """Whether the entry is for a piece starting there, and holds only what such a piece
        can hold (it was read from disk)."""
        if not (self.first_page == first_page and self.blanks == blanks
                and isinstance(self.length, int) and 0 < self.length <= MAX_PIECE_PAGES
                and isinstance(self.pages, dict) and isinstance(self.starts, list)
                and isinstance(self.levels, list) and isinstance(self.pdf_digests, list)
                and 0 < len(self.pdf_digests) == len(self.levels)
                and all(isinstance(digest, str) for digest in self.pdf_digests)
                and isinstance(self.findings, list)
                and all(isinstance(f, Finding) and isinstance(f.level, Level)
                        and isinstance(f.message, str) and isinstance(f.code, str)
                        for f in self.findings)):
            return False
        last = first_page + self.length - 1
        return (all(isinstance(k, str) and isinstance(v, int) and first_page <= v <= last
                    for k, v in self.pages.items())
                and all(isinstance(s, PageStart) and isinstance(s.number, int)
                        and first_page <= s.number <= last for s in self.starts)
                and all(isinstance(levels, list) and all(isinstance(level, int)
                                                          and 0 < level <= 6 for level in levels)
                        for levels in self.levels))


MAX_PIECE_PAGES = 100_000


class PieceCache:
    """Written pieces of a long book's body in build/.cache/pieces, each under a key made from
    everything that goes into it but its page numbers (its segments' HTML, their images, the
    edition; layout/paginate.py's _piece_key), so a book with one essay changed lays out that
    essay's piece and takes the rest from here, where their first pages have not moved. One
    entry per key: a piece laid out at another page replaces it. The least recently used go
    once the folder holds more than MAX_KEPT times the last build's pieces."""

    MAX_KEPT = 3

    def __init__(self, cache: Path | None) -> None:
        self.entries = DataCache(cache, "pieces", CachedPiece,
                                 Codec((CachedPiece, PageStart, Finding, Level)))
        self.pdfs = DataCache(cache, "pieces", bytes)

    def entry(self, key: str) -> CachedPiece | None:
        """The piece of this key as last written (at whatever page), unchecked."""
        return self.entries.load(key)

    def load(self, key: str, entry: CachedPiece | None, first_page: int,
             blanks: int) -> tuple[CachedPiece, list[bytes]] | None:
        """`entry` (from entry()) and its PDFs, if it starts at `first_page` after `blanks`
        blank versos and holds what such a piece can."""
        if entry is None or not entry.fits(first_page, blanks):
            return None
        names = [_pdf_name(key, part) for part in range(len(entry.pdf_digests))]
        pdfs = [self.pdfs.load(name) for name in names]
        if any(pdf is None or hashlib.sha256(pdf).hexdigest() != digest
               for pdf, digest in zip(pdfs, entry.pdf_digests, strict=True)):
            return None
        _used(self.entries.folder, self.entries._name(key),
              *(self.pdfs._name(name) for name in names))
        return entry, [pdf for pdf in pdfs if pdf is not None]

    def store(self, key: str, entry: CachedPiece, pdfs: list[bytes]) -> None:
        """`entry` and its PDFs (as many as its bookmark levels), each under its digest."""
        for part, pdf in enumerate(pdfs):
            self.pdfs.store(_pdf_name(key, part), pdf)
        digests = [hashlib.sha256(pdf).hexdigest() for pdf in pdfs]
        self.entries.store(key, dataclasses.replace(entry, pdf_digests=digests))

    def trim(self, used: int) -> None:
        """Keep the newest MAX_KEPT × `used` pieces (two files each)."""
        _keep_newest(self.entries.folder, 2 * self.MAX_KEPT * used)


def _pdf_name(key: str, part: int) -> str:
    return f"{key} pdf" if part == 0 else f"{key} pdf {part + 1}"


class DocumentCache:
    """EPUB documents as rendered, in build/.cache/documents, each under a key made from all it
    shows (builders/epub.py): after one essay changes, its chapter's document is rendered again
    and the others come from here. The least recently used go once the folder holds more than
    MAX_KEPT times the last build's documents."""

    MAX_KEPT = 3

    def __init__(self, cache: Path | None) -> None:
        self.entries = DataCache(cache, "documents", bytes)

    def load(self, key: str) -> bytes | None:
        """The document, if one is kept under `key` and reads as an XHTML document."""
        content = self.entries.load(key)
        if content is None or not content.startswith(b"<?xml"):
            return None
        _used(self.entries.folder, self.entries._name(key))
        return content

    def store(self, key: str, content: bytes) -> None:
        self.entries.store(key, content)

    def trim(self, used: int) -> None:
        _keep_newest(self.entries.folder, self.MAX_KEPT * used)


def _used(folder: Path | None, *names: str) -> None:
    """Entries used now: the last to go when their folder is trimmed."""
    for name in names if folder is not None else ():
        with contextlib.suppress(OSError):
            os.utime(folder / f"{name}.entry")


def _keep_newest(folder: Path | None, count: int) -> None:
    if folder is None:
        return
    try:
        files = sorted(folder.glob("*.entry"), key=lambda path: path.stat().st_mtime,
                       reverse=True)
        for path in files[count:]:
            path.unlink(missing_ok=True)
    except OSError:
        pass  # another build trimmed it first
