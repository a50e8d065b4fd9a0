"""Shared fixtures: whole books built once per test run through the real command line (shared by
every worker), and helpers to build small fixture books from tests/roots/."""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

import pytest

from chapbook.cli import main
from chapbook.diagnostics import Diagnostics

if TYPE_CHECKING:
    from chapbook.layout.parallel import LaidPiece

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "book" / "book.yml"
EpubCheck = Callable[[Path], list[dict]]  # the `epubcheck` fixture: an EPUB's messages
ROOTS = Path(__file__).resolve().parent / "roots"


def build(manifest: Path, out: Path, *formats: str) -> int:
    return main(["build", *formats, "--book", str(manifest), "--out", str(out), "--quiet"])


@contextlib.contextmanager
def running_preview(book: Path, source: Path = ROOTS / "edge", pdf: bool = False
                    ) -> Iterator[tuple[str, list[str]]]:
    """A real `chapbook serve` (`--pdf` if `pdf`) of a copy of `source` (tests/roots/edge) at
    `book`, on a free port: its URL and the lines it has said; stopped on leaving."""
    from chapbook.serve import serve

    shutil.copytree(source, book)
    stop = threading.Event()
    said: list[str] = []
    thread = threading.Thread(target=serve, args=(book / "book.yml", 0, stop, said.append),
                              kwargs={"pdf": pdf}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not said and time.monotonic() < deadline:
        time.sleep(0.1)
    assert said, "the server never announced its address"
    try:
        yield said[0].split(" at ", 1)[1].split(" ", 1)[0], said
    finally:
        stop.set()
        thread.join(timeout=10)


# Options whose point is the process around the build: its limits enforced from outside
# (watcher.py), or a traceback let through to the interpreter.
PROCESS_OPTIONS = ("--timeout", "--max-memory", "--debug")


def run_cli(*args: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`chapbook ARGS`: what it exits with and prints. `env` adds to the environment.

    It runs in this process, through cli.main() as the installed command does (its imports
    already made, so a test pays for the build, not for starting Python and WeasyPrint again),
    unless one of PROCESS_OPTIONS or `serve` asks for a process of its own: then it is the
    installed command itself, watched."""
    if args[:1] == ("serve",) or any(a in PROCESS_OPTIONS for a in args):
        return subprocess.run([sys.executable, "-m", "chapbook", *args], capture_output=True,
                              text=True, cwd=cwd, timeout=300,
                              env={**os.environ, **(env or {})})
    stdout, stderr = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env or {}), contextlib.chdir(cwd or Path.cwd()), \
            contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(list(args))
        except SystemExit as leaving:  # argparse's usage errors and --help
            status = leaving.code if isinstance(leaving.code, int) \
                else 0 if leaving.code is None else 1
    return subprocess.CompletedProcess(["chapbook", *args], status, stdout.getvalue(),
                                       stderr.getvalue())


SHARED_EPOCH = "1767225600"  # 2026-01-01: the shared builds' time, so they are reproducible
SHARED_EDITIONS = ("all", "booklet", "print")  # the bundled book's: every edition
FIXTURE_BOOK_EDITIONS = ("all",)  # a book of tests/roots/: the three editions its tests read


def _shared_root(factory: pytest.TempPathFactory) -> Path:
    """A folder every pytest-xdist worker of this run sees (each worker's own base folder sits in
    the run's), so that a book is laid out once per run, not once per worker or per module."""
    base = factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-builds"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, str]]:
    """A book built once for the whole run: `bundled` (every edition: all, booklet, print), or
    the name of a book in tests/roots/ (all: PDF, EPUB, HTML), through the installed `chapbook`
    command, with SOURCE_DATE_EPOCH set. Returns its output folder and what the build said on
    stderr. The first worker to ask builds it while the others wait on a lock. Tests only read
    it."""
    root = _shared_root(tmp_path_factory)
    root.mkdir(parents=True, exist_ok=True)
    chapbook = str(Path(sys.executable).parent / "chapbook")

    def get(name: str) -> tuple[Path, str]:
        folder = root / name
        with (root / f"{name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            status = folder / ".status"
            if not status.is_file():
                shutil.rmtree(folder, ignore_errors=True)
                manifest, editions = (BUNDLED, SHARED_EDITIONS) if name == "bundled" \
                    else (ROOTS / name / "book.yml", FIXTURE_BOOK_EDITIONS)
                result = subprocess.run(
                    [chapbook, "build", *editions, "--book", str(manifest), "--out",
                     str(folder)], capture_output=True, text=True, timeout=900,
                    env={**os.environ, "SOURCE_DATE_EPOCH": SHARED_EPOCH})
                (folder / ".stderr").write_text(result.stderr, "utf-8")
                status.write_text(str(result.returncode), "utf-8")
        stderr = (folder / ".stderr").read_text("utf-8")
        assert status.read_text("utf-8") == "0", stderr
        return folder, stderr
    return get


@pytest.fixture(scope="session")
def bundled(built: Callable[[str], tuple[Path, str]]) -> dict[str, Path]:
    """The bundled book's PDF, EPUB and HTML, built once for the whole run."""
    out, _ = built("bundled")
    slug = "defence-diplomacy-briefing"
    return {fmt: out / f"{slug}.{fmt}" for fmt in ("pdf", "epub", "html")}


@pytest.fixture(scope="session")
def epubcheck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EpubCheck]:
    """EPUBCheck's messages on an EPUB, from one EPUBCheck this worker starts once."""
    from .epubcheck_server import EpubCheckServer

    server = EpubCheckServer(tmp_path_factory.mktemp("epubcheck"))
    yield server.messages
    server.close()


@pytest.fixture
def fixture_book(tmp_path: Path):
    """Copy tests/roots/<name> into a temporary folder (so tests may edit it) and return it."""
    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(ROOTS / name, target)
        return target
    return copy


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI (CI set, as .ci/run sets it) a skipped test fails: a missing checker or tool
    there means the machine is not what the README promises, not a test to pass over."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI: {report.longrepr}"


@pytest.fixture(scope="module")
def briefing(built: Callable[[str], tuple[Path, str]]) -> Path:
    """The output folder of tests/roots/briefing (no parts, appendices, figures, tables and
    cross-references), built once for the run; it builds without a warning."""
    out, said = built("briefing")
    assert "warning" not in said, said
    return out


def typeset_pieces(manifest: Path, diagnostics: Diagnostics, *, piece_words: int, jobs: int,
                   cache: Path | None = None) -> tuple[bytes, list[LaidPiece]]:
    """The book's reading PDF, typeset in pieces of `piece_words` by `jobs` + 1 workers, and
    the pieces as the workers laid them out or the cache gave them: the body's, then the back
    matter's parts (read from layout/parallel.py's ParallelLayout as its workers are let go)."""
    from chapbook.build import load_book
    from chapbook.layout.paginate import typeset
    from chapbook.layout.parallel import ParallelLayout

    book = load_book(manifest, Diagnostics())
    laid: list[LaidPiece] = []
    leave = ParallelLayout.__exit__

    def recording(self: ParallelLayout, *exc: object) -> None:
        laid.extend(self.laid)
        leave(self, *exc)

    with mock.patch.object(ParallelLayout, "__exit__", recording):
        pdf = typeset(book, diagnostics, piece_words=piece_words, jobs=jobs, cache=cache).pdf
    assert pdf is not None
    return pdf, laid


def field_notes_indexed_closely(folder: Path) -> Path:
    """field-notes copied into `folder` with an indexer's close index: besides its own
    headings, one for each longer word its essays use, so that the index runs to several
    pages. Returns its manifest."""
    shutil.copytree(ROOTS / "field-notes", folder)
    words = sorted({word.lower() for essay in (folder / "essays").glob("*.md")
                    for word in re.findall(r"\b[A-Za-z]{7,}\b", essay.read_text("utf-8"))})
    with (folder / "index.yml").open("a", encoding="utf-8") as index:
        index.writelines(f'  - heading: "{word}"\n    forms: [{word}]\n' for word in words
                         if word not in ("alexandria", "ledgers", "authority"))
    return folder / "book.yml"
