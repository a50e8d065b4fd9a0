"""The command line as a user meets it: exit codes, one clear message, no traceback."""

from __future__ import annotations

from pathlib import Path

from .conftest import ROOTS, run_cli


def test_broken_manifest_fails_with_file_and_line(tmp_path: Path) -> None:
    book = tmp_path / "book"
    (book / "essays").mkdir(parents=True)
    (book / "essays" / "a.md").write_text("# A\n\nText.\n")
    (book / "book.yml").write_text(
        "metadata:\n  title: T\n  author: A\n  language: en\n  identifier: x\n"
        "  date: '2026-01-01'\nparts:\n  - title: P\n    chapters:\n      - file: essays/b.md\n")
    result = run_cli("build", "pdf", "--book", str(book / "book.yml"), "--out", str(tmp_path))
    assert result.returncode == 1
    assert f"{book / 'book.yml'}:10:" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("*.pdf"))


def test_missing_manifest(tmp_path: Path) -> None:
    result = run_cli("build", "--book", str(tmp_path / "nope.yml"), "--out", str(tmp_path))
    assert result.returncode == 1 and "no manifest" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_reports_progress_and_writes(tmp_path: Path) -> None:
    result = run_cli("build", "html", "--book", str(ROOTS / "edge" / "book.yml"),
                     "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "building html" in result.stdout and "wrote" in result.stdout
    assert (tmp_path / "edge-cases.html").is_file()
    assert "mojibake repaired" in result.stderr


def test_sources_are_never_modified(tmp_path: Path) -> None:
    essays = sorted((ROOTS / "edge" / "essays").iterdir())
    before = {p: p.read_bytes() for p in essays}
    result = run_cli("build", "all", "--book", str(ROOTS / "edge" / "book.yml"),
                     "--out", str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert {p: p.read_bytes() for p in essays} == before


def test_progress_bars_on_a_terminal_and_a_summary(tmp_path: Path) -> None:
    """On a terminal: a bar per stage with pages counted, and a closing table of files."""
    import shutil
    import subprocess
    import sys

    if shutil.which("script") is None:
        import pytest
        pytest.skip("needs script(1) to give the build a terminal")
    command = (f"{sys.executable} -m chapbook build pdf --book "
               f"{ROOTS / 'edge' / 'book.yml'} --out {tmp_path}")
    result = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                            text=True, timeout=300)
    import re
    screen = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", result.stdout).replace("\r", "\n")
    assert result.returncode == 0, screen[-2000:]
    assert "building pdf" in screen and "KiB" in screen and "size" in screen
    assert "pages; done in" in screen and "━" in screen


def test_quiet_prints_nothing_but_errors(tmp_path: Path) -> None:
    edge = str(ROOTS / "edge" / "book.yml")
    said = run_cli("build", "html", "--book", edge, "--out", str(tmp_path))
    assert said.returncode == 0 and ": note: " in said.stderr and "wrote" in said.stdout
    quiet = run_cli("build", "html", "--quiet", "--book", edge, "--out", str(tmp_path))
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    failed = run_cli("build", "html", "--quiet", "--book", str(tmp_path / "missing.yml"),
                     "--out", str(tmp_path))
    assert failed.returncode == 1 and failed.stdout == ""
    assert "missing.yml" in failed.stderr and "error" in failed.stderr


def test_essay_cache_reparses_only_what_changed(tmp_path: Path) -> None:
    import shutil

    book = tmp_path / "book"
    shutil.copytree(ROOTS / "scripts", book)
    out = tmp_path / "out"
    first = run_cli("build", "html", "--book", str(book / "book.yml"), "--out", str(out))
    assert first.returncode == 0, first.stderr
    entries = {p.name: p.stat().st_mtime_ns for p in (out / ".cache" / "essays").iterdir()}
    assert len(entries) == 12  # two per essay: what the read phase takes, and its tokens
    html = (out / "scripts.html").read_bytes()
    second = run_cli("build", "html", "--book", str(book / "book.yml"), "--out", str(out))
    assert (out / "scripts.html").read_bytes() == html
    assert second.stderr == first.stderr  # the cached essays' warnings are reported again
    assert {p.name: p.stat().st_mtime_ns for p in (out / ".cache" / "essays").iterdir()} \
        == entries
    essay = book / "essays" / "untitled.md"
    essay.write_text(essay.read_text() + "\nA new sentence.\n")
    assert run_cli("build", "html", "--book", str(book / "book.yml"),
                   "--out", str(out)).returncode == 0
    after = {p.name: p.stat().st_mtime_ns for p in (out / ".cache" / "essays").iterdir()}
    assert len(after) == 14 and {k: after[k] for k in entries} == entries  # its two new
    assert "A new sentence." in (out / "scripts.html").read_text("utf-8")
    shutil.rmtree(out / ".cache")  # safe to delete
    essay.write_text(essay.read_text().replace("\nA new sentence.\n", ""))
    assert run_cli("build", "html", "--book", str(book / "book.yml"),
                   "--out", str(out)).returncode == 0
    assert (out / "scripts.html").read_bytes() == html
