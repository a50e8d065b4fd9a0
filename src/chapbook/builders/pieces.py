"""A long book written as pieces, in parallel, and combined into one PDF.

WeasyPrint draws and writes a laid-out document in one process, and a long book spends a third of
its build there. Runs of chapters that each open on a recto are laid out one after another (their
page numbers follow on), and each finished run is handed to a forked writer process, which
inherits the laid-out pages without copying them, draws them into a PDF of its own and exits,
while the main process lays out the next run. The pieces are then combined with pikepdf: pages,
the structure tree and its parent tree (renumbered), named destinations and the bookmarks, so
links between pieces, which WeasyPrint writes as named destinations, resolve in the whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import signal
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import weasyprint.pdf
from weasyprint import Document, Page

from chapbook.builders import scratch_folder
from chapbook.diagnostics import Diagnostics, Level
from chapbook.errors import BookError
from chapbook.limits import die_with_parent

Write = Callable[[Document, Diagnostics], bytes]


def parallel_jobs() -> int:
    """Writer processes to run beside the layout, where fork exists: CHAPBOOK_JOBS, or one per
    spare core, and at least one (on one core, writing still fills the layout's waits)."""
    if not hasattr(os, "fork"):
        return 0
    setting = os.environ.get("CHAPBOOK_JOBS", "").strip()
    if setting.isdigit():
        return int(setting)
    return max(1, (os.cpu_count() or 1) - 1)


def _every_link(pages: list[Page]) -> Iterator[tuple[list[Any], list[tuple[str, float, float]]]]:
    """WeasyPrint's resolve_links, but keeping internal links whose anchor is not among the
    pages written: it is in another piece, and combine() checks that it exists."""
    seen: set[str] = set()
    for page in pages:
        anchors = []
        for name, (x, y, _, _) in page.anchors.items():
            if name not in seen:
                seen.add(name)
                anchors.append((name, x, y))
        yield list(page.links), anchors


@contextlib.contextmanager
def links_across_pieces() -> Iterator[None]:
    original = weasyprint.pdf.resolve_links
    weasyprint.pdf.resolve_links = _every_link
    try:
        yield
    finally:
        weasyprint.pdf.resolve_links = original


class PieceWriter:
    """Writes pieces in order, in forked processes (up to `jobs` at once) or, with no jobs, in
    this one. Used as a context manager, so a failed build leaves no writer running."""

    def __init__(self, write: Write, diagnostics: Diagnostics, jobs: int) -> None:
        self.write = write
        self.diagnostics = diagnostics
        self.jobs = jobs
        self.folder = tempfile.TemporaryDirectory(prefix="chapbook-pieces-",
                                                  dir=scratch_folder())
        self.pieces: list[bytes | Path] = []
        self.levels: list[list[int]] = []  # each piece's bookmark levels, for combine()
        self.running: dict[int, Path] = {}

    def __enter__(self) -> PieceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        for pid in self.running:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.running.clear()
        self.folder.cleanup()

    def submit(self, document: Document, here: bool = False) -> None:
        """Write `document` as the next piece: in a writer process, or here if asked (the last
        piece, when this process has nothing else to do) or if there are no jobs."""
        self.levels.append([bookmark[0] for page in document.pages for bookmark in page.bookmarks])
        if here or self.jobs < 1:
            self.pieces.append(self.write(document, self.diagnostics))
            return
        while len(self.running) >= self.jobs:
            self._reap(os.wait()[0])
        path = Path(self.folder.name) / f"piece-{len(self.pieces)}.pdf"
        pid = os.fork()
        if pid == 0:  # the writer: write, report, and leave without running the parent's exits
            status = 1
            try:
                die_with_parent()  # a killed build takes its writers with it
                # The progress display belongs to the parent; a writer reports nothing there.
                logging.getLogger("weasyprint.progress").handlers.clear()
                found = Diagnostics()
                path.write_bytes(self.write(document, found))
                path.with_suffix(".findings").write_text(json.dumps(
                    [[f.level.name, f.code, f.message, None if f.path is None else str(f.path),
                      f.line] for f in found.findings]), "utf-8")
                status = 0
            except BaseException:  # the parent reports it
                path.with_suffix(".error").write_text(traceback.format_exc(), "utf-8")
            finally:
                os._exit(status)
        self.running[pid] = path
        self.pieces.append(path)

    def _reap(self, pid: int) -> None:
        path = self.running.pop(pid, None)
        if path is None:  # not one of ours
            return
        error = path.with_suffix(".error")
        if error.exists():
            raise BookError(f"writing pages to the PDF failed in a writer process:\n"
                            f"{error.read_text('utf-8').strip()}",
                            hint="run the build with --jobs 0 to write in one process")
        if not path.exists():
            raise BookError("a PDF writer process ended without its pages",
                            hint="was it killed for want of memory? try --jobs 0")
        # JSON, not pickle: anything read back from disk is data, never code.
        for level, code, message, where, line in json.loads(
                path.with_suffix(".findings").read_text("utf-8")):
            self.diagnostics.add(Level[level], str(code), str(message), where,
                                 line if isinstance(line, int) else None)

    def results(self) -> list[bytes]:
        """Every piece's PDF, in order, once all the writers have finished."""
        while self.running:
            self._reap(os.wait()[0])
        return [piece if isinstance(piece, bytes) else piece.read_bytes()
                for piece in self.pieces]


# --- combining ------------------------------------------------------------------------------

Bookmark = tuple[int, pikepdf.Object, pikepdf.Object]  # level, title, destination


def _outline_items(pdf: pikepdf.Pdf) -> list[pikepdf.Dictionary]:
    """The outline's items in reading order (depth first), as WeasyPrint wrote them."""
    items: list[pikepdf.Dictionary] = []

    def walk(item: pikepdf.Object | None) -> None:
        while item is not None:
            items.append(item)
            walk(item.get("/First"))
            item = item.get("/Next")

    outlines = pdf.Root.get("/Outlines")
    if outlines is not None:
        walk(outlines.get("/First"))
    return items


def _outline(pdf: pikepdf.Pdf, entries: list[Bookmark]) -> None:
    """The whole book's outline, nested again by bookmark level: a piece that begins inside a
    part has its chapters at the top of its own outline."""
    root = pikepdf.Dictionary(Type=pikepdf.Name.Outlines)
    stack: list[tuple[int, pikepdf.Dictionary]] = [(0, root)]
    counts: dict[int, int] = {}
    for level, title, destination in entries:
        item = pdf.make_indirect(pikepdf.Dictionary(Title=title, Dest=destination))
        while stack[-1][0] >= level:
            stack.pop()
        parent = stack[-1][1]
        item.Parent = parent
        if "/Last" in parent:
            item.Prev = parent.Last
            parent.Last.Next = item
        else:
            parent.First = item
        parent.Last = item
        for _, ancestor in stack:  # every open ancestor counts every open descendant
            counts[id(ancestor)] = counts.get(id(ancestor), 0) + 1
            ancestor.Count = counts[id(ancestor)]
        stack.append((level, item))
    if "/First" in root:
        pdf.Root.Outlines = pdf.make_indirect(root)


def _share_fonts(pdf: pikepdf.Pdf) -> None:
    """Pieces that embed the same whole font file (the print edition) keep one copy of it."""
    seen: dict[bytes, pikepdf.Object] = {}
    for page in pdf.pages:
        for font in page.Resources.get("/Font", {}).values():
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get("/FontDescriptor")
                if descriptor is None:
                    continue
                for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                    stream = descriptor.get(key)
                    if stream is None:
                        continue
                    digest = hashlib.sha256(stream.read_raw_bytes()).digest()
                    descriptor[key] = seen.setdefault(digest, stream)


def _copy(pdf: pikepdf.Pdf, value: pikepdf.Object) -> pikepdf.Object:
    """`value` from another PDF, its indirect objects copied (each once: pikepdf remembers)."""
    if isinstance(value, pikepdf.Object) and value.is_indirect:
        return pdf.copy_foreign(value)
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([_copy(pdf, item) for item in value])
    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({key: _copy(pdf, item) for key, item in value.items()})
    return value


def _drop_unresolved_links(pdf: pikepdf.Pdf, names: dict[str, pikepdf.Object]) -> list[str]:
    """What WeasyPrint does for one document, for the whole: a link to no anchor is removed."""
    missing: list[str] = []
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if annotations is None:
            continue
        kept = [a for a in annotations if str(a.get("/Dest", "")) in names or "/Dest" not in a]
        if len(kept) != len(annotations):
            missing += [str(a.Dest) for a in annotations if "/Dest" in a
                        and str(a.Dest) not in names]
            page.obj.Annots = pikepdf.Array(kept)
    return list(dict.fromkeys(missing))


@dataclass
class Combined:
    pdf: bytes
    missing_anchors: list[str]  # links to these were removed: no piece has the anchor


def combine(pieces: list[bytes], levels: list[list[int]]) -> Combined:
    """One PDF of the pieces in order. The first piece gives the catalogue (metadata,
    language, viewer preferences, output intent); `levels` are each piece's bookmark levels in
    reading order."""
    pdf = pikepdf.open(io.BytesIO(pieces[0]))
    tree = pdf.Root.get("/StructTreeRoot")
    document = tree.K[0] if tree is not None else None
    parents = pikepdf.NumberTree(tree.ParentTree) if tree is not None else None
    next_key = max(parents.keys(), default=-1) + 1 if parents is not None else 0
    destinations = pikepdf.NameTree(pdf.Root.Names.Dests) if "/Names" in pdf.Root else None
    names = dict(destinations.items()) if destinations is not None else {}
    outline: list[Bookmark] = [(level, item.Title, item.Dest) for level, item
                               in zip(levels[0], _outline_items(pdf), strict=True)]
    for data, piece_levels in zip(pieces[1:], levels[1:], strict=True):
        piece = pikepdf.open(io.BytesIO(data))
        first = len(pdf.pages)
        with warnings.catch_warnings():  # named destinations are carried over below
            warnings.simplefilter("ignore", pikepdf.exceptions.PageCopyWarning)
            pdf.pages.extend(piece.pages)
        piece_tree = piece.Root.get("/StructTreeRoot")
        if document is not None and parents is not None and piece_tree is not None:
            kids = piece_tree.K[0].K
            for kid in kids:  # so copying a kid does not copy the piece's tree with it
                del kid["/P"]
            for kid in _copy(pdf, kids):
                kid.P = document
                document.K.append(kid)
            offset = next_key
            for key, value in pikepdf.NumberTree(piece_tree.ParentTree).items():
                parents[key + offset] = _copy(pdf, value)
                next_key = max(next_key, key + offset + 1)
            for page in pdf.pages[first:]:
                if "/StructParents" in page.obj:
                    page.obj.StructParents = int(page.obj.StructParents) + offset
                for annotation in page.obj.get("/Annots", []):
                    if "/StructParent" in annotation:
                        annotation.StructParent = int(annotation.StructParent) + offset
        if "/Names" in piece.Root and "/Dests" in piece.Root.Names:
            for name, destination in pikepdf.NameTree(piece.Root.Names.Dests).items():
                names.setdefault(name, _copy(pdf, destination))
        outline += [(level, item.Title, _copy(pdf, item.Dest)) for level, item
                    in zip(piece_levels, _outline_items(piece), strict=True)]
    missing = _drop_unresolved_links(pdf, names)
    if names:
        tree_of_names = pikepdf.NameTree.new(pdf)
        for name in sorted(names):
            tree_of_names[name] = names[name]
        pdf.Root.Names = pikepdf.Dictionary(Dests=tree_of_names.obj)
    if "/Outlines" in pdf.Root:
        del pdf.Root["/Outlines"]
    _outline(pdf, outline)
    _share_fonts(pdf)
    output = io.BytesIO()
    pdf.save(output, deterministic_id=True, compress_streams=True,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return Combined(output.getvalue(), missing)
