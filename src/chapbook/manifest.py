"""book.yml → Manifest: a declared schema, every mistake reported with its file and line.

The YAML is composed into nodes (PyYAML's safe composer) rather than loaded, so that every value
keeps the mark of where it stands in book.yml; all values are validated before anything is read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from chapbook.errors import BookError, raise_all

FRONT_MATTER_KINDS = ("cover", "half-title", "title", "imprint", "contents")
BACK_MATTER_KINDS = ("glossary", "index")
PAGE_SIZES = {"a4": "A4", "a5": "A5", "a6": "A6", "b5": "B5", "letter": "letter",
              "legal": "legal"}
_CUSTOM_SIZE = re.compile(r"^\d+(\.\d+)?(mm|cm|in|pt)\s+\d+(\.\d+)?(mm|cm|in|pt)$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


@dataclass(frozen=True)
class Metadata:
    title: str
    author: str
    language: str
    identifier: str
    date: str
    subtitle: str = ""
    publisher: str = ""
    edition: str = ""
    rights: str = ""
    description: str = ""
    subjects: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    colophon: str = ""


@dataclass(frozen=True)
class ChapterSpec:
    source: Path
    line: int
    title: str | None = None
    running_head: str | None = None
    key_points: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartSpec:
    title: str
    line: int
    intro: str = ""
    chapters: tuple[ChapterSpec, ...] = ()


@dataclass(frozen=True)
class Manifest:
    path: Path
    root: Path
    slug: str
    metadata: Metadata
    page_size: str
    front_matter: tuple[str, ...]
    parts: tuple[PartSpec, ...]
    back_matter: tuple[str, ...]
    glossary: Path | None = None
    index: Path | None = None
    chapters: tuple[ChapterSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chapters",
                           tuple(c for part in self.parts for c in part.chapters))


# --- the declared schema -------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One key of a mapping: how to read its node, whether it must be there, what it is for."""

    read: Callable[[_Reader, yaml.Node, str], Any]
    required: bool = False
    example: str = ""


class _Reader:
    """Walks the composed YAML, collecting every mistake instead of stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[BookError] = []

    def error(self, node: yaml.Node | None, message: str, hint: str | None = None) -> None:
        line = column = None
        if node is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.errors.append(BookError(message, self.path, line, column, hint))

    def mapping(self, node: yaml.Node, where: str, keys: dict[str, Key]) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{where or 'the manifest'} should be a mapping of keys to values",
                       f"write it as `key: value` lines; the keys it takes: {', '.join(keys)}")
            return {}
        values: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            if name not in keys:
                close = difflib.get_close_matches(name, keys, n=1)
                hint = (f"did you mean '{close[0]}'?" if close
                        else f"the keys it takes: {', '.join(keys)}")
                self.error(key_node, f"unknown key '{name}' in {where or 'the manifest'}", hint)
                continue
            if name in values:
                self.error(key_node, f"'{name}' is given twice in {where or 'the manifest'}",
                           "keep one of them")
                continue
            values[name] = keys[name].read(self, value_node, f"{where}.{name}" if where else name)
            values[f"{name}@node"] = value_node
        for name, key in keys.items():
            if key.required and name not in values:
                self.error(node, f"{where or 'the manifest'} has no '{name}'",
                           f"add it, for example `{name}: {key.example}`")
        return values


def _text(reader: _Reader, node: yaml.Node, where: str) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        reader.error(node, f"{where} should be a text value",
                     'write it on the same line after the colon, in quotes if it contains ": "')
        return None
    value = str(node.value).strip()
    if not value:
        reader.error(node, f"{where} is empty", "give it a value or remove the key")
        return None
    return value


def _text_list(reader: _Reader, node: yaml.Node, where: str) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        reader.error(node, f"{where} should be a list", f"write it as [{node.value}]")
        return ()
    if not isinstance(node, yaml.SequenceNode):
        reader.error(node, f"{where} should be a list of text values",
                     "write it as `[one, two]` or as `- item` lines")
        return ()
    items = (_text(reader, item, f"{where}[{i + 1}]") for i, item in enumerate(node.value))
    return tuple(item for item in items if item)


def _list_of(keys: dict[str, Key]) -> Callable[[_Reader, yaml.Node, str], list[dict[str, Any]]]:
    def read(reader: _Reader, node: yaml.Node, where: str) -> list[dict[str, Any]]:
        if not isinstance(node, yaml.SequenceNode):
            reader.error(node, f"{where} should be a list", "write each entry as a `- ` line")
            return []
        entries = []
        for i, item in enumerate(node.value):
            entry = reader.mapping(item, f"{where}[{i + 1}]", keys)
            entry["@line"] = item.start_mark.line + 1
            entry["@node"] = item
            entries.append(entry)
        return entries
    return read


def _struct(keys: dict[str, Key]) -> Callable[[_Reader, yaml.Node, str], dict[str, Any]]:
    def read(reader: _Reader, node: yaml.Node, where: str) -> dict[str, Any]:
        return reader.mapping(node, where, keys)
    return read


METADATA_KEYS = {
    "title": Key(_text, True, '"Defence Diplomacy"'),
    "subtitle": Key(_text),
    "author": Key(_text, True, '"The Editorial Board"'),
    "publisher": Key(_text),
    "language": Key(_text, True, "en-GB"),
    "identifier": Key(_text, True, "urn:uuid:…"),
    "date": Key(_text, True, "2026-11-24"),
    "edition": Key(_text),
    "rights": Key(_text),
    "description": Key(_text),
    "subjects": Key(_text_list),
    "keywords": Key(_text_list),
    "colophon": Key(_text),
}
CHAPTER_KEYS = {
    "file": Key(_text, True, "essays/my-essay.md"),
    "title": Key(_text),
    "running_head": Key(_text),
    "key_points": Key(_text_list),
}
PART_KEYS = {
    "title": Key(_text, True, '"Part title"'),
    "intro": Key(_text),
    "chapters": Key(_list_of(CHAPTER_KEYS), True, "[{file: essays/my-essay.md}]"),
}
BOOK_KEYS = {
    "slug": Key(_text),
    "metadata": Key(_struct(METADATA_KEYS), True, "{title: …, author: …}"),
    "page_size": Key(_text),
    "front_matter": Key(_text_list),
    "parts": Key(_list_of(PART_KEYS), True, "[{title: …, chapters: […]}]"),
    "back_matter": Key(_text_list),
    "glossary": Key(_text),
    "index": Key(_text),
}


# --- from values to the Manifest ----------------------------------------------------------

def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "book"


def _book_path(reader: _Reader, root: Path, raw: str, node: yaml.Node, what: str,
               must_exist: bool = True) -> Path | None:
    """A path from book.yml, relative to it and confined to the book's folder."""
    candidate = Path(raw)
    if candidate.is_absolute() or raw.startswith("~"):
        reader.error(node, f"{what} '{raw}' is an absolute path",
                     "give the path relative to book.yml, inside the book's folder")
        return None
    resolved = (root / candidate).resolve()
    if not resolved.is_relative_to(root.resolve()):
        reader.error(node, f"{what} '{raw}' points outside the book's folder",
                     "keep every file of the book in the folder of book.yml or below it")
        return None
    if must_exist and not resolved.is_file():
        siblings = [p.name for p in resolved.parent.glob("*")] if resolved.parent.is_dir() else []
        close = difflib.get_close_matches(resolved.name, siblings, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "check the file name and folder"
        reader.error(node, f"{what} '{raw}' does not exist", hint)
        return None
    return resolved


def _kinds(reader: _Reader, values: dict[str, Any], key: str, allowed: tuple[str, ...],
           default: tuple[str, ...]) -> tuple[str, ...]:
    if key not in values:
        return default
    kinds = values[key]
    for kind in kinds:
        if kind not in allowed:
            reader.error(values[f"{key}@node"], f"'{kind}' is not a kind of {key}",
                         f"use some of: {', '.join(allowed)}")
    return tuple(k for k in kinds if k in allowed)


def _metadata(reader: _Reader, values: dict[str, Any]) -> Metadata | None:
    meta = values.get("metadata") or {}
    node = values.get("metadata@node")
    if "language" in meta and meta["language"] and not _LANGUAGE.match(meta["language"]):
        reader.error(meta["language@node"], f"'{meta['language']}' is not a language tag",
                     "use a BCP 47 tag such as en, en-GB, ar or zh-Hans")
    if meta.get("date"):
        try:
            date.fromisoformat(meta["date"])
        except ValueError:
            reader.error(meta["date@node"], f"'{meta['date']}' is not a date",
                         "write it as YYYY-MM-DD, e.g. 2026-11-24")
    plain = {k: v for k, v in meta.items() if "@" not in k and v is not None}
    if node is None or any(k not in plain for k, key in METADATA_KEYS.items() if key.required):
        return None
    return Metadata(**plain)


def _page_size(reader: _Reader, values: dict[str, Any]) -> str:
    raw = values.get("page_size") or "A5"
    if raw.lower() in PAGE_SIZES:
        return PAGE_SIZES[raw.lower()]
    if _CUSTOM_SIZE.match(raw):
        return raw
    reader.error(values.get("page_size@node"), f"'{raw}' is not a page size",
                 f"use one of {', '.join(PAGE_SIZES.values())} or a width and height such as "
                 "'140mm 216mm'")
    return "A5"


def _parts(reader: _Reader, values: dict[str, Any], root: Path) -> list[PartSpec]:
    parts: list[PartSpec] = []
    seen: dict[Path, int] = {}
    if "parts" in values and not values["parts"]:
        reader.error(values["parts@node"], "the book has no parts",
                     "add at least one part with one chapter: "
                     "`parts: [{title: …, chapters: [{file: essays/….md}]}]`")
    for part in values.get("parts", []):
        chapters: list[ChapterSpec] = []
        if "chapters" in part and not part["chapters"]:
            reader.error(part["@node"], f"part '{part.get('title', '?')}' has no chapters",
                         "add a chapter (`- file: essays/….md`) or remove the part")
        for chapter in part.get("chapters", []):
            if not chapter.get("file"):
                continue
            source = _book_path(reader, root, chapter["file"], chapter["file@node"], "essay")
            if source is None:
                continue
            if source in seen:
                reader.error(chapter["file@node"],
                             f"essay '{chapter['file']}' is already a chapter "
                             f"(line {seen[source]})",
                             "each essay can be in the book once; remove one of the entries")
                continue
            seen[source] = chapter["@line"]
            chapters.append(ChapterSpec(source, chapter["@line"], chapter.get("title"),
                                        chapter.get("running_head"),
                                        chapter.get("key_points", ())))
        if part.get("title"):
            parts.append(PartSpec(part["title"], part["@line"], part.get("intro") or "",
                                  tuple(chapters)))
    return parts


def load_manifest(path: Path) -> Manifest:
    """Read and validate book.yml; raise BookError (or BookErrors) naming every mistake."""
    path = Path(path)
    if not path.is_file():
        raise BookError(f"there is no manifest at '{path}'", hint="pass the book's manifest "
                        "with --book, e.g. --book book/book.yml")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise BookError("the manifest is not UTF-8 text", path,
                        hint="save book.yml as UTF-8") from err
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or "invalid YAML"
        raise BookError(f"this is not valid YAML: {problem}", path,
                        mark.line + 1 if mark else None, mark.column + 1 if mark else None,
                        "check the indentation and quote values that contain ': ' or '#'") from err
    except yaml.YAMLError as err:
        raise BookError(f"this is not valid YAML: {err}", path) from err
    if node is None:
        raise BookError("the manifest is empty", path, 1,
                        hint="start from the manifest in the README's 'Make your own book'")

    reader = _Reader(path)
    values = reader.mapping(node, "", BOOK_KEYS)
    root = path.parent
    metadata = _metadata(reader, values)
    page_size = _page_size(reader, values)
    front = _kinds(reader, values, "front_matter", FRONT_MATTER_KINDS,
                   ("cover", "title", "imprint", "contents"))
    back = _kinds(reader, values, "back_matter", BACK_MATTER_KINDS, ("glossary", "index"))
    parts = _parts(reader, values, root)
    slug = values.get("slug") or (slugify(metadata.title) if metadata else "book")
    if not _SLUG.match(slug):
        reader.error(values.get("slug@node"), f"'{slug}' is not a usable slug",
                     "use lower-case letters, digits and hyphens, e.g. my-briefing")
    extra: dict[str, Path | None] = {}
    for key in ("glossary", "index"):
        raw = values.get(key)
        extra[key] = (_book_path(reader, root, raw, values[f"{key}@node"], f"the {key} file")
                      if raw else None)
    raise_all(reader.errors)
    assert metadata is not None  # a missing field was reported above
    return Manifest(path=path, root=root, slug=slug, metadata=metadata, page_size=page_size,
                    front_matter=front, parts=tuple(parts), back_matter=back,
                    glossary=extra["glossary"], index=extra["index"])
