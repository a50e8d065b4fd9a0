"""Builders only write the Book. A registry maps each output format to its builder."""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from chapbook.book import Book
from chapbook.diagnostics import Diagnostics

Builder = Callable[[Book, Path, Diagnostics], Path]


def write_atomic(target: Path, data: bytes) -> Path:
    """Write beside the target and rename into place: a failed build leaves the last good file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.part"):  # left by a killed build
        stale.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would hide the book from others
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


_BUILDERS = {"html": "html:build_html", "pdf": "pdf:build_pdf", "epub": "epub:build_epub",
             "booklet": "booklet:build_booklet", "print": "pdf:build_print"}


def builder(edition: str) -> Builder:
    """The builder of one edition, imported when asked for: an EPUB or HTML build need not load
    the typesetter."""
    module, function = _BUILDERS[edition].split(":")
    return getattr(importlib.import_module(f"chapbook.builders.{module}"), function)
