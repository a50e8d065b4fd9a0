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

import json
import logging
import os
import signal
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from weasyprint import Document

from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.layout import compat
from chapbook.limits import die_with_parent
from chapbook.outputs import scratch_folder

Write = Callable[[Document, Diagnostics], bytes]


def bookmark_levels(document: Document) -> list[int]:
    """The document's bookmark levels in reading order, which combine() rebuilds the outline
    with."""
    return [bookmark[0] for page in document.pages for bookmark in page.bookmarks]


# A writer that met an OSError (a full disk) exits with this plus its errno.
OS_ERROR_STATUS = 100


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
        self.levels.append(bookmark_levels(document))
        if here or self.jobs < 1:
            self.pieces.append(self.write(document, self.diagnostics))
            return
        while len(self.running) >= self.jobs:
            self._reap(*os.wait())
        path = Path(self.folder.name) / f"piece-{len(self.pieces)}.pdf"
        compat.parse_c_types()  # once here, not again in each writer
        pid = os.fork()
        if pid == 0:  # the writer: write, report, and leave without running the parent's exits
            status = 1
            try:
                die_with_parent()  # a killed build takes its writers with it
                # The progress display belongs to the parent; a writer reports nothing there.
                logging.getLogger("weasyprint.progress").handlers.clear()
                found = Diagnostics()
                path.write_bytes(self.write(document, found))
                path.with_suffix(".findings").write_text(json.dumps(found.as_data()),
                                                         "utf-8")
                status = 0
            except OSError as error:  # a full disk, say, where no report can be written: its
                status = OS_ERROR_STATUS + (error.errno or 0) % 100  # number in the status
            except BaseException:  # the parent reports it
                path.with_suffix(".error").write_text(traceback.format_exc(), "utf-8")
            finally:
                os._exit(status)
        self.running[pid] = path
        self.pieces.append(path)

    def _reap(self, pid: int, status: int) -> None:
        path = self.running.pop(pid, None)
        if path is None:  # not one of ours
            return
        code = os.waitstatus_to_exitcode(status)
        if OS_ERROR_STATUS <= code < OS_ERROR_STATUS + 100:
            number = code - OS_ERROR_STATUS
            raise OSError(number, os.strerror(number), str(path))
        error = path.with_suffix(".error")
        if error.exists():
            raise BookError(f"writing pages to the PDF failed in a writer process:\n"
                            f"{error.read_text('utf-8').strip()}",
                            hint="run the build with --jobs 0 to write in one process")
        if not path.exists():
            raise BookError("a PDF writer process ended without its pages",
                            hint="was it killed for want of memory? try --jobs 0")
        # JSON, not pickle: anything read back from disk is data, never code.
        self.diagnostics.add_data(json.loads(path.with_suffix(".findings").read_text("utf-8")))

    def results(self) -> list[bytes]:
        """Every piece's PDF, in order, once all the writers have finished."""
        while self.running:
            self._reap(*os.wait())
        return [piece if isinstance(piece, bytes) else piece.read_bytes()
                for piece in self.pieces]
