"""A book with many essays to parse has the later half of them parsed by a forked process, into
the build cache, while the build's own process parses the earlier half (read/essays.py,
_ParsedAhead): the book read must be the one a read in one process gives, its findings included,
whatever that process leaves undone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from chapbook.diagnostics import Diagnostics
from chapbook.model.book import Book
from chapbook.model.terms import Found
from chapbook.read import essays
from chapbook.read.manifest import load_manifest
from chapbook.templating import render_book_html

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = 24


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tools/long_book.py's book of 24 chapters (notes, links between chapters, glossary and
    index terms), its 20th essay emptied and its 22nd given an image without alt text: two
    warnings in the later half."""
    folder = tmp_path_factory.mktemp("long") / "book"
    subprocess.run([sys.executable, str(ROOT / "tools" / "long_book.py"), str(folder),
                    str(CHAPTERS)], check=True, capture_output=True, timeout=120)
    sources = sorted((folder / "essays").glob("*.md"))
    sources[19].write_text("", "utf-8")
    sources[21].write_text(sources[21].read_text("utf-8") + "\n\n![](missing.png)\n", "utf-8")
    return folder / "book.yml"


def _read(manifest: Path, cache: Path, jobs: int) -> tuple[Book, Found, list[str], int]:
    """The book read with `jobs`, its terms found, its findings, and how many essays this
    process parsed."""
    diagnostics = Diagnostics()
    with mock.patch.object(essays, "parse_essay", wraps=essays.parse_essay) as parse:
        book, found = essays.read_book(load_manifest(manifest), diagnostics, cache=cache,
                                       jobs=jobs)
    return book, found, [str(finding) for finding in diagnostics.findings], parse.call_count


def _occurrences(found: Found) -> list[str]:
    return [f"{entry.id} {occurrence}" for entry, occurrence in found.glossary] + \
        [f"{heading.id} {occurrence}" for heading, occurrence in found.index]


def test_the_later_half_is_parsed_apart_and_the_book_read_is_the_same(
        long_book: Path, tmp_path: Path) -> None:
    one, one_found, one_said, one_parsed = _read(long_book, tmp_path / "one", jobs=0)
    two, two_found, two_said, two_parsed = _read(long_book, tmp_path / "two", jobs=1)
    assert one_parsed == CHAPTERS
    # this process parsed the earlier half; the forked one the later half, into the cache
    assert CHAPTERS // 4 < two_parsed < CHAPTERS * 3 // 4
    assert len(list((tmp_path / "two" / "essays").glob("*.entry"))) == 2 * CHAPTERS
    assert [c.summary for c in two.chapters] == [c.summary for c in one.chapters]
    assert _occurrences(two_found) == _occurrences(one_found)
    assert two_said == one_said
    assert any("empty" in said for said in two_said) and any("alt" in said for said in two_said)
    assert render_book_html(two) == render_book_html(one)


def test_what_the_forked_process_leaves_unparsed_is_parsed_here(long_book: Path,
                                                                tmp_path: Path) -> None:
    """A forked process that stores nothing (here: every store fails in it) costs time only:
    this process parses the later half itself, and reads the same book."""
    one, one_found, one_said, _ = _read(long_book, tmp_path / "one", jobs=0)
    parent = essays.os.getpid()

    def store_here_only(self: essays.EssayCache, *args: object) -> None:
        if essays.os.getpid() != parent:
            raise OSError("no room left on the device")
        store(self, *args)

    store = essays.EssayCache.store
    with mock.patch.object(essays.EssayCache, "store", store_here_only):
        two, two_found, two_said, two_parsed = _read(long_book, tmp_path / "two", jobs=1)
    assert two_parsed == CHAPTERS
    assert _occurrences(two_found) == _occurrences(one_found)
    assert two_said == one_said
    assert render_book_html(two) == render_book_html(one)


def test_a_read_beside_other_threads_forks_nothing(long_book: Path, tmp_path: Path) -> None:
    """`chapbook serve` reads the book while its server thread runs: a forked process would
    inherit this thread alone, and any lock the other held stays held in it. Such a read
    parses every essay here."""
    import threading

    stop = threading.Event()
    server = threading.Thread(target=stop.wait)
    server.start()
    try:
        _, _, _, parsed = _read(long_book, tmp_path / "cache", jobs=1)
    finally:
        stop.set()
        server.join()
    assert parsed == CHAPTERS
