"""Numbers and folders a user may get wrong on the command line or in the environment: one clear
line and a non-zero exit, never a traceback (issue 11, finding 6)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import BUNDLED, run_cli


@pytest.mark.parametrize("option", [
    ["--timeout", "-5"], ["--timeout", "nan"], ["--timeout", "inf"], ["--timeout", "1e300"],
    ["--creep", "nan"], ["--creep", "1e9"], ["--max-memory", "1.5"], ["--max-memory", "-1"],
    ["--signature", "0"], ["--signature", "2.5"],
])
def test_a_bad_number_is_one_line_of_usage(option: list[str], tmp_path: Path) -> None:
    result = run_cli("build", "html", "--book", str(BUNDLED), "--out", str(tmp_path), *option)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"argument {option[0]}" in result.stderr
    # what would do: the range, or the kind of number
    assert f"{option[0]} takes a number from" in result.stderr \
        or "is not a whole number" in result.stderr, result.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("name", "value"), [("CHAPBOOK_TIMEOUT", "abc"),
                                             ("CHAPBOOK_MAX_MEMORY", "1.5"),
                                             ("CHAPBOOK_TIMEOUT", "nan")])
def test_a_bad_setting_in_the_environment_is_named(name: str, value: str) -> None:
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "--book", str(BUNDLED)],
                            capture_output=True, text=True, env={**os.environ, name: value},
                            timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {name}=") and "hint: unset it" in result.stderr


def test_an_empty_setting_is_the_default(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "html", "--quiet",
                             "--book", str(BUNDLED), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "CHAPBOOK_MAX_MEMORY": "", "CHAPBOOK_TIMEOUT": ""})
    assert result.returncode == 0, result.stderr


def test_an_output_folder_that_is_a_file_or_cannot_be_made_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for out, message in ((a_file, "is a file, not a folder"), (Path("/dev/null"),
                                                               "is a file, not a folder"),
                         (a_file / "below", "cannot make the output folder")):
        result = run_cli("build", "html", "--book", str(BUNDLED), "--out", str(out))
        assert result.returncode == 1 and "Traceback" not in result.stderr, out
        assert message in result.stderr and "hint: give --out" in result.stderr
    assert a_file.read_text() == "not a folder"


def test_a_long_title_gives_a_file_name_that_fits_and_a_long_slug_is_refused(
        tmp_path: Path) -> None:
    text = BUNDLED.read_text("utf-8")
    long_title = " ".join(["Considerations"] * 25)  # 374 characters, no slug given
    book = tmp_path / "book"
    import shutil

    shutil.copytree(BUNDLED.parent, book)
    manifest = book / "book.yml"
    manifest.write_text(text.replace("slug: defence-diplomacy-briefing\n", "").replace(
        "title: Defence Diplomacy", f"title: {long_title}"), "utf-8")
    result = run_cli("build", "html", "--quiet", "--book", str(manifest), "--out",
                     str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    [written] = [p for p in (tmp_path / "out").iterdir() if p.suffix == ".html"]
    assert len(written.name) <= 85 and written.name.startswith("considerations-")
    manifest.write_text(text.replace("slug: defence-diplomacy-briefing",
                                     "slug: " + "-".join(["a"] * 150)), "utf-8")
    refused = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "o2"))
    assert refused.returncode == 1 and "is not a usable slug" in refused.stderr
    assert "book.yml:3:" in refused.stderr and "Traceback" not in refused.stderr


def test_a_second_build_into_a_busy_folder_stops_and_leaves_the_first_alone(
        tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "out"
    (out / ".cache").mkdir(parents=True)
    with (out / ".cache" / "lock").open("a") as held:  # as a running build holds it
        fcntl.flock(held, fcntl.LOCK_EX)
        (out / ".defence-diplomacy-briefing.html.abc.part").write_bytes(b"the first build's")
        result = run_cli("build", "html", "--book", str(BUNDLED), "--out", str(out))
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "another chapbook build is writing into this folder" in result.stderr
        assert (out / ".defence-diplomacy-briefing.html.abc.part").exists()
    assert run_cli("build", "html", "--book", str(BUNDLED), "--out", str(out)).returncode == 0


def test_what_a_killed_build_left_is_swept_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "out"
    leftovers = [out / ".defence-diplomacy-briefing.pdf.x1.part",
                 out / ".cache" / "essays" / ".0123.99.part",
                 out / ".cache" / "tmp" / "chapbook-pieces-x" / "piece-1.pdf"]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left by a killed build")
    assert run_cli("build", "html", "--book", str(BUNDLED), "--out", str(out)).returncode == 0
    assert [path for path in leftovers if path.exists()] == []
    assert not (out / ".cache" / "tmp").exists()


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


@pytest.mark.parametrize("where", ["book.yml", "index.yml", "front matter"])
def test_yaml_aliases_and_deep_nesting_are_refused_at_their_line(
        tmp_path: Path, where: str) -> None:
    import shutil

    book = tmp_path / "book"
    shutil.copytree(BUNDLED.parent, book)
    for payload, message in ((ALIAS_BOMB, "aliases are not allowed"),
                             ("deep: " + "[" * 500 + "]" * 500 + "\n", "nested too deep")):
        if where == "book.yml":
            target = book / "book.yml"
            target.write_text(BUNDLED.read_text("utf-8") + payload, "utf-8")
        elif where == "index.yml":
            target = book / "index.yml"
            target.write_text((BUNDLED.parent / "index.yml").read_text("utf-8") + payload)
        else:
            target = sorted((book / "essays").glob("*.md"))[0]
            original = (BUNDLED.parent / "essays" / target.name).read_text("utf-8")
            target.write_text(f"---\n{payload}---\n{original}", "utf-8")
        for command in (["build", "html"], ["check"]):
            result = run_cli(*command, "--book", str(book / "book.yml"),
                             "--out", str(tmp_path / "out")) if command[0] == "build" else \
                run_cli(*command, "--book", str(book / "book.yml"))
            output = result.stdout + result.stderr
            assert result.returncode != 0 and "Traceback" not in output, (where, command)
            assert message in output and target.name in output, (where, command, output[-500:])
        shutil.copy(BUNDLED.parent / target.relative_to(book), target)


@pytest.mark.parametrize(("essay", "message", "line"), [
    ("# Big\n\n" + ("A sentence of words. " * 40 + "\n\n") * 21000, "larger than 16 MB", None),
    ("# Long line\n\n" + "word " * 30000 + "\n", "line 3 has 150,000 characters", 3),
    ("# Title\n\n## " + "Heading " * 200 + "\n\nText.\n", "a heading of 1,599 characters", 3),
    ("# Notes\n\n" + "".join(f"Claim {n}.[^{n}]\n\n" for n in range(5001))
     + "".join(f"[^{n}]: Note {n}.\n" for n in range(5001)), "5,001 notes in one essay", None),
])
def test_an_essay_past_a_bound_is_one_error_not_a_hang(
        tmp_path: Path, essay: str, message: str, line: int | None) -> None:
    from .test_essay_sources import small_book

    manifest = small_book(tmp_path, essay)
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"),
                     "--timeout", "60")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert message in result.stderr, result.stderr[-400:]
    where = "essay.md" if line is None else f"essay.md:{line}"
    assert where in result.stderr and "hint:" in result.stderr


def test_a_supervised_build_leaves_nothing_in_the_temporary_folder(tmp_path: Path) -> None:
    """WeasyPrint writes the shipped fonts into a folder of TMPDIR (18 MB) and removes it only
    when its font configuration is collected; the supervised build ends with os._exit, so every
    PDF built left one behind (3,785 of them had filled 63 GB of a machine's /tmp)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "pdf", "--quiet",
                             "--book", str(BUNDLED), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TMPDIR": str(temporary)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "defence-diplomacy-briefing.pdf").is_file()
    assert list(temporary.iterdir()) == []


def test_an_edition_whose_name_is_taken_by_a_folder_is_named_and_nothing_replaced(
        tmp_path: Path) -> None:
    """`build/<slug>.html` a folder: the error named the build's vanished temporary file
    ('.defence-diplomacy-briefing.html.k3x9q2ab.part: Is a directory'). It names the edition's
    file, and no other edition of the build is replaced."""
    out = tmp_path / "out"
    (out / "defence-diplomacy-briefing.html").mkdir(parents=True)
    (out / "defence-diplomacy-briefing.epub").write_bytes(b"the last good EPUB")
    result = run_cli("build", "epub", "html", "--book", str(BUNDLED), "--out", str(out))
    assert result.returncode == 1, result.stderr
    assert f"{out / 'defence-diplomacy-briefing.html'}: error: 'defence-diplomacy-briefing" \
        ".html' is a folder, where the build writes an edition" in result.stderr, result.stderr
    assert ".part" not in result.stderr
    assert (out / "defence-diplomacy-briefing.epub").read_bytes() == b"the last good EPUB"
    assert not list(out.glob(".*.part"))


def test_the_watcher_forks_before_it_loads_chapbook() -> None:
    """The `chapbook` command's watcher stays beside the build for the whole of it, holding what
    it loaded before it forked (13 MiB of the booklet's 148, when it forked after parsing the
    options): it loads no module of chapbook's but its own, and of the standard library only
    those its own few imports bring."""
    script = ("import sys; before = set(sys.modules); import chapbook.watcher; "
              "print(' '.join(sorted(set(sys.modules) - before)))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout.split()
    assert set(loaded) <= {"chapbook", "chapbook.watcher", "chapbook.bounds", "contextlib",
                           "select", "signal", "time", "collections", "functools", "keyword",
                           "operator", "reprlib", "itertools", "_collections", "_functools",
                           "_operator", "__future__", "enum", "types"}, loaded
    assert "chapbook.watcher" in loaded


def _held_at_its_start(arguments: list[str]) -> tuple[subprocess.Popen[str], list[int]]:
    """`chapbook ARGUMENTS` as installed, and its build (the watcher's child) held with SIGSTOP
    as soon as it is forked: before it has loaded chapbook or parsed its options."""
    process = subprocess.Popen([sys.executable, "-m", "chapbook", *arguments],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    while process.poll() is None and not children.read_text().split():
        time.sleep(0.002)
    held = [int(child) for child in children.read_text().split()] \
        if process.poll() is None else []
    for child in held:
        os.kill(child, signal.SIGSTOP)
    return process, held

@pytest.mark.parametrize("option", [["--max-memory", "1.5"], ["--max-memory=abc"],
                                    ["--timeout", "-5"]])
def test_a_limit_the_command_line_refuses_is_no_limit_before_it_is_parsed(
        option: list[str], tmp_path: Path) -> None:
    """The watcher applies the limits it reads from the command line until the build has parsed
    them (watcher.py): one the command line refuses must not apply meanwhile. `--max-memory 1.5`
    was read as 1 MiB, and a build slow to start (a fresh clone compiling its modules) was killed
    for its memory before it could say the number was not whole. Here the build is held for
    half a second as soon as it is forked."""
    process, held = _held_at_its_start(["build", "html", "--book", str(BUNDLED), "--out",
                                        str(tmp_path / "out"), *option])
    time.sleep(0.5)  # ten of the watcher's looks
    for child in held:
        os.kill(child, signal.SIGCONT)
    _, stderr = process.communicate(timeout=120)
    assert held and process.returncode == 2, stderr
    assert f"argument {option[0].partition('=')[0]}" in stderr and "limit" not in stderr


@pytest.mark.parametrize(("signal_number", "status"), [(signal.SIGINT, 130),
                                                       (signal.SIGTERM, 143)])
def test_a_build_stopped_as_it_starts_says_so_without_a_traceback(
        signal_number: int, status: int, tmp_path: Path) -> None:
    """Ctrl-C (or SIGTERM) while the build is still loading chapbook, before the command line
    catches it: the watcher's child printed KeyboardInterrupt's traceback and exited 1. Here the
    build is held as soon as it is forked, given the signal and let go, and given it again every
    50 ms until it ends: a signal that reaches the child while it is still inside os.fork() is
    dropped by Python's own after-fork reset, so the first may be lost."""
    process, held = _held_at_its_start(["build", "pdf", "--book", str(BUNDLED), "--out",
                                        str(tmp_path / "out")])
    for child in held:
        os.kill(child, signal_number)
        os.kill(child, signal.SIGCONT)
    while held and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(held[0], signal_number)
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=120)
    assert held and process.returncode == status, stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "out" / "defence-diplomacy-briefing.pdf").exists()
