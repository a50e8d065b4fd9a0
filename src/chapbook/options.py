"""What a build is asked to do, in one typed object: the one way an option reaches a builder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EDITIONS = ("html", "pdf", "epub", "booklet", "print")
DEFAULT_EDITIONS = ("html", "pdf", "epub")  # what `chapbook build` and `build all` make


@dataclass(frozen=True)
class BuildOptions:
    """Everything a build is asked to do."""

    manifest: Path
    out: Path = Path("build")
    editions: tuple[str, ...] = DEFAULT_EDITIONS
    creep_mm: float = 0.0  # booklet: how much further each sheet's pages move than the one inside
    jobs: int | None = None  # processes writing a long book's PDF beside the layout; None: one
    #                          per spare core, 0: none

    @property
    def cache(self) -> Path:
        return self.out / ".cache"
