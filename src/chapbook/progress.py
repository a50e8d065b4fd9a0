"""What a build tells its user while it runs: rich progress bars on a terminal (a bar per stage,
chapters while reading, pages while WeasyPrint lays them out), plain lines anywhere else, and
nothing but errors with --quiet. Ends with a summary: pages, words, files with sizes, time."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_PAGE = re.compile(r"Creating layout - Page (\d+)")


def size_of(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024:.0f} KiB" if size < 1024 * 1024 else f"{size / 1048576:.1f} MiB"


class _PageHandler(logging.Handler):
    """WeasyPrint's progress logger says which page it is laying out; the bar follows it."""

    def __init__(self, reporter: Reporter) -> None:
        super().__init__(logging.INFO)
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        if _PAGE.search(record.getMessage()):
            self.reporter.advance()


def _bars(stream: Any) -> Any:
    """rich's progress bars on `stream`, a terminal (rich is loaded only to draw them: 1.4 MiB
    that a build in a script or a Makefile has no use for)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(file=stream), transient=False)


class Reporter:
    def __init__(self, quiet: bool, stream=None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.started = time.perf_counter()
        self.fancy = not quiet and self.stream.isatty()
        self.bars = _bars(self.stream) if self.fancy else None
        self.task: int | None = None
        self.settled: int | None = None
        self.written: list[Path] = []

    def __enter__(self) -> Reporter:
        if self.bars:
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars:
            self.bars.stop()

    def line(self, message: str) -> None:
        if self.quiet:
            return
        if self.bars:
            self.bars.console.print(f"chapbook: {message}", highlight=False)
        else:
            print(f"chapbook: {message}", file=self.stream, flush=True)

    @contextlib.contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[None]:
        """One bar; plain output names the stage once."""
        if not self.bars:
            self.line(f"{description}…")
            yield
            return
        self.task = self.bars.add_task(description, total=total)
        self.settled = None
        handler = _PageHandler(self)
        logger = logging.getLogger("weasyprint.progress")
        logger.addHandler(handler)
        level = logger.level
        logger.setLevel(logging.INFO)  # setLevel, not the attribute: it clears logging's cache
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            task = self.bars.tasks[-1]
            done = self.settled or task.completed or 1
            self.bars.update(self.task, total=done, completed=done, description=description)

    def settle(self, count: int | None) -> None:
        """The count the current bar ends at: WeasyPrint lays out more pages than the PDF has
        (the front matter again with its page numbers, a blank page to copy, the back matter),
        so a bar of pages ends at the pages of the file written."""
        self.settled = count

    def advance(self, description: str | None = None) -> None:
        if self.bars and self.task is not None:
            self.bars.update(self.task, advance=1,
                             **({"description": description} if description else {}))

    def wrote(self, path: Path) -> None:
        self.written.append(path)
        if not self.bars:
            self.line(f"wrote {path} ({size_of(path)})")

    def summary(self, chapters: int, words: int, pages: int | None, warnings: int) -> None:
        if self.quiet:
            return
        elapsed = f"{time.perf_counter() - self.started:.1f} s"
        if not self.bars:
            self.line(f"done in {elapsed}, {warnings} warning(s)")
            return
        from rich.table import Table

        self.bars.stop()  # the finished bars stay above; drawn again below the table otherwise
        table = Table(title="chapbook", show_header=True, header_style="bold")
        table.add_column("file")
        table.add_column("size", justify="right")
        for path in self.written:
            table.add_row(str(path), size_of(path))
        self.bars.console.print(table)
        facts = [f"{chapters} chapters", f"{words:,} words"]
        if pages:
            facts.append(f"{pages} pages")
        self.bars.console.print(", ".join(facts) + f"; done in {elapsed}, {warnings} warning(s)",
                           highlight=False)
