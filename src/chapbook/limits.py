"""Bounds on a build: a wall-clock limit and a memory limit, and errors that name the essay
being worked on when one is exceeded."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from chapbook.errors import BookError

DEFAULT_TIMEOUT_S = 900
DEFAULT_MEMORY_MIB = 6144


class BuildTimeout(Exception):
    """The build's time limit passed."""


class BuildOutOfMemory(Exception):
    """The build's memory limit was passed."""


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def bounded(seconds: float | None, megabytes: int | None) -> Iterator[None]:
    """Run the build under a wall-clock limit and a resident-memory limit.

    Memory is watched from a thread rather than capped with RLIMIT_AS: the C libraries under
    WeasyPrint (Pango, HarfBuzz, cairo) crash rather than fail cleanly when malloc is refused.
    Either limit interrupts the main thread with a signal, whose handler raises, so the error can
    name the essay being worked on."""
    main = threading.main_thread().ident
    stop = threading.Event()

    def expire(signum: int, frame: FrameType | None) -> None:
        raise BuildTimeout

    def exhausted(signum: int, frame: FrameType | None) -> None:
        raise BuildOutOfMemory

    def watch(limit: int) -> None:
        while not stop.wait(0.1):
            if _resident_bytes() > limit:
                signal.pthread_kill(main, signal.SIGUSR1)  # type: ignore[arg-type]
                return

    handlers = {}
    if seconds:
        handlers[signal.SIGALRM] = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    watcher = None
    if megabytes and os.path.exists("/proc/self/statm"):
        handlers[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, exhausted)
        watcher = threading.Thread(target=watch, args=(megabytes * 1024 * 1024,), daemon=True)
        watcher.start()
    try:
        yield
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
        if seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in handlers.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def blame(source: Path, what: str) -> Iterator[None]:
    """Turn an exceeded bound into an error that names the essay being worked on."""
    try:
        yield
    except BuildTimeout:
        raise BookError(f"the build ran out of time while {what}", source,
                        hint="something very large or deeply nested may be to blame; shorten "
                             "it, or raise the limit with --timeout SECONDS") from None
    except (MemoryError, BuildOutOfMemory):
        raise BookError(f"the build ran out of memory while {what}", source,
                        hint="something very large may be to blame; shorten it, or raise the "
                             "limit with --max-memory MIB") from None


