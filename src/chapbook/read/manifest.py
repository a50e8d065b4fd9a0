"""book.yml → Manifest: a declared schema, every mistake reported with its file and line.

The YAML is composed into nodes (PyYAML's safe composer) rather than loaded, so that every value
keeps the mark of where it stands in book.yml; all values are validated before anything is read.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from chapbook.errors import BookError, raise_all
from chapbook.markdown.frontmatter import contributors
from chapbook.model.essay import Contributor
from chapbook.model.manifest import ChapterSpec, Manifest, Metadata, PartSpec
from chapbook.schema import (
    Key,
    Reader,
    compose,
    flag_value,
    list_of,
    struct,
    text_list,
    text_value,
    visible,
)

FRONT_MATTER_KINDS = ("cover", "half-title", "title", "imprint", "contents", "figures", "tables",
                      "contributors")
BACK_MATTER_KINDS = ("contributors", "references", "glossary", "index")
PAGE_SIZES = {"a4": "A4", "a5": "A5", "a6": "A6", "b5": "B5", "letter": "letter",
              "legal": "legal"}
_CUSTOM_SIZE = re.compile(r"^(\d+(?:\.\d+)?)(mm|cm|in|pt)\s+(\d+(?:\.\d+)?)(mm|cm|in|pt)$")
_MM = {"mm": 1.0, "cm": 10.0, "in": 25.4, "pt": 25.4 / 72}
# A page between A7 and A2 on each side: smaller ones leave no room inside the margins (the
# layout then loops over empty pages), larger ones are posters, not books.
PAGE_SIDE_MM = (74, 600)
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


METADATA_KEYS = {
    "title": Key(text_value, True, '"Defence Diplomacy"'),
    "subtitle": Key(text_value),
    "author": Key(text_value, True, '"The Editorial Board"'),
    "publisher": Key(text_value),
    "language": Key(text_value, True, "en-GB"),
    "identifier": Key(text_value, True, "urn:uuid:…"),
    "date": Key(text_value, True, "2026-11-24"),
    "edition": Key(text_value),
    "rights": Key(text_value),
    "description": Key(text_value),
    "subjects": Key(text_list),
    "keywords": Key(text_list),
    "colophon": Key(text_value),
}
CHAPTER_KEYS = {
    "file": Key(text_value, True, "essays/my-essay.md"),
    "title": Key(text_value),
    "running_head": Key(text_value),
    "key_points": Key(text_list),
    "language": Key(text_value),
    "numbered": Key(flag_value),
    "subtitle": Key(text_value),
    "abstract": Key(text_value),
    "authors": Key(lambda reader, node, where: _authors(reader, node, where)),
}
PART_KEYS = {
    "title": Key(text_value, True, '"Part title"'),
    "intro": Key(text_value),
    "chapters": Key(list_of(CHAPTER_KEYS), True, "[{file: essays/my-essay.md}]"),
}
BOOK_KEYS = {
    "slug": Key(text_value),
    "metadata": Key(struct(METADATA_KEYS), True, "{title: …, author: …}"),
    "page_size": Key(text_value),
    "front_matter": Key(text_list),
    "parts": Key(list_of(PART_KEYS)),
    "chapters": Key(list_of(CHAPTER_KEYS)),
    "appendices": Key(list_of(CHAPTER_KEYS)),
    "numbered": Key(flag_value),
    "openers": Key(text_value),
    "toc_depth": Key(text_value),
    "figure_numbering": Key(text_value),
    "running_head": Key(text_value),
    "bibliography": Key(lambda reader, node, where: _text_or_list(reader, node, where)),
    "csl": Key(text_value),
    "references": Key(text_value),
    "back_matter": Key(text_list),
    "glossary": Key(text_value),
    "index": Key(text_value),
    "exclude": Key(text_list),
}


# --- from values to the Manifest ----------------------------------------------------------

MAX_SLUG = 80  # the output names add "-booklet.pdf"; a file name may have 255 bytes


def slugify(text: str) -> str:
    """A slug from a title: ASCII, and short enough for a file name (cut at a hyphen)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return slug or "book"


def _as_saved(root: Path, relative: Path) -> Path:
    """The path as the disk spells it, where a name is the same text in another Unicode form:
    macOS saves "ó" as "o" and a combining accent, and book.yml, typed, has one character."""
    path = root
    for part in relative.parts:
        if not (path / part).exists() and path.is_dir():
            wanted = unicodedata.normalize("NFC", part)
            part = next((entry.name for entry in path.iterdir()
                         if unicodedata.normalize("NFC", entry.name) == wanted), part)
        path = path / part
    return path


def _book_path(reader: Reader, root: Path, raw: str, node: yaml.Node, what: str,
               must_exist: bool = True) -> Path | None:
    """A path from book.yml, relative to it and confined to the book's folder."""
    candidate = Path(raw)
    if candidate.is_absolute() or raw.startswith("~"):
        reader.error(node, f"{what} '{raw}' is an absolute path",
                     "give the path relative to book.yml, inside the book's folder")
        return None
    try:
        resolved = _as_saved(root, candidate).resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError on a loop
        reader.error(node, f"{what} '{raw}' is a symbolic link that leads back to itself",
                     "replace the link with the file it should point at")
        return None
    if not resolved.is_relative_to(root.resolve()):
        reader.error(node, f"{what} '{raw}' points outside the book's folder",
                     "keep every file of the book in the folder of book.yml or below it")
        return None
    if must_exist and resolved.exists() and not resolved.is_file():
        kind = "a folder" if resolved.is_dir() else "not a regular file (a pipe or a device)"
        reader.error(node, f"{what} '{raw}' is {kind}", "name a file saved on disk")
        return None
    if must_exist and not resolved.is_file():
        siblings = [p.name for p in resolved.parent.glob("*")] if resolved.parent.is_dir() else []
        close = difflib.get_close_matches(resolved.name, siblings, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "check the file name and folder"
        reader.error(node, f"{what} '{raw}' does not exist", hint)
        return None
    return resolved


def _kinds(reader: Reader, values: dict[str, Any], key: str, allowed: tuple[str, ...],
           default: tuple[str, ...]) -> tuple[str, ...]:
    if key not in values:
        return default
    kinds = values[key]
    for kind in kinds:
        if kind not in allowed:
            reader.error(values[f"{key}@node"], f"'{kind}' is not a kind of {key}",
                         f"use some of: {', '.join(allowed)}")
    return tuple(k for k in allowed if k in kinds)  # always in the order a book has them


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _metadata(reader: Reader, values: dict[str, Any]) -> Metadata | None:
    meta = values.get("metadata") or {}
    node = values.get("metadata@node")
    if "language" in meta and meta["language"] and not _LANGUAGE.match(meta["language"]):
        reader.error(meta["language@node"], f"'{meta['language']}' is not a language tag",
                     "use a BCP 47 tag such as en, en-GB, ar or zh-Hans")
    if meta.get("date"):
        try:
            if not _DATE.match(meta["date"]):  # Python reads 20261124 and 2026-W48-2 too
                raise ValueError(meta["date"])
            date.fromisoformat(meta["date"])
        except ValueError:
            reader.error(meta["date@node"], f"'{meta['date']}' is not a date",
                         "write it as YYYY-MM-DD, e.g. 2026-11-24")
    if meta.get("title") and not visible(meta["title"]):
        reader.error(meta["title@node"], "metadata.title holds only invisible characters",
                     "give the book a title a reader can see")
    identifier = meta.get("identifier") or ""
    if identifier.lower().startswith("urn:uuid:") and not _UUID.match(identifier[9:]):
        reader.error(meta["identifier@node"], f"'{identifier}' is marked as a UUID but is not "
                     "one", "write urn:uuid: and a UUID (python3 -c 'import uuid; "
                     "print(uuid.uuid4())' makes one), or use another identifier (isbn:…)")
    plain = {k: v for k, v in meta.items() if "@" not in k and v is not None}
    if node is None or any(k not in plain for k, key in METADATA_KEYS.items() if key.required):
        return None
    return Metadata(**plain)


# Each named page size's width and height in mm.
PAGE_SIZES_MM = {"A4": (210.0, 297.0), "A5": (148.0, 210.0), "A6": (105.0, 148.0),
                 "B5": (176.0, 250.0), "letter": (215.9, 279.4), "legal": (215.9, 355.6)}


def page_size_mm(size: str) -> tuple[float, float]:
    """The width and height in mm of a manifest's (checked) page size."""
    if size in PAGE_SIZES_MM:
        return PAGE_SIZES_MM[size]
    custom = _CUSTOM_SIZE.match(size)
    if custom is None:
        return PAGE_SIZES_MM["A5"]
    return float(custom[1]) * _MM[custom[2]], float(custom[3]) * _MM[custom[4]]


def _page_size(reader: Reader, values: dict[str, Any]) -> str:
    raw = values.get("page_size") or "A5"
    if raw.lower() in PAGE_SIZES:
        return PAGE_SIZES[raw.lower()]
    custom = _CUSTOM_SIZE.match(raw)
    if custom:
        sides = [float(custom[1]) * _MM[custom[2]], float(custom[3]) * _MM[custom[4]]]
        low, high = PAGE_SIDE_MM
        if all(low <= side <= high for side in sides):
            return raw
        reader.error(values.get("page_size@node"), f"a page of '{raw}' is too "
                     f"{'small' if min(sides) < low else 'large'} for a book",
                     f"give each side from {low} mm to {high} mm, such as '140mm 216mm'")
        return "A5"
    reader.error(values.get("page_size@node"), f"'{raw}' is not a page size",
                 f"use one of {', '.join(PAGE_SIZES.values())} or a width and height such as "
                 "'140mm 216mm'")
    return "A5"


def _parts(reader: Reader, values: dict[str, Any], root: Path) -> list[PartSpec]:
    """The book's groups of chapters: its parts, or its chapters (a book without parts), then
    its appendices."""
    parts: list[PartSpec] = []
    seen: dict[Path, int] = {}
    node = values.get("@node")
    if "parts" in values and "chapters" in values:
        reader.error(values["chapters@node"], "the book has both `parts:` and `chapters:`",
                     "put every chapter in a part, or remove `parts:` and list the chapters "
                     "under `chapters:` alone")
    elif "parts" not in values and "chapters" not in values:
        reader.error(node, "the manifest has no 'chapters' (or 'parts')",
                     "add the essays, for example `chapters: [{file: essays/my-essay.md}]`, "
                     "or group them in parts: `parts: [{title: …, chapters: […]}]`")
    if "parts" in values and not values["parts"]:
        reader.error(values["parts@node"], "the book has no parts",
                     "add at least one part with one chapter: "
                     "`parts: [{title: …, chapters: [{file: essays/….md}]}]`")
    for key in ("chapters", "appendices"):
        if key in values and not values[key]:
            reader.error(values[f"{key}@node"], f"`{key}:` lists nothing",
                         f"add a chapter (`- file: essays/….md`) or remove `{key}:`")
    for part in values.get("parts", []):
        if "chapters" in part and not part["chapters"]:
            reader.error(part["@node"], f"part '{part.get('title', '?')}' has no chapters",
                         "add a chapter (`- file: essays/….md`) or remove the part")
        chapters = _chapters(reader, part.get("chapters", []), root, seen)
        if part.get("title"):
            parts.append(PartSpec(part["title"], part["@line"], part.get("intro") or "",
                                  tuple(chapters)))
    for key, kind, title in (("chapters", "chapters", ""), ("appendices", "appendices",
                                                            "Appendices")):
        chapters = _chapters(reader, values.get(key, []), root, seen)
        if chapters:
            parts.append(PartSpec(title, values[f"{key}@node"].start_mark.line + 1, "",
                                  tuple(chapters), kind))
    return parts


def _chapters(reader: Reader, entries: list[dict[str, Any]], root: Path,
              seen: dict[Path, int]) -> list[ChapterSpec]:
    chapters: list[ChapterSpec] = []
    for chapter in entries:
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
        language = chapter.get("language")
        if language and not _LANGUAGE.match(language):
            reader.error(chapter["language@node"], f"'{language}' is not a language tag",
                         "use a BCP 47 tag such as ar, zh-Hans or en-GB")
            language = None
        chapters.append(ChapterSpec(source, chapter["@line"], chapter.get("title"),
                                    chapter.get("running_head"),
                                    chapter.get("key_points", ()), language,
                                    chapter.get("numbered"), chapter.get("subtitle"),
                                    chapter.get("abstract"), chapter.get("authors", ())))
    return chapters


def _authors(reader: Reader, node: yaml.Node, where: str) -> tuple[Contributor, ...]:
    """A chapter's `authors:` as its essay's front matter takes them."""
    try:
        value = yaml.safe_load(yaml.serialize(node))
    except (yaml.YAMLError, ValueError, OverflowError):
        value = None
    found, problem = contributors(value)
    if problem:
        reader.error(node, f"{where} {problem}", "write `authors: [A. Name]`, or entries such "
                     "as `- {name: A. Name, affiliation: …, bio: …, orcid: 0000-0002-…}`")
    return found


def _text_or_list(reader: Reader, node: yaml.Node, where: str) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode):
        value = text_value(reader, node, where)
        return (value,) if value else ()
    return text_list(reader, node, where)


def _bibliography(reader: Reader, values: dict[str, Any],
                  root: Path) -> tuple[tuple[Path, ...], Path | None]:
    """The bibliography files (BibTeX or CSL-JSON) and the CSL style: a file in the book's
    folder, or one of the styles chapbook ships (default: Chicago author-date)."""
    node = values.get("bibliography@node")
    files = []
    for number, raw in enumerate(values.get("bibliography", ())):
        at = node.value[number] if isinstance(node, yaml.SequenceNode) else node
        if not raw.lower().endswith((".bib", ".json")):
            reader.error(at, f"bibliography '{raw}' is neither BibTeX (.bib) nor CSL-JSON "
                         "(.json)", "export the references from Zotero or another manager as "
                         "BibTeX or CSL JSON")
            continue
        path = _book_path(reader, root, raw, at, "bibliography")
        if path is not None:
            files.append(path)
    raw_style = values.get("csl")
    if not raw_style:
        return tuple(files), (shipped_styles()["chicago-author-date"] if files else None)
    if (root / raw_style).suffix == ".csl" and (root / raw_style).exists():
        return tuple(files), _book_path(reader, root, raw_style, values["csl@node"],
                                        "citation style")
    shipped = shipped_styles().get(raw_style.removesuffix(".csl"))
    if shipped is None:
        reader.error(values["csl@node"], f"'{raw_style}' is neither a CSL file in the book's "
                     "folder nor a style chapbook ships", "give a .csl file next to book.yml, "
                     f"or one of: {', '.join(sorted(shipped_styles()))}")
    return tuple(files), shipped


def shipped_styles() -> dict[str, Path]:
    """The CSL styles in styles/csl/, by name."""
    from chapbook.resources import styles_dir

    return {path.stem: path for path in sorted((styles_dir() / "csl").glob("*.csl"))}


# Keys that take one of a few words: the words (the first is the default), what the key is,
# and what each word does.
CHOICES = {
    "openers": (("recto", "any"), "a side chapters can open on",
                "`openers: recto` (each chapter on a right-hand page, a blank page before it if "
                "need be) or `openers: any` (on the next page)"),
    "toc_depth": (("1", "2"), "a depth the contents can have",
                  "`toc_depth: 1` (chapters) or `toc_depth: 2` (chapters and their sections)"),
    "figure_numbering": (("chapter", "book"), "a way to number figures and tables",
                         "`figure_numbering: chapter` (Figure 2.1) or `figure_numbering: book` "
                         "(Figure 7)"),
    "references": (("chapter", "book"), "a place for the reference lists",
                   "`references: chapter` (a list at the end of each chapter) or `references: "
                   "book` (one list at the end of the book)"),
    "running_head": (("title", "author"), "what a running head can show",
                     "`running_head: title` (the chapter's) or `running_head: author` (its "
                     "authors'; the title for a chapter without them)"),
}


def _choice(reader: Reader, values: dict[str, Any], key: str) -> str:
    """The word given for `key`, or its default (after an error, if the word is not one of
    its own)."""
    words, what, use = CHOICES[key]
    value = values.get(key) or words[0]
    if value not in words:
        reader.error(values[f"{key}@node"], f"'{value}' is not {what}", f"use {use}")
        return words[0]
    return value


def _exclude(reader: Reader, values: dict[str, Any]) -> tuple[str, ...]:
    """Glob patterns, relative to the book's folder, of files that are not essays."""
    patterns = values.get("exclude", ())
    for number, pattern in enumerate(patterns):
        if pattern.startswith(("/", "~")) or ".." in pattern.split("/"):
            node = values["exclude@node"]
            reader.error(node.value[number] if isinstance(node, yaml.SequenceNode) else node,
                         f"exclude pattern '{pattern}' points outside the book's folder",
                         "give patterns relative to book.yml, inside the book's folder, e.g. "
                         "drafts/ or \"*.bak.md\"")
    return tuple(patterns)


def load_manifest(path: Path) -> Manifest:
    """Read and validate book.yml; raise BookError (or BookErrors) naming every mistake."""
    path = Path(path)
    if not path.is_file():
        raise BookError(f"there is no manifest at '{path}'", hint="pass the book's manifest "
                        "with --book, e.g. --book book/book.yml")
    node = compose(path, "manifest")
    reader = Reader(path)
    values = {**reader.mapping(node, "", BOOK_KEYS), "@node": node}
    root = path.parent
    metadata = _metadata(reader, values)
    page_size = _page_size(reader, values)
    front = _kinds(reader, values, "front_matter", FRONT_MATTER_KINDS,
                   ("cover", "title", "imprint", "contents"))
    back = _kinds(reader, values, "back_matter", BACK_MATTER_KINDS, ("glossary", "index"))
    parts = _parts(reader, values, root)
    slug = values.get("slug") or (slugify(metadata.title) if metadata else "book")
    if not _SLUG.match(slug) or len(slug) > MAX_SLUG:
        reader.error(values.get("slug@node"), f"'{slug[:MAX_SLUG]}' is not a usable slug",
                     f"use at most {MAX_SLUG} lower-case letters, digits and hyphens, e.g. "
                     "my-briefing")
    extra: dict[str, Path | None] = {}
    for key in ("glossary", "index"):
        raw = values.get(key)
        extra[key] = (_book_path(reader, root, raw, values[f"{key}@node"], f"the {key} file")
                      if raw else None)
    exclude = _exclude(reader, values)
    openers, toc_depth, numbering, references, running_head = (
        _choice(reader, values, key) for key in CHOICES)
    bibliography, csl = _bibliography(reader, values, root)
    if references == "book" and bibliography:  # the book's one list opens the back matter
        back = tuple(kind for kind in BACK_MATTER_KINDS if kind in back or kind == "references")
    raise_all(reader.errors)
    assert metadata is not None  # a missing field was reported above
    return Manifest(path=path, root=root, slug=slug, metadata=metadata, page_size=page_size,
                    front_matter=front, parts=tuple(parts), back_matter=back,
                    glossary=extra["glossary"], index=extra["index"], exclude=exclude,
                    numbered=values.get("numbered", True) is not False,
                    openers="any" if openers == "any" else "recto", toc_depth=int(toc_depth),
                    figure_numbering="book" if numbering == "book" else "chapter",
                    running_head="author" if running_head == "author" else "title",
                    bibliography=bibliography, csl=csl,
                    references="book" if references == "book" else "chapter")
