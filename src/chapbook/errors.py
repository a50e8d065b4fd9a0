"""The one error type for a user's mistake: it names the file, the line and the remedy.

Anything else that escapes is a bug in chapbook and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class BookError(Exception):
    """A mistake in the book's sources that stops the build."""

    message: str
    path: Path | str | None = None
    line: int | None = None
    column: int | None = None
    hint: str | None = None

    def location(self) -> str:
        if self.path is None:
            return ""
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: error: {self.message}" if where else f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class BookErrors(Exception):
    """Several mistakes found in one pass, reported together so the author fixes them at once."""

    def __init__(self, errors: list[BookError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def raise_all(errors: list[BookError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise BookErrors(errors)
