"""Bounds on a build: a wall-clock limit and a memory limit, enforced from outside the build.

The build runs in a forked child; this process watches its clock and the memory of the child and
of the writers it forks, and kills them all when a limit passes. Exceptions raised inside the
build by a signal (as this module once did) overshoot, are swallowed by `except` blocks and
finalizers, and abort native code (pikepdf's import, Pango) midway; SIGKILL from outside cannot
be caught, and the child's temporary outputs are swept here afterwards. The child tells the
watcher what it is working on (`blame`), so the error still names the essay."""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from chapbook.errors import BookError

DEFAULT_TIMEOUT_S = 900
DEFAULT_MEMORY_MIB = 6144
POLL_S = 0.05  # how often the watcher looks: a runaway build passes a limit by at most this

_report_fd: int | None = None  # in the build child: the pipe to the watcher
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
    _to_watcher(f"{os.getpid()}\tfolder\t{folder}")


@contextlib.contextmanager
def blame(source: Path, what: str) -> Iterator[None]:
    """Say what the build is doing, so that a limit passed in it names this essay."""
    _stack.append(f"{source}\t{' '.join(what.split())}")
    _tell_watcher()
    try:
        yield
    finally:
        _stack.pop()
        _tell_watcher()


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(child) for child in f.read().split()]
    return found


def _tree(pid: int) -> list[int]:
    """The process and every process below it."""
    tree, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        tree.append(current)
        waiting += _children(current)
    return tree


def _resident(pid: int) -> int:
    """A process's resident size; 0 once it is gone. Cheap: read at every look."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _proportional(pid: int) -> int:
    """A process's proportional set size: its shared pages divided among the processes sharing
    them, so pages a forked writer shares with the build count once. Dearer (milliseconds for a
    large process), so read only when the resident sizes add up to more than the limit."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _resident(pid)


def _over(pids: list[int], limit: int) -> bool:
    return sum(map(_resident, pids)) > limit and sum(map(_proportional, pids)) > limit


def _exceeded(what: str, doing: str, limit: str, option: str) -> BookError:
    source, _, task = doing.partition("\t")
    return BookError(f"the build {what} its limit of {limit}"
                     + (f" while {task}" if task else ""), Path(source) if source else None,
                     hint=("something very large or deeply nested may be to blame; shorten it, "
                           f"or raise the limit with {option}"))


def supervised(seconds: float | None, megabytes: int | None, run: Callable[[], int],
               after_kill: Callable[[], None]) -> int:
    """Run `run()` in a forked child under the limits and return its exit status. When a limit
    passes, the child and its writers are killed, `after_kill` tidies what they left, and the
    error names what the child was doing."""
    if not (seconds or megabytes) or not hasattr(os, "fork") or not os.path.isdir("/proc"):
        return run()
    global _report_fd
    reader, writer = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        os.close(reader)
        die_with_parent()
        signal.signal(signal.SIGTERM, _terminate)
        _report_fd = writer
        status = 1
        try:
            status = run()
        except BaseException:  # only --debug lets an error through: its traceback, as asked
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    os.close(writer)
    # Ctrl-C reaches the child from the terminal, and the child reports it; a SIGTERM sent to
    # this process alone is passed on, so the child is never left behind.
    previous = {signal.SIGINT: signal.signal(signal.SIGINT, signal.SIG_IGN),
                signal.SIGTERM: signal.signal(signal.SIGTERM,
                                              lambda *_: os.kill(child, signal.SIGTERM))}
    try:
        return _watch(child, reader, seconds, megabytes, after_kill)
    finally:
        os.close(reader)
        for number, handler in previous.items():
            signal.signal(number, handler)


def _watch(child: int, reader: int, seconds: float | None, megabytes: int | None,
           after_kill: Callable[[], None]) -> int:
    deadline = time.monotonic() + seconds if seconds else None
    limit = megabytes * 1024 * 1024 if megabytes else None
    try:  # readable once the child has exited: no wait of up to POLL_S after it is done
        exited = [os.pidfd_open(child)]
    except (AttributeError, OSError):  # not Linux 5.3 or later
        exited = []
    try:
        return _watched(child, reader, exited, deadline, limit, seconds, megabytes, after_kill)
    finally:
        for descriptor in exited:
            os.close(descriptor)


def _remove(folders: set[Path]) -> None:
    """The folders a killed build told of (leaves_behind), if they are WeasyPrint's, in TMPDIR."""
    for folder in folders:
        if folder.parent == Path(tempfile.gettempdir()) and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def _to_blame(doing: dict[str, tuple[int, float, str]]) -> str:
    """What a limit passed in: of the build's processes, the work nested deepest (an essay
    within an edition) and, of those, the one begun first. In a book laid out in parallel, a
    worker that ends a chapter says so after another began the slow one."""
    if not doing:
        return "\t"
    return min(doing.values(), key=lambda work: (-work[0], work[1]))[2]


def _watched(child: int, reader: int, exited: list[int], deadline: float | None,
             limit: int | None, seconds: float | None, megabytes: int | None,
             after_kill: Callable[[], None]) -> int:
    doing: dict[str, tuple[int, float, str]] = {}  # each process's work: depth, since, what
    folders: set[Path] = set()  # the build's folders outside OUT (leaves_behind)
    pending, listening = b"", True
    while True:
        ready, _, _ = select.select(([reader] if listening else []) + exited, [], [], POLL_S)
        if reader in ready:
            chunk = os.read(reader, 65536)
            listening = bool(chunk)  # the end: the child is leaving
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                pid, depth, what = [*line.decode("utf-8", "replace").split("\t", 2), "", ""][:3]
                if depth.isdigit():
                    doing[pid] = (int(depth), time.monotonic(), what)
                elif depth == "folder" and Path(what).name.startswith("weasyprint-"):
                    folders.add(Path(what))
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            if os.WIFSIGNALED(status):  # killed from outside: the OOM killer, or a user
                after_kill()
                _remove(folders)
                number = os.WTERMSIG(status)
                print(f"error: the build was stopped by {signal.Signals(number).name} before it "
                      "finished; the outputs it had not replaced are kept\n  hint: if no one "
                      "stopped it, the machine may have run out of memory: build again with "
                      "--jobs 0, or close other programs", file=sys.stderr)
                return 128 + number
            return os.WEXITSTATUS(status)
        error = None
        if deadline is not None and time.monotonic() > deadline:
            error = _exceeded("took longer than", _to_blame(doing), f"{seconds:g} s",
                              "--timeout SECONDS")
        elif limit is not None and _over(_tree(child), limit):
            error = _exceeded("needed more memory than", _to_blame(doing),
                              f"{megabytes} MiB", "--max-memory MIB")
        if error is not None:
            for pid in reversed(_tree(child)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            os.waitpid(child, 0)
            after_kill()
            _remove(folders)
            if sys.stderr.isatty():
                sys.stderr.write("\n")  # off the child's progress line
            raise error
