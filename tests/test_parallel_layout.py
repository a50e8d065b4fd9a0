"""A long book's body is laid out by forked workers at once (layout/parallel.py), each piece at a
guessed first page and its folios set again once the true one is known: the PDF must read as the
same book, page for page, as the one laid out in one process."""

from __future__ import annotations

import contextlib
import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from chapbook.build import load_book
from chapbook.diagnostics import Diagnostics
from chapbook.layout import parallel
from chapbook.layout.paginate import pieces, typeset
from chapbook.options import PIECE_WORDS as DEFAULT_PIECE_WORDS
from chapbook.options import parallel_jobs

from .conftest import BUNDLED, ROOTS, field_notes_indexed_closely, typeset_pieces
from .test_pdf import deflated_at_level_9

FIELD_NOTES = ROOTS / "field-notes" / "book.yml"
PIECE_WORDS = 400  # field-notes in several pieces


def _destinations(reader: PdfReader) -> dict[str, int]:
    return {str(name): reader.get_destination_page_number(destination)
            for name, destination in reader.named_destinations.items()}


@pytest.fixture(scope="module")
def in_parallel_and_in_one(tmp_path_factory: pytest.TempPathFactory,
                           ) -> tuple[bytes, bytes, list[parallel.LaidPiece], int]:
    """field-notes in pieces of 400 words: laid out by three workers, and in this process
    alone. Also: the workers' pieces (their guessed and true first pages), the body's first
    and then the back matter's parts, and how many pieces the body has."""
    found = Diagnostics()
    many, laid = typeset_pieces(FIELD_NOTES, found, piece_words=PIECE_WORDS, jobs=2)
    assert not found.findings, found.findings
    book = load_book(FIELD_NOTES, Diagnostics())
    one = typeset(book, Diagnostics(), piece_words=PIECE_WORDS, jobs=0).pdf
    assert one is not None
    return many, one, laid, len(pieces(book, PIECE_WORDS))


def test_every_piece_is_laid_out_by_a_worker_and_some_at_a_wrong_guess(
        in_parallel_and_in_one: tuple[bytes, bytes, list[parallel.LaidPiece], int]) -> None:
    _, _, laid, count = in_parallel_and_in_one
    assert count >= 4
    assert len(laid) == count + 2  # and the glossary and the index
    assert all(piece.pdfs and piece.first_page for piece in laid)
    # a piece laid out before the pages before it were known, and numbered again
    assert any(piece.guess != piece.first_page for piece in laid)


def test_a_book_laid_out_in_parallel_reads_as_the_one_laid_out_in_one_process(
        in_parallel_and_in_one: tuple[bytes, bytes, list[parallel.LaidPiece], int]) -> None:
    many, one, _, _ = in_parallel_and_in_one
    parallel_pdf, one_pdf = PdfReader(io.BytesIO(many)), PdfReader(io.BytesIO(one))
    assert len(parallel_pdf.pages) == len(one_pdf.pages) > 20
    # folios and running heads included: every page's text, as drawn
    assert [p.extract_text() for p in parallel_pdf.pages] == \
        [p.extract_text() for p in one_pdf.pages]
    assert _destinations(parallel_pdf) == _destinations(one_pdf)
    assert [label for label in parallel_pdf.page_labels] == list(one_pdf.page_labels)


def test_a_combined_books_streams_are_deflated_once(
        in_parallel_and_in_one: tuple[bytes, bytes, list[parallel.LaidPiece], int]) -> None:
    many, one, _, _ = in_parallel_and_in_one
    assert deflated_at_level_9(many) == deflated_at_level_9(one) == 0


def test_a_renumbered_piece_prints_its_true_folios(
        in_parallel_and_in_one: tuple[bytes, bytes, list[parallel.LaidPiece], int]) -> None:
    """The folio at the foot of a renumbered piece's pages is its page's number in the book,
    not the number it was laid out at."""
    many, _, laid, _ = in_parallel_and_in_one
    reader = PdfReader(io.BytesIO(many))
    moved = [piece for piece in laid if piece.guess != piece.first_page]
    checked = 0
    for piece in moved:
        assert piece.first_page is not None
        for number in range(piece.first_page, piece.first_page + piece.length):
            lines = reader.pages[number - 1].extract_text().splitlines()
            if lines and lines[-1].strip().isdigit():  # the folio, drawn last (not on openers)
                assert int(lines[-1]) == number
                checked += 1
    assert checked


def _recording_orders(events: list[str]) -> Any:
    """Connection.send, recording in `events` each order to lay out or write a piece ("lay 4",
    "write 5") and each worker let go ("let go")."""
    from multiprocessing.connection import Connection

    send = Connection.send

    def recording(self: Connection, message: Any) -> None:
        if isinstance(message, tuple) and message[0] in ("lay", "write"):
            events.append(f"{message[0]} {message[1]}")
        elif message is None:
            events.append("let go")
        send(self, message)
    return recording


def test_each_worker_has_a_second_piece_to_lay_out_while_the_front_matter_is_measured() -> None:
    """A build from nothing measures the front matter (its length, where the body opens) while
    the workers lay out the body's first pieces from a guess, and gives out no piece meanwhile:
    each worker is given two at first, so that none waits once it has laid out its first (on a
    200-chapter book both waited 0.4 s)."""
    from multiprocessing.connection import Connection
    from unittest import mock

    from chapbook.layout.paginate import _Pagination

    events: list[str] = []
    measure_front = _Pagination.measure_front

    def recording_measure_front(self: _Pagination) -> int:
        events.append("front matter measured")
        return measure_front(self)

    with mock.patch.object(Connection, "send", _recording_orders(events)), \
            mock.patch.object(_Pagination, "measure_front", recording_measure_front):
        typeset_pieces(FIELD_NOTES, Diagnostics(), piece_words=PIECE_WORDS, jobs=1)
    measured = events.index("front matter measured")
    assert events[:measured] == ["lay 0", "lay 1", "lay 2", "lay 3"], events


def test_the_index_is_sent_to_be_written_before_the_front_matter_is_laid_out_again() -> None:
    """The index's first page is known once the parts before it are numbered; its worker is
    told to write it then, and does so as soon as it has laid it out, while this process lays
    out the contents: the order does not wait for the contents (issue 16, the booklet's long
    pole)."""
    from multiprocessing.connection import Connection
    from unittest import mock

    from chapbook.layout.paginate import _Pagination

    events: list[str] = []
    front_again = _Pagination.front_again

    def recording_front_again(self: _Pagination, *args: object) -> list[object]:
        events.append("front matter again")
        return front_again(self, *args)

    with mock.patch.object(Connection, "send", _recording_orders(events)), \
            mock.patch.object(_Pagination, "front_again", recording_front_again):
        pdf, laid = typeset_pieces(FIELD_NOTES, Diagnostics(), piece_words=PIECE_WORDS, jobs=1)
    index = len(laid) - 1
    assert events.index(f"write {index}") < events.index("front matter again"), events
    assert events.count(f"write {index}") == 1
    reader = PdfReader(io.BytesIO(pdf))
    first_page = laid[index].first_page
    assert first_page is not None
    assert "Index" in reader.pages[first_page - 1].extract_text()


def test_a_layout_without_a_pdf_is_made_by_the_workers_with_the_same_pages() -> None:
    """`chapbook epub` with no PDF built needs the print edition's pages (its page list) but not
    the PDF: the workers lay the book out and write nothing, and the page starts and anchors'
    pages are those of the layout made in one process."""
    from unittest import mock

    book = load_book(FIELD_NOTES, Diagnostics())
    one = typeset(book, Diagnostics(), write=False, piece_words=PIECE_WORDS, jobs=0)
    from multiprocessing.connection import Connection

    orders: list[str] = []
    with mock.patch.object(parallel.ParallelLayout, "lay_out", autospec=True,
                           side_effect=parallel.ParallelLayout.lay_out) as laid_out, \
            mock.patch.object(Connection, "send", _recording_orders(orders)):
        many = typeset(book, Diagnostics(), write=False, piece_words=PIECE_WORDS, jobs=2)
    assert laid_out.called and not [o for o in orders if o.startswith("write")]  # none written
    assert many.pdf is None and one.pdf is None
    assert many.pages == one.pages and len(many.pages) > 100
    assert sorted(many.starts, key=lambda s: (s.number, s.document, s.element or "")) == \
        sorted(one.starts, key=lambda s: (s.number, s.document, s.element or ""))


def test_jobs_0_lays_the_epubs_page_list_out_in_this_process(tmp_path) -> None:
    """`chapbook build epub --jobs 0` with no PDF built: its page list is laid out without a
    single worker, as `--jobs 0` says."""
    from unittest import mock

    from chapbook.build import build
    from chapbook.options import BuildOptions

    with mock.patch.object(parallel.ParallelLayout, "__init__",
                           side_effect=AssertionError("a worker was started")):
        built = build(BuildOptions(FIELD_NOTES, tmp_path, ("epub",), jobs=0,
                                   piece_words=PIECE_WORDS), Diagnostics())
    assert built.outputs["epub"].is_file()


def test_a_worker_with_nothing_left_to_do_is_let_go_before_the_last_piece_is_written() -> None:
    """Once every piece is handed out, a worker whose pieces are all written leaves (its memory
    with it) while the others finish: the glossary's worker goes while the index is laid out,
    not when the whole book is done."""
    from multiprocessing.connection import Connection
    from unittest import mock

    events: list[str] = []
    written = parallel.ParallelLayout.written

    def recording_written(self: parallel.ParallelLayout, index: int) -> parallel.LaidPiece:
        if index == len(self.laid) - 1:
            events.append("waiting for the last piece")
        return written(self, index)

    with mock.patch.object(Connection, "send", _recording_orders(events)), \
            mock.patch.object(parallel.ParallelLayout, "written", recording_written):
        typeset_pieces(FIELD_NOTES, Diagnostics(), piece_words=PIECE_WORDS, jobs=2)
    waiting = events.index("waiting for the last piece")
    assert "let go" in events[:waiting], events
    assert events.count("let go") == 3  # each of the three workers, once


def test_a_worker_let_go_is_waited_for_only_once_the_last_piece_is_received() -> None:
    """A worker let go first frees the piece it wrote last (_let_memory_go: a whole collection,
    0.9 s after a 200-chapter book's index). The build does not wait for it to end on the way:
    it waits for its workers once it has every piece."""
    import os
    from unittest import mock

    events: list[str] = []
    waitpid, written = os.waitpid, parallel.ParallelLayout.written

    def recording_waitpid(pid: int, options: int) -> tuple[int, int]:
        if not options & os.WNOHANG:
            events.append("waited for a worker")
        return waitpid(pid, options)

    def recording_written(self: parallel.ParallelLayout, index: int) -> parallel.LaidPiece:
        piece = written(self, index)
        if index == len(self.laid) - 1:
            events.append("the last piece received")
        return piece

    with mock.patch.object(parallel.os, "waitpid", recording_waitpid), \
            mock.patch.object(parallel.ParallelLayout, "written", recording_written):
        typeset_pieces(FIELD_NOTES, Diagnostics(), piece_words=PIECE_WORDS, jobs=2)
    last = events.index("the last piece received")
    assert "waited for a worker" not in events[:last], events
    assert events.count("waited for a worker") == 3, events  # each of the three, at the end


def test_the_index_is_laid_out_before_the_glossary_that_precedes_it() -> None:
    """The back matter's parts need the body's pages, not each other's: the longest, the
    index, is handed out first, so that it does not wait for a worker behind the glossary
    (on the 200-chapter book it is the last thing laid out, and the build waits for it)."""
    from multiprocessing.connection import Connection
    from unittest import mock

    events: list[str] = []
    with mock.patch.object(Connection, "send", _recording_orders(events)):
        pdf, laid = typeset_pieces(FIELD_NOTES, Diagnostics(), piece_words=PIECE_WORDS, jobs=2)
    index, glossary = len(laid) - 1, len(laid) - 2
    assert events.index(f"lay {index}") < events.index(f"lay {glossary}"), events
    reader = PdfReader(io.BytesIO(pdf))  # and each still where it belongs, the index last
    assert laid[glossary].first_page is not None and laid[index].first_page is not None
    assert "Glossary" in reader.pages[laid[glossary].first_page - 1].extract_text()
    assert "Index" in reader.pages[laid[index].first_page - 1].extract_text()
    assert laid[glossary].first_page < laid[index].first_page == len(reader.pages) - \
        laid[index].length + 1


def test_a_part_goes_to_the_worker_that_owes_no_writing() -> None:
    """A worker does what it is told in order: a part sent to a worker that still has a piece
    to write would wait for that writing. Two idle workers, one of them owing a piece: the
    costlier part goes to the other, whatever order the workers are listed in."""
    from multiprocessing import Pipe

    layout = parallel.ParallelLayout(lambda *_: ([], 0, {}, []), lambda *_: None,  # type: ignore
                                     lambda *_: b"", Diagnostics(), 0, [300, 300])
    owing, owing_end = Pipe()
    free, free_end = Pipe()
    try:
        layout.workers = {owing: 0, free: 0}  # two workers that are only pipes
        layout.laid = [parallel.LaidPiece(11, 4, first_page=11),
                       parallel.LaidPiece(15, 4, first_page=15, pdfs=[b"%PDF"])]
        layout.cached_lengths = [None, None]
        layout.owner = {0: owing, 1: free}  # piece 0 is laid out and not written yet
        layout.start([None, None], 19, {}, costs=[10, 1000])
        assert free_end.recv()[:2] == ("lay", 3)  # the costlier part, to the worker owing none
        assert owing_end.recv()[:2] == ("lay", 2)
    finally:
        layout.workers.clear()  # (no process to stop or wait for)
        layout.__exit__(None, None, None)


def test_a_piece_laid_out_for_a_worker_is_freed_once_the_worker_lets_it_go() -> None:
    """A worker's pagination keeps nothing of the pieces it gives: a worker that had written
    its last piece of the body and went on to lay out the index held that piece's pages (30 MiB
    of a 20-chapter book's) until it ended."""
    import gc
    import weakref

    from chapbook.layout.paginate import READING, _Pagination, pieces

    book = load_book(FIELD_NOTES, Diagnostics())
    first = pieces(book, 2000)[0]
    with _Pagination(book, Diagnostics(), READING, None, {}, 8) as pagination:
        run, length, _, _ = pagination.lay_out_piece(first, 9)
        assert length == len(run) > 1
        kept = [weakref.ref(page) for page in run if page is not pagination.blank]
        assert kept  # (the blank verso before a chapter is the pagination's, laid out once)
        del run
        gc.collect()
        assert not [page for page in kept if page() is not None]


def test_a_worker_left_with_pieces_to_write_alone_is_told_to_end_after_them() -> None:
    """Once no piece will be added, a worker with nothing left to lay out, only to write, is
    told at once to end after its writing: this process lays out the front matter before it
    reads the answers that would let the worker go, and a 20-chapter book's glossary worker
    waited so with 95 MiB. A worker still laying out (the index's) is not, nor one whose piece
    is laid out but not yet numbered (told, it ended before its order to write came: a cached
    index found damaged, laid out again); and one told is not told again once its written
    piece is read."""
    from multiprocessing import Pipe

    layout = parallel.ParallelLayout(lambda *_: ([], 0, {}, []), lambda *_: None,  # type: ignore
                                     lambda *_: b"", Diagnostics(), 0, [300, 300])
    writing, writing_end = Pipe()
    laying, laying_end = Pipe()
    unnumbered, unnumbered_end = Pipe()
    try:
        # three workers that are only pipes
        layout.workers = {writing: 0, laying: 0, unnumbered: 0}
        layout.laid = [parallel.LaidPiece(11, 4, first_page=11),  # laid out, not written
                       parallel.LaidPiece(15),  # still being laid out
                       parallel.LaidPiece(15, 4)]  # laid out, not ordered written yet
        layout.cached_lengths = [None, None, None]
        layout.owner = {0: writing, 1: laying, 2: unnumbered}
        layout.no_more_pieces()
        assert writing_end.poll() and writing_end.recv() is None
        assert not laying_end.poll()
        assert not unnumbered_end.poll()  # (it would end before its order to write came)
        assert set(layout.workers) == {writing, laying, unnumbered}  # (answers still to come)
        layout.laid[0].pdfs = [b"%PDF"]  # its answer read
        layout._release_idle()
        assert set(layout.workers) == {laying, unnumbered}
        assert not laying_end.poll()
        with pytest.raises(EOFError):  # closed, and nothing more sent
            writing_end.recv()
    finally:
        layout.workers.clear()  # (no process to stop or wait for)
        layout.let_go.clear()
        layout.__exit__(None, None, None)


def test_the_bodys_pieces_are_combined_before_the_index_is_awaited(tmp_path: Path) -> None:
    """The pieces are combined in order as they are written: the body's and the glossary's
    while the index is still being laid out, not all at the end (on the 200-chapter book
    combining took 6-7 s after the index). The index's worker is held until every other piece
    is combined (or a minute has passed: then the build waited for the index first, and the
    order below shows it), so the index cannot finish early and leave nothing to show."""
    import time
    from unittest import mock

    from chapbook.build import load_book
    from chapbook.layout.paginate import _Pagination, pieces
    from chapbook.pdf.combine import Combiner

    events: list[str] = []
    combined = tmp_path / "the other pieces are combined"
    before_the_index = len(pieces(load_book(FIELD_NOTES, Diagnostics()), PIECE_WORDS)) + 1
    add, lay_out, lay_out_back = (Combiner.add, parallel.ParallelLayout.lay_out,
                                  _Pagination.lay_out_back)

    def recording_add(self: Combiner, data: bytes, levels: list[int]) -> None:
        events.append("combined a piece")
        add(self, data, levels)
        if events.count("combined a piece") == before_the_index:
            combined.touch()

    def recording_lay_out(self: parallel.ParallelLayout, *args: Any, **kwargs: Any,
                          ) -> list[parallel.LaidPiece]:
        events.append("waiting for pieces' lengths")
        return lay_out(self, *args, **kwargs)

    def held_index(self: _Pagination, matter: str, *args: Any) -> Any:
        held_until = time.monotonic() + 60
        while matter == "index" and not combined.exists() and time.monotonic() < held_until:
            time.sleep(0.05)
        return lay_out_back(self, matter, *args)

    with mock.patch.object(Combiner, "add", recording_add), \
            mock.patch.object(parallel.ParallelLayout, "lay_out", recording_lay_out), \
            mock.patch.object(_Pagination, "lay_out_back", held_index):
        pdf, laid = typeset_pieces(FIELD_NOTES, Diagnostics(), piece_words=PIECE_WORDS, jobs=2)
    assert len(laid) == before_the_index + 1
    last_wait = len(events) - 1 - events[::-1].index("waiting for pieces' lengths")
    assert events[:last_wait].count("combined a piece") == len(laid) - 1, events
    assert events.count("combined a piece") == len(laid)  # and the index after it
    assert len(PdfReader(io.BytesIO(pdf)).pages) == sum(
        piece.blanks + piece.length for piece in laid) + laid[0].first_page - 1 - laid[0].blanks


def test_answers_waiting_are_read_while_written_pieces_are_combined() -> None:
    """A worker's answer larger than the pipe holds (the index laid out, with its thousands of
    anchors) keeps the worker from writing the index until it is read: taking a piece already
    written reads what the workers have said meanwhile."""
    from multiprocessing import Pipe

    layout = parallel.ParallelLayout(lambda *_: ([], 0, {}, []), lambda *_: None,  # type: ignore
                                     lambda *_: b"", Diagnostics(), 0, [300, 300])
    ours, theirs = Pipe()
    anchors = {f"index-entry-{n}": 15 + n // 200 for n in range(20_000)}  # far beyond a pipe

    def worker_answers() -> None:
        with contextlib.suppress(OSError):  # (the pipe closed on it, if it was never read)
            theirs.send(("laid", 1, 100, anchors, [], []))

    answering = threading.Thread(target=worker_answers)
    answering.start()
    try:
        layout.workers = {ours: 0}  # a worker that is only a pipe
        layout.laid = [parallel.LaidPiece(11, 4, first_page=11, pdfs=[b"%PDF"]),
                       parallel.LaidPiece(15)]
        layout.owner = {1: ours}
        assert ours.poll(60)  # the answer has begun to arrive (the rest waits to be read)
        assert layout.written(0).pdfs == [b"%PDF"]
        assert layout.laid[1].length == 100 and layout.laid[1].pages == anchors
    finally:
        layout.workers.clear()  # (no process to stop or wait for)
        layout.__exit__(None, None, None)
        ours.close()
        answering.join()
        theirs.close()


def _structure(pdf: bytes) -> list[str]:
    """The structure tree's element types, depth first."""
    import pikepdf

    types: list[str] = []

    def walk(kids: Any) -> None:
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                types.append(str(kid.S))
                walk(kid.get("/K", pikepdf.Array()))

    with pikepdf.open(io.BytesIO(pdf)) as document:
        walk(document.Root.StructTreeRoot.K)
    return types


def test_the_last_part_written_in_two_halves_at_once_reads_as_written_whole(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The last part of the back matter (a long book's index, the build's last piece) is
    written in two halves at once, the second by a fork of its worker, while no other piece is
    left to lay out: its pages, anchors, bookmarks and structure are those of the part written
    whole."""
    manifest = field_notes_indexed_closely(tmp_path / "field-notes")
    written: dict[int, tuple[bytes, list[parallel.LaidPiece]]] = {}
    for split_from in (2, 10_000):  # (its index is three pages long)
        monkeypatch.setattr(parallel, "SPLIT_FROM_PAGES", split_from)
        found = Diagnostics()
        written[split_from] = typeset_pieces(manifest, found, piece_words=PIECE_WORDS, jobs=2)
        assert all(finding.code == "unused-term" for finding in found.findings)
    (halves, laid), (whole, whole_laid) = written[2], written[10_000]
    assert laid[-1].length >= 3
    assert [len(piece.pdfs or []) for piece in laid] == [1] * (len(laid) - 1) + [2]
    assert [len(piece.pdfs or []) for piece in whole_laid] == [1] * len(laid)
    split_pdf, whole_pdf = PdfReader(io.BytesIO(halves)), PdfReader(io.BytesIO(whole))
    assert [p.extract_text() for p in split_pdf.pages] == \
        [p.extract_text() for p in whole_pdf.pages]
    assert _destinations(split_pdf) == _destinations(whole_pdf)
    assert [item.title for item in split_pdf.outline if not isinstance(item, list)] == \
        [item.title for item in whole_pdf.outline if not isinstance(item, list)]
    assert _structure(halves) == _structure(whole)
    assert _structure(halves).count("/Link") > 100  # (the index's locators are in the tree)


def test_the_last_parts_first_page_is_known_once_the_part_before_is_laid_out() -> None:
    """The front matter waits for the last part's first page, which the part before it gives
    as soon as it is laid out: lay_out(all_but_the_last) returns then, not once that part is
    written as well (the front matter of the 200-chapter book waited 2.3 s for the glossary's
    writing, with the index's)."""
    from multiprocessing import Pipe

    layout = parallel.ParallelLayout(lambda *_: ([], 0, {}, []), lambda *_: None,  # type: ignore
                                     lambda *_: b"", Diagnostics(), 0, [300])
    worker, worker_end = Pipe()
    try:
        layout.workers = {worker: 0}  # a worker that is only a pipe
        layout.laid = [parallel.LaidPiece(11, 4, first_page=11, pdfs=[b"%PDF"])]  # the body
        layout.cached_lengths = [None]
        layout.owner = {0: worker}
        # what the worker will say: the glossary laid out (3 pages), then written
        worker_end.send(("laid", 1, 3, {"glossary": 15}, [], []))
        worker_end.send(("written", 1, ["glossary.pdf"], [[1]], []))
        layout.lay_out(15, [None, None], {}, costs=[10, 1], all_but_the_last=True)
        assert layout.last_opens == 19  # the index's first page, after the glossary
        assert layout.laid[1].length == 3 and layout.laid[1].pdfs is None  # (not yet read)
        assert worker.poll()  # the glossary's "written", still to be read
    finally:
        layout.workers.clear()  # (no process to stop or wait for)
        layout.__exit__(None, None, None)
        worker_end.close()


def test_a_build_and_its_layout_workers_collect_less_often_and_put_the_thresholds_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build raises the cyclic collector's thresholds (build.COLLECTOR_THRESHOLDS), in its
    own process and in the layout workers it forks, and puts the caller's back afterwards: with
    Python's, the collector took a third of the time of laying out a long book's index."""
    import gc
    import os

    from chapbook.build import COLLECTOR_THRESHOLDS
    from chapbook.cli import main
    from chapbook.layout.paginate import _Pagination

    record = tmp_path / "thresholds"
    lay_out_piece = _Pagination.lay_out_piece

    def recording(self: _Pagination, *args: Any) -> Any:
        with record.open("a", encoding="utf-8") as file:
            file.write(f"{os.getpid()} {gc.get_threshold()}\n")
        return lay_out_piece(self, *args)
    monkeypatch.setattr(_Pagination, "lay_out_piece", recording)
    before = gc.get_threshold()
    assert main(["build", "pdf", "--book", str(ROOTS / "field-notes" / "book.yml"),
                 "--out", str(tmp_path / "out"), "--quiet", "--jobs", "1"]) == 0
    seen = [line.split(" ", 1) for line in record.read_text("utf-8").splitlines()]
    assert seen and all(int(pid) != os.getpid() for pid, _ in seen)  # laid out by workers
    assert {thresholds for _, thresholds in seen} == {str(COLLECTOR_THRESHOLDS)}
    assert gc.get_threshold() == before != COLLECTOR_THRESHOLDS


def _recording_let_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file to which each call of parallel._let_memory_go adds its process's id."""
    import os

    record = tmp_path / "let-go"
    let_go = parallel._let_memory_go

    def recording() -> None:
        with record.open("a", encoding="utf-8") as file:
            file.write(f"{os.getpid()}\n")
        let_go()
    monkeypatch.setattr(parallel, "_let_memory_go", recording)
    return record


def test_a_layout_for_the_page_numbers_alone_lets_each_piece_go_in_its_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Laid out for its page numbers alone (the EPUB's page list), a piece is let go in its
    worker as soon as its numbers are sent, its memory collected: nothing is written to let it
    go later, and with the build's collector thresholds the two workers grew to 300 MiB each
    on a 200-chapter book (the EPUB's peak 740 MiB, 567 MiB once let go)."""
    import os

    record = _recording_let_go(tmp_path, monkeypatch)
    book = load_book(ROOTS / "field-notes" / "book.yml", Diagnostics())
    layout = typeset(book, Diagnostics(), write=False, jobs=1, piece_words=300)
    assert layout.pdf is None and layout.pages
    workers = record.read_text("utf-8").split()
    assert len(workers) == len(pieces(book, 300)) + 2  # each body piece, the glossary, the index
    assert os.getpid() not in map(int, workers)


def test_a_written_piece_is_let_go_in_its_worker_but_the_books_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A piece is let go in its worker once written, but the book's last (the index): its
    worker ends then and takes it with it, and a collection first (0.3 s after a 200-chapter
    book's index) was waited for before the PDF could be finished."""
    import os

    record = _recording_let_go(tmp_path, monkeypatch)
    book = load_book(ROOTS / "field-notes" / "book.yml", Diagnostics())
    layout = typeset(book, Diagnostics(), jobs=1, piece_words=300)
    assert layout.pdf is not None
    workers = record.read_text("utf-8").split()
    assert len(workers) == len(pieces(book, 300)) + 1  # each body piece and the glossary
    assert os.getpid() not in map(int, workers)


def _forks_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every fork this process makes from now on, counted (and made: nothing is stood in)."""
    forks: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        forks.append(1)
        return real_fork()
    monkeypatch.setattr(os, "fork", fork)
    return forks


def test_a_book_shorter_than_one_piece_is_laid_out_in_this_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """By default, a book of fewer words than a piece forks no layout worker: each holds a copy
    of the build, and the bundled booklet's peak was twice the floor's. With nothing cached,
    the one fork is the front matter's measure (test_front_length); with the front matter's
    length remembered, none. `jobs` still asks for workers."""
    if parallel_jobs() == 0:
        pytest.skip("one core: no workers by default at any length")
    short = load_book(BUNDLED, Diagnostics())
    assert short.layout_words < DEFAULT_PIECE_WORDS < load_book(FIELD_NOTES,
                                                               Diagnostics()).layout_words
    forks = _forks_counted(monkeypatch)
    assert typeset(short, Diagnostics(), cache=tmp_path).pdf
    assert len(forks) == 1
    forks.clear()
    assert typeset(load_book(BUNDLED, Diagnostics()), Diagnostics(), cache=tmp_path).pdf
    assert not forks
    assert typeset(load_book(BUNDLED, Diagnostics()), Diagnostics(), jobs=1,
                   cache=tmp_path).pdf
    assert forks
    forks.clear()
    assert typeset(load_book(FIELD_NOTES, Diagnostics()), Diagnostics()).pdf
    assert forks  # longer than a piece: its workers, by default
