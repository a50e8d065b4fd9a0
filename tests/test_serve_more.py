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
