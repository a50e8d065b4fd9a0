"""Faults from outside the book (issue 11, findings 5 and 8): limits enforced from outside the
build, killed and interrupted builds, and a commit of several editions that is all or nothing.
Each runs the real `chapbook` command on a generated long book, whose PDF is written by forked
writer processes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def long_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long")
    subprocess.run([sys.executable, str(ROOT / "tools" / "long_book.py"), str(folder), "40"],
                   check=True, capture_output=True)
    return folder / "book.yml"


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def _tree(pid: int) -> set[int]:
    found, waiting = set(), [pid]
    while waiting:
        current = waiting.pop()
        found.add(current)
        waiting += _children(current)
    return found


def _alive(pids: set[int]) -> set[int]:
    """Which of these are chapbook's own processes and still running (not zombies). Helpers the
    libraries start for a moment (`ld`, run by ctypes to find a library) are not counted."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if state != "Z" and b"chapbook" in command:
            alive.add(pid)
    return alive


def _as_from_a_terminal() -> None:
    """Ctrl-C as a terminal's shell leaves it: pytest-xdist's workers ignore SIGINT, and a
    child inherits that (Python then installs no handler for it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(book: Path, out: Path, edition: str = "pdf",
           user_cache: Path | None = None) -> subprocess.Popen[str]:
    # A session of its own, so a test can signal the whole group as a terminal's Ctrl-C does.
    env = {**os.environ, "XDG_CACHE_HOME": str(user_cache)} if user_cache else None
    # Pieces of 2,000 words: the first writer is forked after a few chapters, not a third of
    # the book.
    return subprocess.Popen([sys.executable, "-m", "chapbook", "build", edition, "--book",
                             str(book), "--out", str(out), "--jobs", "1", "--piece-words",
                             "2000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_as_from_a_terminal, env=env)


def _wait_for_writers(build: subprocess.Popen[str], count: int = 3) -> set[int]:
    """Wait until the build has forked a worker (supervisor, build, writer: three processes),
    and return the processes. Bounded, so a build that never forks fails."""
    seen = 0
    for _ in range(1200):
        tree = _alive(_tree(build.pid))
        seen = seen + 1 if len(tree) >= count else 0
        if seen == 3:  # and still there 100 ms on: past its first steps (PR_SET_PDEATHSIG)
            return tree
        if build.poll() is not None:
            pytest.fail(f"the build ended before forking a writer: {build.communicate()}")
        time.sleep(0.05)
    pytest.fail("no PDF writer was forked within a minute")


def _hold_writers(build: subprocess.Popen[str]) -> None:
    """Stop the build's workers (the processes below the build itself): until it is signalled,
    the build waits for them."""
    for worker in _alive(_tree(build.pid)) - {build.pid, *_children(build.pid)}:
        os.kill(worker, signal.SIGSTOP)


def _gone(pids: set[int]) -> bool:
    for _ in range(200):
        if not _alive(pids):
            return True
        time.sleep(0.05)
    return False


LAST_GOOD = b"%PDF-1.7 the last good build\n"


def _last_good_build(tmp_path: Path) -> tuple[Path, Path]:
    """An output folder holding a last good PDF: (the folder, the PDF)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "long-book.pdf").write_bytes(LAST_GOOD)
    return out, out / "long-book.pdf"


def _leftovers(out: Path) -> list[Path]:
    return [*out.glob(".*.part"), *(out / ".cache").glob("*/.*.part"),
            *(out / ".cache" / "tmp").glob("*")]


def test_killing_the_build_kills_its_writers_and_the_next_build_tidies(long_book: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "out"
    build = _start(long_book, out)
    processes = _wait_for_writers(build)
    _hold_writers(build)  # so that only the kill can end them, not their own work
    os.kill(build.pid, signal.SIGKILL)  # the supervisor: nothing of it can run any more
    build.wait()
    assert _gone(processes), f"processes outlived the killed build: {_alive(processes)}"
    assert not (out / "long-book.pdf").exists()
    again = subprocess.run([sys.executable, "-m", "chapbook", "build", "html", "--book",
                            str(long_book), "--out", str(out), "-q"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _leftovers(out) == []


def test_killing_the_build_kills_its_font_subsetting_workers(long_book: Path,
                                                            tmp_path: Path) -> None:
    if (os.cpu_count() or 1) < 2:
        pytest.skip("fonts are subset in worker processes only with two cores or more")
    out = tmp_path / "out"
    # Into empty caches (the output folder's and the user's): every face is subset.
    build = _start(long_book, out, "html", user_cache=tmp_path / "user-cache")
    processes = _wait_for_writers(build, 4)  # supervisor, build, and two workers at least
    _hold_writers(build)
    os.kill(build.pid, signal.SIGKILL)
    build.wait()
    assert _gone(processes), f"processes outlived the killed build: {_alive(processes)}"


def test_terminating_the_build_leaves_the_last_outputs_and_no_temporary_files(
        long_book: Path, tmp_path: Path) -> None:
    out, last_good = _last_good_build(tmp_path)
    build = _start(long_book, out)
    processes = _wait_for_writers(build)
    _hold_writers(build)  # so the build cannot finish before the signal
    os.kill(build.pid, signal.SIGTERM)  # to the supervisor alone, as `kill PID` sends it
    build.communicate(timeout=60)
    assert build.returncode == 128 + signal.SIGTERM
    assert _gone(processes), f"processes outlived the terminated build: {_alive(processes)}"
    assert last_good.read_bytes() == LAST_GOOD
    assert _leftovers(out) == []


def test_ctrl_c_says_truly_that_the_outputs_are_untouched(long_book: Path,
                                                          tmp_path: Path) -> None:
    out, last_good = _last_good_build(tmp_path)
    build = _start(long_book, out)
    processes = _wait_for_writers(build)
    _hold_writers(build)  # so the build cannot finish before the signal
    os.killpg(build.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 130, stderr
    assert "interrupted; the previous outputs are untouched" in stderr
    assert "Traceback" not in stderr
    assert last_good.read_bytes() == LAST_GOOD
    assert _gone(processes)
    assert _leftovers(out) == []


def test_the_memory_limit_holds_while_writers_run(long_book: Path, tmp_path: Path) -> None:
    """The limit covers the build and its writers, and is enforced from outside, so the largest
    process never passes it by more than one look's worth (measured by the kernel)."""
    limit = 250
    probe = ("import resource, subprocess, sys; "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "print(r.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
             " print(r.stderr)")
    result = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "chapbook",
                             "build", "pdf", "--book", str(long_book), "--out",
                             str(tmp_path / "out"), "--jobs", "1", "--max-memory", str(limit)],
                            capture_output=True, text=True, timeout=300)
    status, peak_kib, stderr = result.stdout.split("\n", 2)
    assert status == "1", stderr
    assert f"needed more memory than its limit of {limit} MiB" in stderr
    assert "Traceback" not in stderr
    assert int(peak_kib) < limit * 1024 * 1.15, f"peak {int(peak_kib) // 1024} MiB"
    assert _leftovers(tmp_path / "out") == []


def _journal_case(out: Path) -> None:
    """What a build killed in the middle of committing leaves: the PDF already renamed into
    place, the EPUB still beside its target, and the journal of the renames."""
    (out / ".cache").mkdir(parents=True)
    (out / "small.pdf").write_bytes(b"new pdf")
    (out / ".small.epub.k2j4.part").write_bytes(b"new epub")
    (out / "small.epub").write_bytes(b"old epub")
    (out / ".cache" / "commit.json").write_text(json.dumps(
        [[".small.pdf.a1b2.part", "small.pdf"], [".small.epub.k2j4.part", "small.epub"],
         [".small.epub.k2j4.part", "../escaped"], ["../../book.yml", "small.html"]]))


def test_a_commit_cut_short_is_finished_by_the_next_build(tmp_path: Path) -> None:
    from .test_untrusted import small_book

    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nText.\n"})
    out = tmp_path / "out"
    _journal_case(out)
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "html", "--book",
                             str(manifest), "--out", str(out), "-q"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # Both editions are the new ones; the journal's hostile entries did nothing.
    assert (out / "small.pdf").read_bytes() == b"new pdf"
    assert (out / "small.epub").read_bytes() == b"new epub"
    assert not (tmp_path / "escaped").exists() and manifest.is_file()
    assert not (out / ".cache" / "commit.json").exists()
    assert b"<html" in (out / "small.html").read_bytes()


def test_a_layout_worker_killed_from_outside_is_named_as_such(long_book: Path,
                                                              tmp_path: Path) -> None:
    """A worker killed by the system (the OOM killer's SIGKILL) ends its pipe with a reset, not
    an end of file: the build said "Connection reset by peer" and "check the file and its
    folder". It says a layout process ended, and what to try; the last good PDF stays."""
    out, pdf = _last_good_build(tmp_path)
    build = _start(long_book, out)
    while build.poll() is None:  # each process below the build's own, as it comes: the
        # essays parsed ahead (which the build parses again itself), then the layout workers
        for worker in _alive(_tree(build.pid)) - {build.pid, *_children(build.pid)}:
            with contextlib.suppress(OSError):
                os.kill(worker, signal.SIGKILL)
        time.sleep(0.05)
    _, stderr = build.communicate()
    assert build.returncode == 1, stderr
    assert "error: a layout process ended without its pages" in stderr, stderr
    assert "Connection reset" not in stderr and "Traceback" not in stderr
    assert pdf.read_bytes() == LAST_GOOD


@pytest.mark.parametrize(("jobs", "openers"), [("1", "right"), ("1", "any"), ("0", "right")])
def test_a_full_disk_is_one_line_with_its_remedy_whichever_process_meets_it(
        long_book: Path, tmp_path: Path, jobs: str, openers: str) -> None:
    """An output folder on a disk that fills midway (a tmpfs of 3 MB): the layout worker that
    met it sent its traceback, with the hint to try --jobs 0, and a forked writer (a book whose
    chapters open on any page is laid out here and written in writers) left no report at all;
    now every process's full disk is the one line the build itself gives, with the remedy."""
    if openers == "any":
        shutil.copytree(long_book.parent, tmp_path / "book")
        long_book = tmp_path / "book" / "book.yml"
        long_book.write_text(long_book.read_text("utf-8") + "openers: any\n", "utf-8")
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {mounted.stderr.strip()}")
    try:
        result = subprocess.run([sys.executable, "-m", "chapbook", "build", "pdf", "--book",
                                 str(long_book), "--out", str(small / "out"), "--jobs", jobs,
                                 "--piece-words", "2000"],
                                capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert result.returncode == 1, result.stderr
    assert "error: No space left on device" in result.stderr, result.stderr
    assert "hint: the disk (or TMPDIR) is full" in result.stderr
    assert "Traceback" not in result.stderr and "--jobs 0" not in result.stderr


def test_a_time_limit_passed_in_a_parallel_layout_names_the_slow_essay(long_book: Path,
                                                                       tmp_path: Path) -> None:
    """The layout workers tell the watcher what they lay out, all through one pipe: it named
    whatever was said last (the whole book, or a chapter another worker had just begun), not
    chapter 3, whose table of 2,000 rows held its worker all along."""
    shutil.copytree(long_book.parent, tmp_path / "book")
    manifest = tmp_path / "book" / "book.yml"
    slow = tmp_path / "book" / "essays" / "003-chapter.md"
    rows = "\n".join("| " + " | ".join(f"r{row}c{column}" for column in range(12)) + " |"
                     for row in range(2000))
    slow.write_text(slow.read_text("utf-8") + "\n\n| " + " | ".join(
        f"h{column}" for column in range(12)) + " |\n|" + "--|" * 12 + "\n" + rows + "\n",
        "utf-8")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "pdf", "--book",
                             str(manifest), "--out", str(tmp_path / "out"), "--jobs", "1",
                             "--piece-words", "2000", "--timeout", "10"],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TMPDIR": str(temporary)})
    assert result.returncode == 1, result.stderr
    assert f"{slow}: error: the build took longer than its limit of 10 s while laying out " \
        "chapter 3" in result.stderr, result.stderr
    # the build killed at its limit told the watcher of WeasyPrint's font folder (18 MB)
    assert list(temporary.iterdir()) == []


def test_a_build_killed_from_outside_says_so(long_book: Path, tmp_path: Path) -> None:
    """The build's own process killed (as the OOM killer kills the largest): the command ended
    with status 137 and no word after "building pdf…". It says what stopped it and what to
    try, and the last good PDF stays."""
    out, pdf = _last_good_build(tmp_path)
    build = _start(long_book, out)
    _wait_for_writers(build)
    [child] = _children(build.pid)
    os.kill(child, signal.SIGKILL)
    _, stderr = build.communicate(timeout=60)
    assert build.returncode == 128 + signal.SIGKILL, stderr
    assert "error: the build was stopped by SIGKILL before it finished" in stderr, stderr
    assert "may have run out of memory" in stderr
    assert pdf.read_bytes() == LAST_GOOD
