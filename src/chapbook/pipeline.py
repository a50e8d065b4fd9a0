"""The three phases: read everything, collect what needs the whole book, then write."""

from __future__ import annotations

from pathlib import Path

from chapbook.book import Book, Chapter, Part
from chapbook.diagnostics import Diagnostics
from chapbook.manifest import Manifest, load_manifest
from chapbook.markdown import parse_essay, slug
from chapbook.sources import read_source


def _running_head(title: str) -> str:
    """A title's main clause, short enough for a running head: the part before a colon."""
    return title.split(":", 1)[0].strip()


def read_book(manifest: Manifest, diagnostics: Diagnostics) -> Book:
    parts: list[Part] = []
    used_ids: set[str] = set()
    number = 0
    for part_number, part_spec in enumerate(manifest.parts, 1):
        part = Part(f"part-{part_number}", part_number, part_spec.title, part_spec.intro)
        for spec in part_spec.chapters:
            number += 1
            chapter_id = slug(spec.source.stem) or f"chapter-{number}"
            while chapter_id in used_ids or chapter_id.startswith("part-"):
                chapter_id = f"{chapter_id}-{number}"
            used_ids.add(chapter_id)
            source = read_source(spec.source, diagnostics)
            essay = parse_essay(source.text, chapter_id, spec.source, diagnostics)
            title = spec.title or essay.title
            if title is None:
                title = spec.source.stem.replace("-", " ").replace("_", " ").capitalize()
                diagnostics.warn("no-title", f"the essay has no `# ` title; using '{title}'",
                                 spec.source, 1)
            chapter = Chapter(chapter_id, number, title,
                              spec.running_head or _running_head(title), spec.key_points,
                              spec.source, essay, part)
            part.chapters.append(chapter)
        parts.append(part)
    return Book(manifest, parts)


def load_book(manifest_path: Path, diagnostics: Diagnostics) -> Book:
    return read_book(load_manifest(manifest_path), diagnostics)
