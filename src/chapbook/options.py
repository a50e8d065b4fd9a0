"""What a build is asked to do, in one typed object: the one way an option reaches a builder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

EDITIONS = ("html", "pdf", "epub", "booklet", "print", "docx")
DEFAULT_EDITIONS = ("html", "pdf", "epub")  # what `chapbook build` and `build all` make

# Words of body text per piece of a long PDF written in parallel: about fifteen A5 pages. The
# piece cache keeps a long book's pieces, so after one essay changes its piece alone is laid out
# again: the smaller the piece, the less of it (the 200-chapter book's piece of one changed essay:
# 8.1 s for the whole build at 5,000 words, 15.0 s at 20,000, the build from nothing no slower);
# combining merges the pieces' font subsets. A shorter book is one piece.
PIECE_WORDS = 5_000


def parallel_jobs() -> int:
    """The default --jobs, where fork exists: a long book is laid out by jobs + 1 workers
    (layout/parallel.py), one per core this process may run on; on one core, none beside it
    (two workers taking turns on one core only add the cost of combining their pieces)."""
    if not hasattr(os, "fork"):
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    return max(0, cores - 1)


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build is asked to do."""

    manifest: Path
    out: Path = Path("build")
    editions: tuple[str, ...] = DEFAULT_EDITIONS
    creep_mm: float = 0.0  # booklet: how much further each sheet's pages move than the one inside
    jobs: int | None = None  # a long book's PDF is laid out and written by jobs + 1 forked
    #                          processes; None: one per spare core, 0: all in this process
    piece_words: int = PIECE_WORDS  # words of body text in each piece those processes write
    signature_sheets: int | None = None  # booklet: sheets folded together; None: by length

    @property
    def cache(self) -> Path:
        return self.out / ".cache"
