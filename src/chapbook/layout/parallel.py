"""A long book's body laid out on every core: runs of chapters in forked processes at once.

Each run of chapters (a piece) opens on a recto, so its layout does not depend on the pieces
before it but for the number of its first page, which is not known until they are laid out. A
worker lays its piece out at a first page guessed with the right parity and reports the piece's
length, its anchors and where its pages begin; once every piece before it has reported, the true
first page is known and the worker sets the piece's folios again if the guess was wrong
(compat.renumber: only the margin boxes are made again) and writes it as a PDF piece. Workers are
forked once the stylesheets and fonts are loaded, so each starts with them, and they talk to this
process through pipes; what they send is their own, never read from disk. The back matter's parts
(glossary, index...) follow as pieces of their own once the body's pages are known, the last of
them (a long book's index), if long, written in two halves at once; and a piece the build cache
holds as it would be written at its first page is taken from there instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import signal
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing import Pipe
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from weasyprint import Document, Page

from chapbook.diagnostics import Diagnostics, Finding
from chapbook.errors import BookError
from chapbook.layout import compat
from chapbook.layout.writers import PieceWriter, bookmark_levels
from chapbook.limits import die_with_parent
from chapbook.model.pages import PageStart
from chapbook.outputs import scratch_folder

Write = Callable[[Document, Diagnostics], bytes]
PROGRESS = logging.getLogger("weasyprint.progress")


# (index of a piece, its guessed first page, the pages of the anchors before it, for the back
# matter's locators) -> its pages, length, anchors' pages, page starts
LayOut = Callable[[int, int, dict[str, int] | None],
                  tuple[list[Page], int, dict[str, int], list[PageStart]]]
# (a piece's pages, the blank versos before it) -> the document written as the piece
Assemble = Callable[[list[Page], int], Document]
# (index of a piece, its first page, the blank versos before it) -> the piece as written
# before, if the cache holds it as it would be written there
FromCache = Callable[[int, int, int], "LaidPiece | None"]


@dataclass
class LaidPiece:
    """A piece as laid out: its first page (once known), length, anchors' pages and page starts
    (numbered from `guess` until the first page is known), and then its written PDF."""

    guess: int
    length: int = 0
    pages: dict[str, int] = field(default_factory=dict)
    starts: list[PageStart] = field(default_factory=list)
    first_page: int | None = None
    blanks: int = 0  # blank versos before it, in its PDF
    # its written PDF, as a worker wrote it or from the cache: as a rule one, two for a part
    # written in halves at once (SPLIT_FROM_PAGES); and each one's bookmark levels
    pdfs: list[Path | bytes] | None = None
    levels: list[list[int]] = field(default_factory=list)
    cached: bool = False  # taken from the cache, not laid out
    findings: list[Finding] = field(default_factory=list)  # what laying it out and writing found

    def numbered(self) -> tuple[dict[str, int], list[PageStart]]:
        """The anchors' pages and page starts with the true page numbers."""
        assert self.first_page is not None
        offset = self.first_page - self.guess
        return ({anchor: page + offset for anchor, page in self.pages.items()},
                [replace(start, number=start.number + offset) for start in self.starts])


def _next_recto(page: int) -> int:
    return page if page % 2 == 1 else page + 1


def _worker(connection: Connection, lay_out: LayOut, assemble: Assemble, write: Write | None,
            diagnostics: Diagnostics, folder: Path) -> None:
    """A worker's life: lay out the pieces it is given, then write each once told its first
    page; report findings with each answer."""
    waiting: dict[int, tuple[list[Page], int]] = {}
    while True:
        message = connection.recv()
        if message is None:
            return
        # Each answer carries all its piece found, repeats of what others found included: the
        # piece keeps them in the cache, to be reported again whichever pieces are laid out then.
        if message[0] == "lay":
            _, index, guess, before = message
            with compat.renumberable(), diagnostics.apart() as found:
                run, length, pages, starts = lay_out(index, guess, before)
            if write is not None:  # (else the pages are wanted for their numbers alone)
                waiting[index] = (run, guess)
            connection.send(("laid", index, length, pages, starts, found))
            if write is None:  # nothing is written to let them go later (the EPUB's page list:
                del run  # its two workers grew to 300 MiB each on a 200-chapter book)
                _let_memory_go()
        else:
            _, index, first_page, blanks, last = message
            run, guess = waiting.pop(index)
            assert write is not None
            compat.renumber(run, first_page - guess)
            cut = len(run) // 2 if _in_halves(len(run), last) else len(run)
            document = assemble(run[:cut], blanks)
            with diagnostics.apart() as found, \
                    PieceWriter(write, diagnostics, jobs=1) as halves_writer:
                if cut < len(run):  # its second half in a forked writer, meanwhile
                    halves_writer.submit(assemble(run[cut:], 0))
                parts = [write(document, diagnostics), *halves_writer.results()]
            paths = [folder / f"piece-{index}-{part}.pdf" for part in range(len(parts))]
            for path, pdf in zip(paths, parts, strict=True):
                path.write_bytes(pdf)
            connection.send(("written", index, [str(path) for path in paths],
                             [bookmark_levels(document), *halves_writer.levels], found))
            if not last:  # (after the book's last piece, the worker ends, and its memory too)
                del run, document
                _let_memory_go()


# The last piece (the back matter's last part: a long book's index), if at least this long, is
# written in two halves at once, the second by a fork of its worker: no piece is left to lay
# out by then, and another core would sit idle (a 200-chapter book's 25-page index took 5.5 s
# to write whole, 2.9 s in halves).
SPLIT_FROM_PAGES = 8


def _in_halves(length: int, last: bool) -> bool:
    """Whether a piece of `length` pages is written in two halves: the book's last, if long."""
    return last and length >= max(2, SPLIT_FROM_PAGES)


def _let_memory_go() -> None:
    """A piece freed now: its boxes hold cycles that the collector, run seldom in a build
    (build.COLLECTOR_THRESHOLDS), would reach only after many more pieces (a 60-chapter book's
    workers grew from 169 to 273 MiB); and the heap they took handed back to the system, so a
    worker's memory is that of the piece in hand, not of the largest it ever laid out (1-2 ms
    after the 40-70 ms of the collection; a 20-chapter book's worker that had laid out two
    pieces of 25 pages at once went on with 87-90 MiB, not 95-97)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)  # glibc; elsewhere, the collection alone


def _ended() -> BookError:
    return BookError("a layout process ended without its pages",
                     hint="was it killed for want of memory? try --jobs 0")


def _send(connection: Connection, message: tuple[Any, ...]) -> None:
    """An order to a worker, which may have been killed from outside (the OOM killer)."""
    try:
        connection.send(message)
    except (BrokenPipeError, ConnectionResetError):
        raise _ended() from None


class ParallelLayout:
    """The pieces (as many as `words`, each piece's words) laid out and written by up to
    `processes` forked workers; a context manager, so a failed build leaves none running."""

    def __init__(self, lay_out: LayOut, assemble: Assemble, write: Write | None,
                 diagnostics: Diagnostics, processes: int, words: list[int],
                 from_cache: FromCache | None = None) -> None:
        """`words`: each body piece's words; `from_cache` takes a piece from the cache if it
        holds it as it would be written at a given first page. Without `write`, the pieces are
        laid out and numbered, and nothing is written (a layout for its pages alone)."""
        self.diagnostics = diagnostics
        self.writing = write is not None
        self.words = list(words)  # each piece's words, to guess where the next one starts
        self.from_cache = from_cache
        self.cached_lengths: list[int | None] = []
        self.folder = tempfile.TemporaryDirectory(prefix="chapbook-layout-",
                                                  dir=scratch_folder())
        count = len(words)
        self.laid: list[LaidPiece] = []
        self.begin = 0
        self.idle: list[Connection] = []
        self.to_lay: list[int] = []
        self.before: dict[str, int] | None = None
        self.last_opens: int | None = None  # the last piece's first page, if all_but_the_last
        self.resume_at = 0
        self.owner: dict[int, Connection] = {}
        self.workers: dict[Connection, int] = {}
        self.let_go: list[int] = []  # workers told to end, waited for on __exit__
        self.ending: set[Connection] = set()  # told to end once they have written their pieces
        self.final = False  # no pieces will be added: a worker with nothing left to do may go
        # the book's last piece, once known (all_but_the_last): written in halves at once if
        # long, whichever way it comes to be written, so that the PDF does not depend on what
        # the cache held
        self.last_piece: int | None = None
        compat.parse_c_types()  # once here, not again in each worker
        # What this process has made so far (styles, fonts, the parsed book) is shared with
        # the workers, not copied into each: the collector would otherwise touch every object.
        gc.freeze()
        for _ in range(min(processes, count)):
            ours, theirs = Pipe()
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    ours.close()
                    die_with_parent()  # a killed build takes its workers with it
                    # the progress display is the parent's; it counts the pages it is told of
                    PROGRESS.handlers.clear()
                    PROGRESS.propagate = False
                    _worker(theirs, lay_out, assemble, write, diagnostics,
                            Path(self.folder.name))
                    status = 0
                except BookError as error:
                    theirs.send(("error", error.message, error.path, error.line, error.column,
                                 error.hint))
                except OSError as error:  # a full disk, say: the parent's one line and hint
                    theirs.send(("oserror", error.errno, error.strerror, error.filename))
                except BaseException:  # the parent reports it
                    theirs.send(("crash", traceback.format_exc()))
                finally:
                    os._exit(status)
            theirs.close()
            self.workers[ours] = pid

    def __enter__(self) -> ParallelLayout:
        return self

    def __exit__(self, *exc: object) -> None:
        for connection in self.workers:
            with contextlib.suppress(OSError):  # (a worker that has gone already)
                connection.send(None)
            connection.close()
        for pid in [*self.workers.values(), *self.let_go]:
            if exc[0] is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        self.workers.clear()
        self.let_go.clear()
        self.folder.cleanup()
        gc.unfreeze()

    def _guess(self, index: int, known: int, end: int) -> int:
        """Where piece `index` may start, given that piece `known` ends before page `end`: the
        pages of the pieces between, as the cache last had them or estimated at 300 words a
        page (a wrong guess only costs setting the piece's folios again)."""
        pages = sum(length if length else words // 300 for length, words
                    in zip(self.cached_lengths[known:index], self.words[known:index],
                           strict=True))
        return _next_recto(end + pages)

    def start(self, cached_lengths: list[int | None], first_page: int,
              before: dict[str, int] | None = None, costs: list[int] | None = None,
              ahead: int = 1) -> None:
        """Add the next pieces, one for each of `cached_lengths` (for a piece the cache may
        hold, its length when written: it is not laid out unless the cache does not hold it at
        its true first page), and give idle workers the first of them to lay out, from a first
        page guessed at `first_page` (lay_out() numbers them from the true one). `before`: the
        pages of the anchors of the pieces before (the back matter's locators). With `costs`
        (each piece's, in any unit), the costliest piece is laid out first: the back matter's
        parts, which need no page of each other, so that the index, as a rule the one that
        takes longest, does not wait behind the glossary. `ahead`: the pieces each worker is
        given at first (two while this process measures the front matter, giving out no more
        meanwhile: a worker lays out its second instead of waiting)."""
        self.begin = len(self.laid)
        self.laid += [LaidPiece(0) for _ in cached_lengths]
        self.cached_lengths += cached_lengths
        self.words += [0] * (len(self.laid) - len(self.words))
        # (the last lay_out returned once all were laid out)
        self.idle = [connection for _ in range(ahead) for connection in self.workers]
        self.to_lay = [index for index in range(self.begin, len(self.laid))
                       if self.cached_lengths[index] is None]
        if costs is not None:
            self.to_lay.sort(key=lambda index: -costs[index - self.begin])
        self.before = before
        self._dispatch(self.begin, first_page)

    def _given(self, connection: Connection) -> list[LaidPiece]:
        """The pieces a worker has been given to lay out."""
        return [self.laid[index] for index, owner in self.owner.items() if owner is connection]

    def _lays_owed(self, connection: Connection) -> int:
        """The pieces a worker has been given to lay out and has not laid out yet."""
        return sum(1 for piece in self._given(connection) if not piece.length)

    def _writes_owed(self, connection: Connection) -> int:
        """The pieces a worker has laid out or is laying out and has not written yet."""
        return sum(1 for piece in self._given(connection) if piece.pdfs is None)

    def _dispatch(self, numbered: int, end: int) -> None:
        """Pieces to lay out to idle workers, the next piece to the worker that owes the fewest
        writes (a worker does what it is told in order: a piece sent to one that still has a
        piece to write waits for that writing); pieces up to `numbered` end before page
        `end`."""
        while self.idle and self.to_lay:
            index = self.to_lay.pop(0)
            connection = min(self.idle, key=self._writes_owed) if self.writing \
                else self.idle[0]
            self.idle.remove(connection)
            self.laid[index].guess = _next_recto(end) if index == numbered else \
                self._guess(index, numbered, end)
            _send(connection, ("lay", index, self.laid[index].guess, self.before))
            self.owner[index] = connection

    def lay_out(self, first_page: int, cached_lengths: list[int | None] | None = None,
                before: dict[str, int] | None = None, *, costs: list[int] | None = None,
                all_but_the_last: bool = False) -> list[LaidPiece]:
        """The pieces start() added (or, given `cached_lengths`, the next pieces: as start())
        laid out or taken from the cache and numbered from `first_page` on, their writing
        under way. Returns every piece so far, once the last one's length is known (written()
        waits for the writing); with `all_but_the_last`, once the last one's first page is
        known (`last_opens`), its worker told to write it from there as soon as it has laid it
        out: lay_out(`resume_at`) then waits for its length (or takes it from the cache)."""
        if cached_lengths is not None:
            self.start(cached_lengths, first_page, before, costs)
        count = len(self.laid)
        numbered = self.begin
        end = first_page  # where the numbered pieces end (a recto opens the next)
        self.last_opens = None
        if all_but_the_last:
            self.last_piece = count - 1
        while True:
            while numbered < count:  # number every piece whose length is known
                piece = self.laid[numbered]
                if all_but_the_last and numbered == count - 1 and not piece.length:
                    break  # (only its first page is waited for)
                opening = _next_recto(end)
                if not piece.length and self.cached_lengths[numbered] is not None:
                    taken = self.from_cache(numbered, opening, opening - end) \
                        if self.from_cache else None
                    if taken is not None and self.writing and len(taken.pdfs or []) != (
                            2 if _in_halves(taken.length, numbered == self.last_piece) else 1):
                        taken = None  # kept whole where it is written in halves, or the reverse
                    if taken is None:  # not as it would be written here: laid out first
                        self.cached_lengths[numbered] = None
                        self.to_lay.insert(0, numbered)
                        break
                    piece = self.laid[numbered] = taken
                    for _ in range(piece.length):
                        PROGRESS.info("Step 5 - Creating layout - Page %d", 0)
                elif not piece.length:
                    break
                elif piece.first_page is None:
                    self._number_and_write(numbered, opening, opening - end)
                end = opening + piece.length
                numbered += 1
            if all_but_the_last and numbered == count - 1 and not self.laid[numbered].length:
                # As soon as the pieces before it are numbered, not once they are written too.
                self._dispatch(numbered, end)
                self.begin, self.resume_at = numbered, end
                self.last_opens = _next_recto(end)
                if numbered in self.owner and self.cached_lengths[numbered] is None:
                    # Its first page is known now: its worker writes it as soon as it has laid
                    # it out, while this process goes on (lay_out(`resume_at`) collects it).
                    self._number_and_write(numbered, self.last_opens, self.last_opens - end)
                return self.laid
            if numbered == count:
                return self.laid
            self._dispatch(numbered, end)
            self._answers()

    def _number_and_write(self, index: int, first_page: int, blanks: int) -> None:
        """Number piece `index` from `first_page` on, and tell the worker that lays it out to
        write it (once it has laid it out, if it has not yet); the book's last piece in two
        halves at once if it is at least SPLIT_FROM_PAGES long, for no piece is left to lay
        out by then."""
        piece = self.laid[index]
        piece.first_page, piece.blanks = first_page, blanks
        if self.writing:
            _send(self.owner[index], ("write", index, first_page, blanks,
                                      index == self.last_piece))

    def no_more_pieces(self) -> None:
        """Say that every piece has been added: from now on, a worker is let go as soon as it
        has nothing left to lay out or write, and its memory with it (on a long book, one
        worker lays out the index for half a minute while the other would sit idle)."""
        self.final = True
        self._release_idle()

    def _release_idle(self) -> None:
        if not self.final or self.to_lay or any(
                not piece.length and index not in self.owner
                for index, piece in enumerate(self.laid)):
            return  # a piece may still need a worker (one the cache turns out not to hold)
        busy = {self.owner[index] for index, piece in enumerate(self.laid)
                if index in self.owner
                and (not piece.length or (self.writing and piece.pdfs is None))}
        # One that has only pieces to write, each already ordered written (numbered), is told
        # now to end after them: this process may not read its answers until it has laid out
        # the front matter, and a worker of a 20-chapter book waited so, idle, with 95 MiB.
        for connection in busy - self.ending:
            if not self._lays_owed(connection) and all(
                    piece.first_page is not None for piece in self._given(connection)):
                with contextlib.suppress(OSError):
                    connection.send(None)
                self.ending.add(connection)
                self.idle = [idle for idle in self.idle if idle is not connection]
        for connection in [c for c in self.workers if c not in busy]:
            if connection not in self.ending:
                with contextlib.suppress(OSError):  # (one that has ended has nothing to be told)
                    connection.send(None)
            self.ending.discard(connection)
            connection.close()
            # not waited for now: it may still be collecting the piece it wrote last (up to a
            # second after a long book's glossary), and the build would wait with it
            self.let_go.append(self.workers.pop(connection))
            self.idle = [idle for idle in self.idle if idle is not connection]

    def _answers(self, timeout: float | None = None) -> None:
        """The answers of the workers that have one, waiting for the first (or `timeout`
        seconds)."""
        for connection in wait(list(self.workers), timeout):
            answer = self._receive(connection)
            if answer[0] != "laid" or connection not in self.workers:  # (or let go)
                continue
            if connection not in self.idle and not self._lays_owed(connection):
                self.idle.append(connection)
            for _ in range(answer[2]):  # the progress bar counts pages laid out
                PROGRESS.info("Step 5 - Creating layout - Page %d", 0)

    def written(self, index: int) -> LaidPiece:
        """Piece `index`, once it is written (the pieces are combined as they come, in order,
        while the last ones are still laid out or written)."""
        # What the workers have said is read first, even if the piece is written: an answer
        # larger than the pipe holds (the index's anchors) keeps its worker waiting, from
        # writing the index, until it is read.
        self._answers(timeout=0)
        while self.laid[index].pdfs is None:
            self._answers()
        return self.laid[index]

    def _receive(self, connection: Connection) -> tuple[Any, ...]:
        try:
            answer = connection.recv()
        except (EOFError, ConnectionResetError):  # (a pipe is a socket pair: a worker killed
            raise _ended() from None              # midway resets it)
        if answer[0] == "error":
            _, message, path, line, column, hint = answer
            raise BookError(message, path, line, column, hint)
        if answer[0] == "oserror":
            _, number, text, filename = answer
            raise OSError(number, text, filename) if filename else OSError(number, text)
        if answer[0] == "crash":
            raise BookError(f"laying out the book failed in a layout process:\n"
                            f"{answer[1].strip()}",
                            hint="run the build with --jobs 0 to lay it out in one process")
        findings: list[Finding] = answer[-1]
        self.diagnostics.add_all(findings)
        piece = self.laid[answer[1]]
        piece.findings += findings  # (kept with the piece in the cache, and reported again)
        if answer[0] == "laid":
            _, _, piece.length, piece.pages, piece.starts, _ = answer
        else:
            _, _, paths, piece.levels, _ = answer
            piece.pdfs = [Path(path) for path in paths]
        self._release_idle()
        return answer


