"""Bounds on a build: a wall-clock limit and a memory limit, and errors that name the essay
being worked on when one is exceeded."""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from chapbook.errors import BookError

DEFAULT_TIMEOUT_S = 900
DEFAULT_MEMORY_MIB = 6144


class BuildTimeout(Exception):
    """The build's time limit passed."""


@contextlib.contextmanager
def bounded(seconds: float | None, megabytes: int | None) -> Iterator[None]:
    """Run the build under a wall-clock limit (SIGALRM) and an address-space limit."""
    previous_limit = resource.getrlimit(resource.RLIMIT_AS)
    if megabytes:
        soft = megabytes * 1024 * 1024
        hard = previous_limit[1]
        resource.setrlimit(resource.RLIMIT_AS, (soft if hard == resource.RLIM_INFINITY
                                                else min(soft, hard), hard))

    def expire(signum: int, frame: FrameType | None) -> None:
        raise BuildTimeout

    previous_handler = signal.signal(signal.SIGALRM, expire) if seconds else None
    if seconds:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_handler)
        if megabytes:
            resource.setrlimit(resource.RLIMIT_AS, previous_limit)


@contextlib.contextmanager
def blame(source: Path, what: str) -> Iterator[None]:
    """Turn an exceeded bound into an error that names the essay being worked on."""
    try:
        yield
    except BuildTimeout:
        raise BookError(f"the build ran out of time while {what}", source,
                        hint="something very large or deeply nested may be to blame; shorten "
                             "it, or raise the limit with --timeout SECONDS") from None
    except MemoryError:
        raise BookError(f"the build ran out of memory while {what}", source,
                        hint="something very large may be to blame; shorten it, or raise the "
                             "limit with --max-memory MIB") from None


