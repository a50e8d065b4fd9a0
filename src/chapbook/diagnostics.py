"""Findings as data: warnings and notes gathered during a build or a check, printed as
`file:line: level: message` and counted."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


def display_path(path: Path | str) -> str:
    """A path as the author typed it: relative to the working folder when below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str
    message: str
    path: Path | str | None = None
    line: int | None = None
    column: int | None = None  # where known, as in a build's errors: file:line:column

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = display_path(self.path)
            if self.line:
                where += f":{self.line}" + (f":{self.column}" if self.column else "")
            where += ": "
        return f"{where}{self.level.value}: {self.message} [{self.code}]"


@dataclass
class Diagnostics:
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: Level, code: str, message: str,
            path: Path | str | None = None, line: int | None = None,
            column: int | None = None) -> None:
        finding = Finding(level, code, message, path, line, column)
        if finding not in self.findings:
            self.findings.append(finding)

    def add_all(self, findings: Iterable[Finding]) -> None:
        """Findings made elsewhere (a worker, the cache, a layout tried first), each once."""
        for finding in findings:
            if finding not in self.findings:
                self.findings.append(finding)

    def as_data(self) -> list[list[Any]]:
        """The findings as JSON's values, for a forked process to send the one that forked it
        (add_data reads them back, as untrusted data)."""
        return [[f.level.name, f.code, f.message, None if f.path is None else str(f.path),
                 f.line, f.column] for f in self.findings]

    def add_data(self, data: list[Any]) -> None:
        """Findings as_data wrote, each once."""
        for level, code, message, path, line, column in data:
            self.add(Level[level], str(code), str(message),
                     None if path is None else str(path),
                     line if isinstance(line, int) else None,
                     column if isinstance(column, int) else None)

    @contextlib.contextmanager
    def apart(self) -> Iterator[list[Finding]]:
        """The findings made inside, every one (a repeat of an earlier finding too), in the list
        it gives; added to these once it is left, each once. What a piece of the book found,
        to keep with it in the cache."""
        earlier, self.findings = self.findings, []
        try:
            yield self.findings
        finally:
            made, self.findings = self.findings, earlier
            self.add_all(made)

    def warn(self, code: str, message: str, path: Path | str | None = None,
             line: int | None = None) -> None:
        self.add(Level.WARNING, code, message, path, line)

    def note(self, code: str, message: str, path: Path | str | None = None,
             line: int | None = None) -> None:
        self.add(Level.NOTE, code, message, path, line)

    def count(self, level: Level) -> int:
        return sum(1 for f in self.findings if f.level is level)

    def in_reading_order(self) -> list[Finding]:
        """The findings file by file, in the order the files were first named, and in each by
        line: each check of an essay runs over it whole, so they come line 7, 3, 9, 7, 5."""
        files: dict[str, int] = {}
        for finding in self.findings:
            files.setdefault(str(finding.path), len(files))
        return sorted(self.findings, key=lambda f: (files[str(f.path)], f.line or 0,
                                                    f.column or 0))
