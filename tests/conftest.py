"""Shared fixtures: the bundled book built once through the real pipeline, and helpers to build
small fixture books from tests/roots/."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chapbook.cli import main

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "book" / "book.yml"
ROOTS = Path(__file__).resolve().parent / "roots"


def build(manifest: Path, out: Path, *formats: str) -> int:
    return main(["build", *formats, "--book", str(manifest), "--out", str(out), "--quiet"])


@contextlib.contextmanager
def running_preview(book: Path) -> Iterator[tuple[str, list[str]]]:
    """A real `chapbook serve` of a copy of tests/roots/edge at `book`, on a free port: its URL
    and the lines it has said; stopped on leaving."""
    from chapbook.serve import serve

    shutil.copytree(ROOTS / "edge", book)
    stop = threading.Event()
    said: list[str] = []
    thread = threading.Thread(target=serve, args=(book / "book.yml", 0, stop, said.append),
                              daemon=True)
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


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chapbook", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled book, every format, built once for the whole session."""
    out = tmp_path_factory.mktemp("bundled")
    assert build(BUNDLED, out, "all") == 0
    slug = "defence-diplomacy-briefing"
    return {fmt: out / f"{slug}.{fmt}" for fmt in ("pdf", "epub", "html")}


@pytest.fixture
def fixture_book(tmp_path: Path):
    """Copy tests/roots/<name> into a temporary folder (so tests may edit it) and return it."""
    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(ROOTS / name, target)
        return target
    return copy
