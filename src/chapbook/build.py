"""One build in three phases, as Sphinx's and MkDocs' builds are: read everything, collect what
needs the whole book, then write each edition. The command line, `chapbook serve` and the
benchmarks all build through `build()`."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from chapbook.builders import builder, refuse_writing_over_sources
from chapbook.builders.forked import BuiltElsewhere
from chapbook.collect import collect
from chapbook.diagnostics import Diagnostics
from chapbook.fonts import book_text_files, report_missing_glyphs
from chapbook.limits import blame
from chapbook.model.book import Book
from chapbook.model.pages import Layouts
from chapbook.model.terms import Found
from chapbook.options import EDITIONS, BuildOptions, parallel_jobs
from chapbook.read.essays import read_book
from chapbook.read.manifest import load_manifest


class Progress:
    """How a build tells its caller where it is; this one says nothing (the command line's
    Reporter draws a bar from the same calls)."""

    def stage(self, name: str, total: int | None = None) -> AbstractContextManager[object]:
        return contextlib.nullcontext()

    def advance(self, text: str) -> None:
        pass

    def read(self, book: Book) -> None:
        pass

    def written(self, edition: str, path: Path, pages: int | None) -> None:
        """`edition` is written to `path`; `pages`: a PDF's pages, if the build knows them."""


@dataclass
class Built:
    book: Book
    outputs: dict[str, Path] = field(default_factory=dict)  # edition -> file written
    page_counts: dict[str, int] = field(default_factory=dict)  # a PDF edition -> its pages


def build(options: BuildOptions, diagnostics: Diagnostics,
          progress: Progress | None = None) -> Built:
    progress = progress or Progress()
    with _fewer_collections():
        book, found = read(options, diagnostics, progress)
        collect(book, found, diagnostics)
        return write(book, options, diagnostics, progress)


# The cyclic collector's thresholds during a build (Python's are 700, 10, 10), in this process
# and the processes it forks. Parsing and laying out make objects by the hundred thousand, and
# with Python's thresholds the collector went through all of them again and again: a third of
# the time of laying out a 200-chapter book's index (7.7 s against 5.7 s with these), a tenth of
# its chapters' and of reading it (its web edition from nothing, 3.3 s against 2.9 s). What a
# layout leaves in cycles is collected once after each piece instead (layout/parallel.py's
# _let_memory_go), so a layout worker's memory stays that of the piece in hand.
COLLECTOR_THRESHOLDS = (50_000, 20, 10)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def read(options: BuildOptions, diagnostics: Diagnostics,
         progress: Progress | None = None) -> tuple[Book, Found]:
    """Phase one: the manifest, the term files and every essay, parsed (or taken from the
    cache); the terms each essay uses are found as it is parsed."""
    progress = progress or Progress()
    with blame(options.manifest, "reading the manifest"):
        manifest = load_manifest(options.manifest)
    with progress.stage("reading", total=len(manifest.chapters)):
        book, found = read_book(manifest, diagnostics, on_chapter=progress.advance,
                                cache=options.cache,
                                jobs=parallel_jobs() if options.jobs is None else options.jobs)
    refuse_writing_over_sources(book, options.out, list(options.editions))
    report_missing_glyphs(book_text_files(manifest), diagnostics,  # as `check` does
                          options.cache)
    progress.read(book)
    return book, found


def write(book: Book, options: BuildOptions, diagnostics: Diagnostics,
          progress: Progress | None = None) -> Built:
    """Phase three: each edition written from the finished Book, in the order of EDITIONS
    whatever order they were asked in: the PDF before the EPUB and the booklet, which then take
    its layout instead of laying the book out again. The web edition, which needs no layout, is
    built by a forked process meanwhile when others are asked for too (on a spare core)."""
    progress = progress or Progress()
    built = Built(book)
    layouts = Layouts()
    editions = sorted(options.editions, key=EDITIONS.index)
    with contextlib.ExitStack() as forks:
        elsewhere: dict[str, BuiltElsewhere] = {}
        if "html" in editions and len(editions) > 1 and hasattr(os, "fork") \
                and (parallel_jobs() if options.jobs is None else options.jobs) >= 1:
            elsewhere["html"] = forks.enter_context(BuiltElsewhere("html", lambda found: builder(
                "html")(book, options, found, Layouts())))
        for edition in [*(e for e in editions if e not in elsewhere), *elsewhere]:
            with progress.stage(f"building {edition}"), \
                    blame(options.manifest, f"building the {edition} edition"):
                built.outputs[edition] = elsewhere[edition].result(diagnostics) \
                    if edition in elsewhere \
                    else builder(edition)(book, options, diagnostics, layouts)
                progress.written(edition, built.outputs[edition],
                                 layouts.page_counts.get(edition))
    built.outputs = {edition: built.outputs[edition] for edition in editions}
    built.page_counts = layouts.page_counts
    return built


def load_book(manifest: Path, diagnostics: Diagnostics) -> Book:
    """The Book read and collected, without writing anything (for `check` and the tests)."""
    book, found = read_book(load_manifest(manifest), diagnostics)
    collect(book, found, diagnostics)
    return book
