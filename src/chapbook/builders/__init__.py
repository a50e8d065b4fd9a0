"""Builders only write the Book. A registry maps each output format to its builder."""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from chapbook.book import Book
from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError

Builder = Callable[[Book, Path, Diagnostics], Path]


class HeldOutputs:
    """Outputs written beside their targets and held there: `commit` renames them all into
    place, `discard` removes them. A build that fails, or fails `--strict` once every warning is
    known, so leaves the last good outputs as they were."""

    def __init__(self) -> None:
        self.pending: dict[Path, Path] = {}  # target -> its temporary file

    def file(self, target: Path) -> Path:
        """Where the target's new content is now: its temporary file until committed."""
        return self.pending.get(target, target)

    def commit(self) -> list[Path]:
        committed = []
        for target, temporary in self.pending.items():
            os.replace(temporary, target)
            committed.append(target)
        self.pending.clear()
        return committed

    def discard(self) -> None:
        for temporary in self.pending.values():
            temporary.unlink(missing_ok=True)
        self.pending.clear()


_held: ContextVar[HeldOutputs | None] = ContextVar("chapbook_held_outputs", default=None)


@contextlib.contextmanager
def held_outputs() -> Iterator[HeldOutputs]:
    """Within it, write_atomic holds each output until `commit`; whatever is not committed when
    it ends (an error, an interruption, a failed --strict) is removed."""
    held = HeldOutputs()
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)
        held.discard()


_scratch: ContextVar[Path | None] = ContextVar("scratch", default=None)


def scratch_folder() -> Path | None:
    """Where a build keeps its temporary folders (PDF pieces): inside the locked output folder,
    so the next build sweeps what a killed one left. None outside `output_folder_lock`."""
    folder = _scratch.get()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def output_folder_lock(out: Path) -> Iterator[None]:
    """One build at a time writes into a folder: a second stops at once with a clear error
    instead of deleting the first one's temporary files. Under the lock, whatever killed builds
    left behind (temporary outputs and cache entries, pieces folders) is swept first."""
    (out / ".cache").mkdir(parents=True, exist_ok=True)
    handle = (out / ".cache" / "lock").open("a")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BookError("another chapbook build is writing into this folder", out,
                            hint="wait for it to finish, or give this build another --out"
                            ) from None
        for stale in [*out.glob(".*.part"), *(out / ".cache").glob("*/.*.part")]:
            stale.unlink(missing_ok=True)
        shutil.rmtree(out / ".cache" / "tmp", ignore_errors=True)
        token = _scratch.set(out / ".cache" / "tmp")
        try:
            yield
        finally:
            _scratch.reset(token)
            shutil.rmtree(out / ".cache" / "tmp", ignore_errors=True)
    finally:
        handle.close()  # and with it the lock


def write_atomic(target: Path, data: bytes) -> Path:
    """Write beside the target and rename into place: a failed build leaves the last good file.
    Inside `held_outputs`, the rename waits for its commit."""
    target.parent.mkdir(parents=True, exist_ok=True)
    held = _held.get()
    if held is not None and target in held.pending:
        held.pending.pop(target).unlink(missing_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.part"):  # left by a killed build
        if held is None or stale not in held.pending.values():
            stale.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would hide the book from others
        if held is not None:
            held.pending[target] = Path(temporary)
        else:
            os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


_BUILDERS = {"html": "html:build_html", "pdf": "pdf:build_pdf", "epub": "epub:build_epub",
             "booklet": "booklet:build_booklet", "print": "pdf:build_print"}


def builder(edition: str) -> Builder:
    """The builder of one edition, imported when asked for: an EPUB or HTML build need not load
    the typesetter."""
    module, function = _BUILDERS[edition].split(":")
    return getattr(importlib.import_module(f"chapbook.builders.{module}"), function)


# What each edition writes into the output folder, by the book's slug.
OUTPUT_NAMES = {"html": "{slug}.html", "pdf": "{slug}.pdf", "epub": "{slug}.epub",
                "booklet": "{slug}-booklet.pdf", "print": "{slug}-print.pdf"}


def refuse_writing_over_sources(book: Book, out: Path, editions: list[str]) -> None:
    """No output may replace a file the book reads (an essay called `<slug>.html` in a folder
    given as --out, say): stop before anything is written."""
    manifest = book.manifest
    sources = {path.resolve(): path for path in (
        manifest.path, manifest.glossary, manifest.index,
        *(chapter.source for chapter in book.chapters),
        *(manifest.root / image for chapter in book.chapters for image in chapter.images))
        if path is not None}
    for edition in editions:
        target = (out / OUTPUT_NAMES[edition].format(slug=book.slug)).resolve()
        if target in sources:
            raise BookError(f"the {edition} edition would be written over this file, which "
                            "the book reads",
                            sources[target], hint="give --out a folder that holds none of "
                            "the book's files, such as --out build")
    cache = (out / ".cache").resolve()
    inside = [path for path in sources if path.is_relative_to(cache)]
    if inside:
        raise BookError("the book's files are inside the build cache, which builds replace",
                        sources[inside[0]], hint="move them, or give --out another folder")
