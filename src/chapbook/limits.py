"""Bounds on a build, the build's side: what it tells the watcher (watcher.py) that enforces them
from outside, a wall-clock limit and a memory limit. The watcher runs the command in a forked
child; the child says which limits its options set (tell_limits) and what it is working on
(`blame`), so that an error still names the essay; forked workers die with their parent."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Iterator
from pathlib import Path

_report_fd: int | None = None  # in a watched build: the pipe to the watcher
_stack: list[str] = []  # what the build is working on, innermost last


def die_with_parent() -> None:
    """Ask the kernel to kill this process when the one that forked it dies (Linux), so that no
    forked writer outlives a killed build; then make sure that parent is not already gone."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the build where it is, so that it stops as after Ctrl-C: its workers
    stopped, its temporary files and fonts removed, the last outputs kept and said to be."""


def _terminate(*_: object) -> None:
    raise Terminated


def _to_watcher(line: str) -> None:
    """One line to the watcher, if this process has one (forked layout workers write into the
    same pipe; a line under PIPE_BUF is written whole)."""
    if _report_fd is not None:
        with contextlib.suppress(OSError):
            os.write(_report_fd, (line + "\n").encode("utf-8", "replace"))


def _tell_watcher() -> None:
    """What this process is working on: its pid, how deep its work is, and what it is."""
    _to_watcher(f"{os.getpid()}\t{len(_stack)}\t" + (_stack[-1] if _stack else "\t"))


def leaves_behind(folder: Path) -> None:
    """Tell the watcher of a folder the build makes outside the output folder (WeasyPrint's
    fonts, in TMPDIR) and removes at its end: if the build is killed, the watcher removes it."""
    _to_watcher(f"{os.getpid()}\tfolder\t{_hexed(folder)}")


@contextlib.contextmanager
def blame(source: Path, what: str) -> Iterator[None]:
    """Say what the build is doing, so that a limit passed in it names this essay."""
    _stack.append(f"{_hexed(source)}\t{' '.join(what.split())}")
    _tell_watcher()
    try:
        yield
    finally:
        _stack.pop()
        _tell_watcher()


def watched_build(report_fd: int) -> None:
    """This process is the watcher's child: tell it through `report_fd`, die with it, and stop
    as after Ctrl-C on SIGTERM."""
    global _report_fd
    die_with_parent()
    signal.signal(signal.SIGTERM, _terminate)
    _report_fd = report_fd


def tell_limits(seconds: float | None, megabytes: int | None, out: Path) -> None:
    """The limits this build's options set (none: 0), and the output folder the watcher tidies
    if it has to kill the build."""
    _to_watcher(f"{os.getpid()}\tlimits\t{seconds or 0:g}\t{megabytes or 0}\t{_hexed(out)}")


def _hexed(path: Path) -> str:
    """A path as the watcher reads it back: hex, so that a tab or a newline in it (an essay's
    name may have one) cannot split the line it is sent in."""
    return os.fsencode(path).hex()
