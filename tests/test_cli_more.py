"""The command line, more: a failed `--strict` build keeps the last good outputs, the progress
bars on a terminal end before the summary and count the PDF's pages, and the system check finds
installed libraries however long `ldconfig -p` runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from .conftest import ROOT, ROOTS, run_cli

# --- --strict keeps the last good outputs ---------------------------------------------------


def outputs(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def test_strict_failure_leaves_the_last_good_outputs(fixture_book, tmp_path: Path) -> None:
    book = fixture_book("b-glyphs")
    essay = book / "essays" / "samples.md"
    clean = essay.read_text(encoding="utf-8")
    essay.write_text("# Script Samples\n\nOnly what the fonts have.\n", encoding="utf-8")
    manifest = book / "book.yml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(", 𐀂", ""),
                        encoding="utf-8")
    out = tmp_path / "out"
    good = run_cli("build", "html", "pdf", "--strict", "--book", str(manifest), "--out", str(out))
    assert good.returncode == 0, good.stderr
    before = outputs(out)
    assert set(before) == {"b-glyphs.html", "b-glyphs.pdf"}

    essay.write_text(clean + "\nA new paragraph.\n", encoding="utf-8")  # missing glyphs again
    failed = run_cli("build", "html", "pdf", "--strict", "--book", str(manifest),
                     "--out", str(out))
    assert failed.returncode == 2
    assert "[missing-glyph]" in failed.stderr
    assert "not replaced" in failed.stderr
    assert outputs(out) == before  # neither edition replaced, no temporary file left
    assert "A new paragraph." not in (out / "b-glyphs.html").read_text("utf-8")

    relaxed = run_cli("build", "html", "pdf", "--book", str(manifest), "--out", str(out))
    assert relaxed.returncode == 0, relaxed.stderr
    assert set(outputs(out)) == set(before)
    assert "A new paragraph." in (out / "b-glyphs.html").read_text("utf-8")


def test_strict_failure_of_a_first_build_writes_nothing(fixture_book, tmp_path: Path) -> None:
    book = fixture_book("b-glyphs")
    out = tmp_path / "out"
    result = run_cli("build", "html", "--strict", "--book", str(book / "book.yml"),
                     "--out", str(out))
    assert result.returncode == 2
    assert not out.exists() or not [p for p in out.iterdir() if p.is_file()]


# --- progress on a terminal -----------------------------------------------------------------

def terminal_build(*args: str) -> str:
    if shutil.which("script") is None:
        pytest.skip("needs script(1) to give the build a terminal")
    command = " ".join([sys.executable, "-m", "chapbook", "build", *args])
    result = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True,
                            text=True, timeout=300)
    screen = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", result.stdout).replace("\r", "\n")
    assert result.returncode == 0, screen[-2000:]
    return screen


def test_bars_end_before_the_summary_and_count_the_pdfs_pages(tmp_path: Path) -> None:
    screen = terminal_build("pdf", "--book", str(ROOTS / "edge" / "book.yml"),
                            "--out", str(tmp_path))
    pages = len(PdfReader(tmp_path / "edge-cases.pdf").pages)
    # the summary comes last: no bar is drawn again after its table or its closing line
    assert screen.rindex("building pdf") < screen.index("┏") < screen.index("done in")
    assert f"{pages} pages; done in" in screen
    counts = re.findall(r"building pdf\s+━+\s+(\d+)/(\d+)", screen)
    assert counts[-1] == (str(pages), str(pages)), counts


# --- tools/system-deps.sh ---------------------------------------------------------------------

def fake_tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/bash\n" + script, encoding="utf-8")
    path.chmod(0o755)


def test_system_deps_finds_libraries_in_a_long_ldconfig_listing(tmp_path: Path) -> None:
    """`ldconfig -p | grep -q` under pipefail: grep stops at the first match, ldconfig is
    killed by SIGPIPE writing the rest, and the pipeline fails although the library is there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    libraries = "\n".join(f"\t{name} (libc6,x86-64) => /usr/lib/{name}" for name in (
        "libpango-1.0.so.0", "libpangoft2-1.0.so.0", "libharfbuzz-subset.so.0"))
    # the libraries first, then far more than a pipe holds
    fake_tool(bin_dir, "ldconfig", f"set -o pipefail\necho '{libraries}'\n"
              "yes '\tlibfiller.so.1 (libc6,x86-64) => /usr/lib/libfiller.so.1' "
              "| head -n 20000\n")
    fake_tool(bin_dir, "fc-list", "exit 0\n")
    fake_tool(bin_dir, "id", "echo 0\n")  # as root, where it would install what is missing
    log = tmp_path / "apt-get.log"
    fake_tool(bin_dir, "apt-get", f'echo "$@" >> {log}\n')
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(ROOT / "tools" / "system-deps.sh")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not log.exists(), log.read_text()
    assert "installing" not in result.stdout


def test_system_deps_still_finds_a_missing_library(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_tool(bin_dir, "ldconfig", "echo '\tlibpango-1.0.so.0 (libc6,x86-64) => /x'\n")
    fake_tool(bin_dir, "fc-list", "exit 0\n")
    fake_tool(bin_dir, "id", "echo 1000\n")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(ROOT / "tools" / "system-deps.sh")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "libpangoft2-1.0-0 libharfbuzz-subset0" in result.stderr
    assert "libpango-1.0-0 " not in result.stderr
