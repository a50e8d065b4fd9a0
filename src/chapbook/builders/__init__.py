"""Builders only write the Book: one module per edition, and a registry that finds each."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.model.book import Book

if TYPE_CHECKING:
    from chapbook.model.pages import Layouts
    from chapbook.options import BuildOptions

# A builder writes one edition of the Book; `Layouts` carries the layouts this build has made,
# for the editions that share one.
Builder = Callable[[Book, "BuildOptions", Diagnostics, "Layouts"], Path]


_BUILDERS = {"html": "html:build_html", "pdf": "pdf:build_pdf", "epub": "epub:build_epub",
             "booklet": "booklet:build_booklet", "print": "pdf:build_print",
             "docx": "docx:build_docx"}


def builder(edition: str) -> Builder:
    """The builder of one edition, imported when asked for: an EPUB or HTML build need not load
    the typesetter."""
    module, function = _BUILDERS[edition].split(":")
    return getattr(importlib.import_module(f"chapbook.builders.{module}"), function)


# What each edition writes into the output folder, by the book's slug.
OUTPUT_NAMES = {"html": "{slug}.html", "pdf": "{slug}.pdf", "epub": "{slug}.epub",
                "booklet": "{slug}-booklet.pdf", "print": "{slug}-print.pdf",
                "docx": "{slug}.docx"}


def refuse_writing_over_sources(book: Book, out: Path, editions: list[str]) -> None:
    """No output may replace a file the book reads (an essay called `<slug>.html` in a folder
    given as --out, say): stop before anything is written."""
    manifest = book.manifest
    sources = {path.resolve(): path for path in (
        manifest.path, manifest.glossary, manifest.index,
        *(chapter.source for chapter in book.chapters),
        *(manifest.root / image for chapter in book.chapters for image in chapter.images))
        if path is not None}
    for edition in editions:
        target = (out / OUTPUT_NAMES[edition].format(slug=book.slug)).resolve()
        if target in sources:
            raise BookError(f"the {edition} edition would be written over this file, which "
                            "the book reads",
                            sources[target], hint="give --out a folder that holds none of "
                            "the book's files, such as --out build")
    cache = (out / ".cache").resolve()
    inside = [path for path in sources if path.is_relative_to(cache)]
    if inside:
        raise BookError("the book's files are inside the build cache, which builds replace",
                        sources[inside[0]], hint="move them, or give --out another folder")
