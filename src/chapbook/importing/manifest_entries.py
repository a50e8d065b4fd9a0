"""`chapbook import --add`: the imported essays named in book.yml, as an author would add them
by hand: a `- file:` line after the last chapter of the book (of its last part, if it has
parts), the rest of the file, comments and all, as it was. The edited manifest must load and
name the new essays, or it is put back as it was."""

from __future__ import annotations

from pathlib import Path, PurePath

import yaml

from chapbook.errors import BookError, BookErrors
from chapbook.read.manifest import load_manifest
from chapbook.schema import compose_bounded


def _last_chapters_list(text: str, path: Path) -> yaml.SequenceNode:
    """The `chapters:` list new chapters go into: the book's own, or its last part's."""
    root = compose_bounded(text)
    def value(node: yaml.Node | None, key: str) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for name, item in node.value:
                if name.value == key:
                    return item  # type: ignore[no-any-return]
        return None
    chapters = value(root, "chapters")
    parts = value(root, "parts")
    if isinstance(parts, yaml.SequenceNode) and parts.value:
        chapters = value(parts.value[-1], "chapters")
    if not isinstance(chapters, yaml.SequenceNode) or not chapters.value \
            or chapters.flow_style:
        raise BookError("chapbook cannot tell where to add the essays in this manifest", path,
                        hint="add them to a `chapters:` list yourself: - file: essays/NAME.md")
    return chapters


def add_chapters(manifest_path: Path, essays: list[PurePath]) -> None:
    original = manifest_path.read_text("utf-8")
    chapters = _last_chapters_list(original, manifest_path)
    last = chapters.value[-1]
    indent = " " * chapters.start_mark.column
    lines = original.splitlines(keepends=True)
    end = last.end_mark.line + (1 if last.end_mark.column else 0)  # the line after the entry
    while end > 0 and not lines[end - 1].strip():
        end -= 1  # blank lines and the next key stay after the new entries
    if end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    entries = [f"{indent}- file: {essay.as_posix()}\n" for essay in essays]
    manifest_path.write_text("".join([*lines[:end], *entries, *lines[end:]]), "utf-8")
    try:
        manifest = load_manifest(manifest_path)
        named = {spec.source.resolve() for spec in manifest.chapters}
        if not all((manifest.root / essay).resolve() in named for essay in essays):
            raise BookError("the essays were not added where chapbook expected", manifest_path)
    except (BookError, BookErrors):
        manifest_path.write_text(original, "utf-8")
        raise BookError("adding the essays to the manifest failed; it is left as it was",
                        manifest_path, hint="add them to a `chapters:` list yourself: "
                                            "- file: essays/NAME.md") from None
