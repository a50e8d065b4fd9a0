"""`chapbook serve`, more: a taken port or a missing manifest is a one-line error, not a
traceback; the warnings of each rebuild are printed, as a build prints them."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOTS, run_cli


def test_a_taken_port_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--book", str(ROOTS / "edge" / "book.yml"),
                         "--port", str(port))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"port {port}" in result.stderr and "--port" in result.stderr


def test_a_missing_manifest_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    try:  # not run_cli: before this was fixed, the server ran on, watching nothing
        result = subprocess.run([sys.executable, "-m", "chapbook", "serve", "--book",
                                 str(tmp_path / "nope.yml"), "--port", "0"],
                                capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("chapbook serve kept running without a manifest")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no manifest" in result.stderr


@pytest.fixture
def serving(fixture_book) -> Iterator[tuple[Path, list[str]]]:
    from chapbook.serve import serve

    book = fixture_book("b-glyphs")
    stop = threading.Event()
    said: list[str] = []
    thread = threading.Thread(target=serve, args=(book / "book.yml", 0, stop, said.append),
                              daemon=True)
    thread.start()
    yield book, said
    stop.set()
    thread.join(timeout=10)


def wait_for(said: list[str], text: str) -> list[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(text in line for line in list(said)):
            return said
        time.sleep(0.1)
    raise AssertionError(f"never said {text!r}: {said}")


def test_each_rebuild_prints_its_warnings(serving) -> None:
    book, said = serving
    wait_for(said, "samples.md:5: warning: ")
    assert "serving" in said[0]  # the address first, then the first build's findings
    assert any("samples.md:7: warning: " in line and "[missing-glyph]" in line for line in said)
    essay = book / "essays" / "samples.md"
    essay.write_text(essay.read_text(encoding="utf-8") + "\nA third: 𐀃.\n", encoding="utf-8")
    wait_for(said, "U+10003")
    rebuilt = said.index(next(line for line in said if "rebuilt after" in line))
    after = said[rebuilt:]
    assert any("samples.md:9: warning: " in line and "U+10003" in line for line in after), said
    assert any("samples.md:5: warning: " in line for line in after)  # all of them, again


@pytest.mark.parametrize("stopping", ["SIGTERM", "SIGHUP"])
def test_serve_stopped_by_a_signal_stops_its_pdf_build_and_leaves_nothing(
        tmp_path: Path, stopping: str) -> None:
    """`serve --pdf` stopped as a service manager or a closed terminal stops it (SIGTERM,
    SIGHUP), in the middle of laying out the print edition: it died at once, its build ran on
    to the end in the background, and its folder stayed in TMPDIR."""
    import os
    import shutil
    import signal

    from .test_faults import _alive, _tree

    book = tmp_path / "book"
    shutil.copytree(ROOTS / "field-notes", book)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    server = subprocess.Popen([sys.executable, "-m", "chapbook", "serve", "--pdf", "--book",
                               str(book / "book.yml"), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "TMPDIR": str(temporary)})
    deadline = time.monotonic() + 120
    while not list(temporary.glob("weasyprint-*")):  # the build has begun to lay out
        assert time.monotonic() < deadline and server.poll() is None, server.communicate()
        time.sleep(0.02)
    processes = _alive(_tree(server.pid))
    server.send_signal(getattr(signal, stopping))
    server.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while _alive(processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(processes), "the print edition's build outlived serve"
    assert list(temporary.iterdir()) == []
