"""`chapbook check`: an editorial check of a book without building it.

It reads the book exactly as a build would (manifest, sources, tokens), and finds the characters
no shipped font has with the build's own function, so a finding here is a finding there. Then it
adds the checks an editor wants before typesetting: essays left out of the book, images without
alt text, internal links that go nowhere, two chapters with one title, empty essays. A mistake
in the book never raises: it becomes an error-level finding, and the checks that can still run
do. Nothing is written, and no source is changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import yaml

from chapbook import ids
from chapbook.collect import collect
from chapbook.collect.alttext import check_alt_text
from chapbook.collect.links import Target, resolve_links
from chapbook.collect.sites import link_sites
from chapbook.diagnostics import Diagnostics, Level
from chapbook.errors import BookError, BookErrors
from chapbook.fonts import book_text_files, report_missing_glyphs
from chapbook.markdown.parser import parse_essay
from chapbook.model.book import Book, TokenChanges
from chapbook.model.essay import ParsedEssay
from chapbook.read.essays import read_book
from chapbook.read.manifest import load_manifest
from chapbook.read.sources import read_source
from chapbook.schema import compose

MARKDOWN_SUFFIXES = (".md", ".markdown")
# Folders under the book's folder that hold no essays: outputs and tool caches (and any hidden
# folder); and the names of the copies editors and tools leave beside a file.
SKIPPED_FOLDERS = {"build", "_build", "node_modules", "__pycache__"}
BACKUP_NAMES = ("*~", "*~.*", ".#*", ".*", "*.orig", "*.orig.*", "*.bak", "*.bak.*",
                "*.backup*", "*.swp", "#*#")


@dataclass(frozen=True)
class Essay:
    """What the checks need of one chapter, whether the whole book could be read or not."""

    id: str
    title: str | None
    title_path: Path      # where the title is written: the essay, or book.yml when it sets it
    title_line: int | None
    source: Path
    parsed: ParsedEssay


def check_book(manifest_path: Path) -> Diagnostics:
    """All findings about the book, never raising for the user's mistakes."""
    manifest_path = Path(manifest_path)
    diagnostics = Diagnostics()
    root = manifest_path.parent
    listed: list[tuple[Path, str | None, int]] | None
    book: Book | None = None
    try:
        manifest = load_manifest(manifest_path)
    except (BookError, BookErrors) as err:
        _add_errors(err, "manifest", manifest_path, diagnostics)
        listed = _listed_chapters(manifest_path)  # what book.yml names, read leniently
        essays = _read_essays(root, manifest_path, listed or [], diagnostics)
        _check_links(essays, diagnostics)
        texts = [manifest_path, *(path for path, _, _ in listed or [])]
        exclude = _lenient_exclude(manifest_path)
    else:
        listed = [(spec.source, spec.title, spec.line) for spec in manifest.chapters]
        texts = book_text_files(manifest)
        exclude = manifest.exclude
        try:
            book, found = read_book(manifest, diagnostics)
            collect(book, found, diagnostics)  # which also resolves and checks links
        except (BookError, BookErrors) as err:
            _add_errors(err, "source", manifest_path, diagnostics)
            essays = _read_essays(root, manifest_path, listed, diagnostics)
            _check_links(essays, diagnostics)
        else:
            essays = [
                Essay(chapter.id, chapter.title,
                      manifest_path if spec.title else chapter.source,
                      spec.line if spec.title else chapter.essay.title_line or 1,
                      chapter.source, chapter.essay)
                for chapter, spec in zip(book.chapters, manifest.chapters, strict=True)]
    if listed is not None:
        _check_orphans(root, {path.resolve() for path, _, _ in listed}, diagnostics, exclude)
    report_missing_glyphs(texts, diagnostics)
    for essay in essays:
        if book is None:  # a build checks alt text as it parses (read/essays.py); not these
            check_alt_text(essay.source, essay.parsed, diagnostics)
        _check_empty(essay, diagnostics)
    _check_titles(essays, diagnostics)
    return diagnostics


def report(diagnostics: Diagnostics, strict: bool, quiet: bool = False) -> int:
    """Print every finding and a summary, or with `quiet` only the errors; the exit status is 1
    for errors, 2 for warnings when strict (as for `chapbook build --strict`), else 0."""
    for finding in diagnostics.in_reading_order():
        if not quiet or finding.level is Level.ERROR:
            print(finding)
    errors, warnings, notes = (diagnostics.count(level)
                               for level in (Level.ERROR, Level.WARNING, Level.NOTE))
    if not quiet:
        print(", ".join(f"{count} {word}{'' if count == 1 else 's'}" for count, word in
                        ((errors, "error"), (warnings, "warning"), (notes, "note"))))
    if errors:
        return 1
    return 2 if strict and warnings else 0


# --- when the book cannot be read whole ------------------------------------------------------

def _add_errors(err: BookError | BookErrors, code: str, default: Path,
                diagnostics: Diagnostics) -> None:
    """One error-level finding per mistake, keeping its file and line, the hint after it."""
    for error in err.errors if isinstance(err, BookErrors) else [err]:
        message = f"{error.message}; {error.hint}" if error.hint else error.message
        diagnostics.add(Level.ERROR, code, message, error.path or default, error.line,
                        error.column)


def _listed_chapters(manifest_path: Path) -> list[tuple[Path, str | None, int]] | None:
    """The essays an invalid book.yml names, so the essay checks can still run; None when the
    YAML itself cannot be read."""
    try:
        node = compose(manifest_path, "manifest")
    except BookError:
        return None
    root = manifest_path.parent.resolve()
    listed: list[tuple[Path, str | None, int]] = []
    groups = [*(_value(part, "chapters") for part in _items(_value(node, "parts"))),
              _value(node, "chapters"), _value(node, "appendices")]
    for group in groups:
        for chapter in _items(group):
            file, title = _value(chapter, "file"), _value(chapter, "title")
            if not isinstance(file, yaml.ScalarNode) or not str(file.value).strip():
                continue
            path = (root / str(file.value)).resolve()
            if path.is_relative_to(root) and path not in {p for p, _, _ in listed}:
                listed.append((path, str(title.value) if isinstance(title, yaml.ScalarNode)
                               else None, chapter.start_mark.line + 1))
    return listed


def _lenient_exclude(manifest_path: Path) -> tuple[str, ...]:
    """The `exclude` patterns of an invalid book.yml, as far as they can be read."""
    try:
        node = compose(manifest_path, "manifest")
    except BookError:
        return ()
    return tuple(str(item.value) for item in _items(_value(node, "exclude"))
                 if isinstance(item, yaml.ScalarNode) and str(item.value).strip())


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if k.value == key), None)


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _read_essays(root: Path, manifest_path: Path, listed: list[tuple[Path, str | None, int]],
                 diagnostics: Diagnostics) -> list[Essay]:
    """Each listed essay parsed on its own (no glossary or index), as the pipeline would."""
    essays: list[Essay] = []
    used: set[str] = set()
    for number, (path, spec_title, line) in enumerate(listed, 1):
        if not path.is_file():
            continue  # the manifest error already names it
        chapter_id = ids.chapter_id(path.stem, number, used)
        try:
            source = read_source(path, diagnostics)
        except BookError as err:
            _add_errors(err, "source", path, diagnostics)
            continue
        parsed = parse_essay(source.text, chapter_id, path, diagnostics, root=root)
        essays.append(Essay(chapter_id, spec_title or parsed.title,
                            manifest_path if spec_title else path,
                            line if spec_title else parsed.title_line or 1, path, parsed))
    return essays


# --- the checks ------------------------------------------------------------------------------

def _matches(relative: PurePosixPath, is_folder: bool, pattern: str) -> bool:
    """Whether a path below the book's folder matches an `exclude` pattern, as in .gitignore: a
    pattern ending in `/` names folders only; one with a `/` elsewhere is anchored at the book's
    folder, and one without matches a name at any depth."""
    folders_only = pattern.endswith("/")
    pattern = pattern.strip("/")
    if not pattern or (folders_only and not is_folder):
        return False
    if "/" in pattern:
        parts = pattern.split("/")
        return len(parts) == len(relative.parts) and all(
            fnmatchcase(name, part) for name, part in zip(relative.parts, parts, strict=True))
    return fnmatchcase(relative.name, pattern)


def _excluded(relative: PurePosixPath, is_folder: bool, patterns: tuple[str, ...]) -> bool:
    """Left out of the orphan check: backup copies, and what the manifest's `exclude` names."""
    name = relative.name
    if is_folder and (name.startswith(".") or name in SKIPPED_FOLDERS):
        return True
    if not is_folder and any(fnmatchcase(name, backup) for backup in BACKUP_NAMES):
        return True
    return any(_matches(relative, is_folder, pattern) for pattern in patterns)


def _check_orphans(root: Path, listed: set[Path], diagnostics: Diagnostics,
                   exclude: tuple[str, ...] = ()) -> None:
    """An essay in the folder but not in book.yml is usually one the author forgot to add."""
    for folder, subfolders, files in os.walk(root):
        below = PurePosixPath(Path(folder).relative_to(root).as_posix())
        subfolders[:] = sorted(d for d in subfolders
                               if not _excluded(below / d, True, exclude))
        for name in sorted(files):
            path = Path(folder) / name
            is_readme = path.stem.upper() in ("README", "CHANGELOG", "LICENSE")
            if (path.suffix.lower() in MARKDOWN_SUFFIXES and path.resolve() not in listed
                    and not is_readme and not _excluded(below / name, False, exclude)):
                shown = path.relative_to(root).as_posix()
                diagnostics.warn("orphan-essay", f"'{shown}' is not a chapter of the book; add it "
                                 "to book.yml or remove it", path)


def _check_links(essays: list[Essay], diagnostics: Diagnostics) -> None:
    """Links between the essays, when the book could not be read whole (a build resolves them
    in its collect phase, and reports the same findings)."""
    resolve_links([Target(essay.id, essay.source, ids.title(essay.id),
                          tuple(heading.id for heading in essay.parsed.headings))
                   for essay in essays],
                  {essay.id: link_sites(essay.parsed) for essay in essays}, diagnostics,
                  TokenChanges())


def _check_titles(essays: list[Essay], diagnostics: Diagnostics) -> None:
    """Two chapters with one title read as one in the contents and the running heads."""
    first: dict[str, Essay] = {}
    for essay in essays:
        if not essay.title:
            continue
        key = essay.title.casefold()
        if key in first:
            earlier = first[key].source
            diagnostics.warn("duplicate-title", f"the title '{essay.title}' is also the title of "
                             f"'{earlier.name}'; give one of them another title",
                             essay.title_path, essay.title_line)
        else:
            first[key] = essay


_CONTENT = ("inline", "fence", "code_block", "html_block")


def _check_empty(essay: Essay, diagnostics: Diagnostics) -> None:
    """An essay with no text is a placeholder or a failed export; it would set a blank chapter."""
    source = essay.source.resolve()
    if any(f.code == "empty-essay" and f.path is not None and Path(f.path).resolve() == source
           for f in diagnostics.findings):
        return  # the pipeline has said so already
    body = essay.parsed.tokens + [t for note in essay.parsed.footnotes for t in note.tokens]
    if any(token.type in _CONTENT and token.content.strip() for token in body):
        return
    if essay.parsed.title:
        diagnostics.warn("empty-essay", "the essay has a title but no text; write it, or "
                         "remove it from book.yml", essay.source, essay.parsed.title_line)
    else:
        diagnostics.warn("empty-essay", "the essay has no text at all; write it, or remove it "
                         "from book.yml", essay.source, 1)


def write_repaired(manifest_path: Path, folder: Path) -> list[Path]:
    """`check --fix`: repaired copies of the essays, in a folder the author names, never over the
    sources: the same relative paths, as UTF-8 with LF line ends and mojibake repaired."""
    from chapbook.outputs import write_atomic
    from chapbook.read.manifest import load_manifest
    from chapbook.read.sources import read_source

    manifest = load_manifest(manifest_path)
    folder = folder.resolve()
    written = []
    for chapter in manifest.chapters:
        if folder == manifest.root.resolve() or chapter.source.resolve().is_relative_to(folder):
            raise BookError("--fix would write over the sources", folder,
                            hint="name a folder outside the book, e.g. --fix repaired/")
        text = read_source(chapter.source, Diagnostics()).text
        target = folder / chapter.source.relative_to(manifest.root.resolve())
        written.append(write_atomic(target, text.encode("utf-8")))
    return written
