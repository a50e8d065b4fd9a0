"""`chapbook import`: Word documents made into essays of a book. pandoc reads each document
(sandboxed: nothing fetched, nothing read but the document); pandoc_ast.py cleans what it read;
the images are checked as any essay's are and copied beside the essays; pandoc writes the
Markdown; and, with `add`, the essays join the manifest. A reviewers' edition chapbook wrote
(`chapbook build docx`) comes back as its chapters, one essay each."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.importing import pandoc_ast
from chapbook.importing.manifest_entries import add_chapters
from chapbook.importing.pandoc_ast import Essay, Findings, Node
from chapbook.markdown.rawhtml import RASTER_FORMATS, raster_problem
from chapbook.markdown.render import WORD_JOINER
from chapbook.pandoc import CHAPTER_LEVEL_PROPERTY, CHAPTERS_PROPERTY, pandoc
from chapbook.read.manifest import load_manifest, slugify

# A Word file is untrusted input: limits on what it may unpack to.
MAX_DOCX_BYTES = 100 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
MAX_ENTRIES = 20_000
CHANGE_MODES = ("refuse", "accept", "reject")


def _checked_document(path: Path) -> None:
    """A readable .docx of sane size, whose ZIP does not unpack to more than the limits."""
    if not path.is_file():
        raise BookError("no such Word document", path, hint="give the path of a .docx file")
    if path.suffix.lower() != ".docx":
        raise BookError("only Word documents (.docx) can be imported", path,
                        hint="save the file from Word as a .docx (Word Document) first")
    if path.stat().st_size > MAX_DOCX_BYTES:
        raise BookError(f"the document is larger than {MAX_DOCX_BYTES // 2**20} MiB", path,
                        hint="save its images at a smaller size, or split it")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise BookError("this is not a Word document (it is not a .docx package)", path,
                        hint="open it in Word and save it again as a .docx") from None
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
        raise BookError("the document unpacks to more than chapbook reads", path,
                        hint="it may be damaged or hostile; save it again from Word")


_CUSTOM = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}property"
MAX_PROPERTIES_BYTES = 1024 * 1024


def _custom_properties(path: Path) -> dict[str, str]:
    """The document's custom properties (docProps/custom.xml), which pandoc does not read."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("docProps/custom.xml")
            if info.file_size > MAX_PROPERTIES_BYTES:
                return {}
            data = archive.read(info)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(data, parser)
    except (KeyError, zipfile.BadZipFile, etree.XMLSyntaxError):
        return {}
    return {str(item.get("name")): "".join(item.itertext()).strip()
            for item in root.iter(_CUSTOM)}


def _read(path: Path, media: Path) -> dict[str, Any]:
    """pandoc's AST of the document, its images extracted into `media`."""
    output = pandoc(["--from", "docx+styles", "--to", "json", "--track-changes=all",
                     f"--extract-media={media}", str(path)], path)
    return json.loads(output)  # type: ignore[no-any-return]


def _essays(document: dict[str, Any], path: Path, found: Findings) -> list[Essay]:
    """The essays in the document: its chapters if chapbook wrote it, else the one essay."""
    meta = document.get("meta", {})
    blocks = document["blocks"]
    properties = _custom_properties(path)
    level = properties.get(CHAPTER_LEVEL_PROPERTY, "")
    count = properties.get(CHAPTERS_PROPERTY, "")
    if level in ("1", "2") and count.isdigit():
        return _chapters(blocks, int(level), int(count), found)
    front: dict[str, Any] = {}
    blocks = pandoc_ast.cleaned(blocks, found, front)
    headings = pandoc_ast.headers(blocks)
    title = pandoc_ast.meta_text(meta.get("title"))
    if not title and headings and blocks[0] is headings[0] and \
            sum(h["c"][0] == headings[0]["c"][0] for h in headings) == 1 and \
            headings[0]["c"][0] == min(h["c"][0] for h in headings):
        title = " ".join(pandoc_ast.text(headings[0]["c"][2]).split())
        blocks = blocks[1:]
        headings = headings[1:]
    if not title:
        title = re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or "Untitled"
    if headings:  # the essay's sections are `## `, under its title
        pandoc_ast.shifted(blocks, 2 - min(h["c"][0] for h in headings))
    for key in ("subtitle", "abstract"):
        if pandoc_ast.meta_text(meta.get(key)):
            front.setdefault(key, pandoc_ast.meta_text(meta.get(key)))
    authors = pandoc_ast.meta_list(meta.get("author"))
    if authors:
        front["authors"] = authors
    return [Essay(title, blocks, front)]


def _chapters(blocks: list[Node], level: int, count: int, found: Findings) -> list[Essay]:
    """A reviewers' edition's chapters: each heading at the chapters' level opens one, the
    headings above it are parts, and what follows the last chapter is the generated back
    matter."""
    essays: list[Essay] = []
    current: list[Node] | None = None
    for block in blocks:
        if block.get("t") == "Header" and block["c"][0] <= level:
            if block["c"][0] < level or len(essays) == count:
                current = None
                continue
            current = []
            title = " ".join(pandoc_ast.text(block["c"][2]).split())
            noted = any(node.get("t") == "Note" for node in block["c"][2])
            essays.append(Essay(title, current, titled=block["c"][2] if noted else None))
        elif current is not None:
            current.append(block)
    for essay in essays:
        essay.blocks = pandoc_ast.shifted(
            pandoc_ast.cleaned(essay.blocks, found, essay.front_matter), 1 - level)
    return essays


def _place_images(essay: Essay, images: list[Node], slug: str, folder: Path, media: Path,
                  path: Path, diagnostics: Diagnostics) -> list[tuple[Path, Path]]:
    """Where each of the essay's images goes, checked as an essay's images are (a real PNG,
    JPEG, GIF or WebP picture, not too large): into `folder`/figures as <slug>-<n>.<ext>, the
    essay pointed at it; any other is left out with a warning. Returns (extracted file, target)
    pairs."""
    placed = []
    for number, image in enumerate(images, 1):
        source = Path(image["c"][2][0])
        suffix = source.suffix.lower()
        if not source.resolve().is_relative_to(media.resolve()) or \
                suffix not in RASTER_FORMATS or raster_problem(source):
            diagnostics.warn("import-image", f"image {number} of '{essay.title}' is not a PNG, "
                             "JPEG, GIF or WebP picture an edition can carry; it is left out",
                             path)
            image["t"], image["c"] = "Str", ""
            continue
        target = folder / "figures" / f"{slug}-{number}{suffix}"
        if target.exists():
            raise BookError("an image of this name is already in the book's folder", target,
                            hint="remove or rename it, or the essay it belongs to")
        placed.append((source, target))
        image["c"][2][0] = target.relative_to(folder).as_posix()
    return placed


def _markdown(essay: Essay, path: Path) -> str:
    """The essay as Markdown: YAML front matter, then its body as pandoc writes GFM. A title
    with a note is the body's `# ` heading instead, which can hold the note (`[^1]`)."""
    blocks = essay.blocks if essay.titled is None else \
        [{"t": "Header", "c": [1, ["", [], []], essay.titled]}, *essay.blocks]
    document = {"pandoc-api-version": [1, 23, 1, 1], "meta": {}, "blocks": blocks}
    body = pandoc(["--from", "json", "--to", "gfm", "--wrap=none"], path,
                  stdin=json.dumps(document).encode("utf-8")).decode("utf-8")
    front = {**({"title": essay.title.replace(WORD_JOINER, "")} if essay.titled is None
                else {}), **essay.front_matter}
    # (the word joiners chapbook's own Word edition keeps before note calls: no essay's text)
    body = f"{body.strip().replace(WORD_JOINER, '')}\n"
    if not front:
        return body
    head = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{head}---\n\n{body}"


def _refuse_changes(found: Findings, path: Path) -> None:
    shown = "; ".join(f"{c.kind} by {c.author}: '{c.text[:40]}'" for c in found.changes[:3])
    more = f" and {len(found.changes) - 3} more" if len(found.changes) > 3 else ""
    raise BookError(f"the document has {len(found.changes)} tracked change(s) ({shown}{more})",
                    path, hint="accept or reject them in Word (Review > Accept All), or import "
                               "with --changes accept (or reject)")


def import_documents(documents: list[Path], manifest_path: Path, diagnostics: Diagnostics,
                     add: bool = False, changes: str = "refuse") -> list[Path]:
    """Import each document as essays into the book's essays folder; returns the essays
    written. Nothing is written unless every document can be read."""
    manifest = load_manifest(manifest_path)
    chapters = manifest.chapters
    folder = chapters[0].source.parent if chapters else manifest.root / "essays"
    taken = {spec.source.resolve() for spec in chapters}
    planned: list[tuple[Path, str, list[tuple[Path, Path]]]] = []
    with tempfile.TemporaryDirectory(prefix="chapbook-import-") as scratch:
        for number, document in enumerate(documents):
            _checked_document(document)
            media = Path(scratch) / str(number)
            found = Findings()
            ast = _read(document, media)
            ast["blocks"] = pandoc_ast.tracked_changes_and_comments(ast["blocks"], changes,
                                                                    found)
            if found.changes and changes == "refuse":
                _refuse_changes(found, document)
            for change in found.changes:
                kept = (change.kind == "insertion") == (changes == "accept")
                diagnostics.note("import-change", f"tracked {change.kind} by {change.author} "
                                 f"{'kept' if kept else 'left out'}: '{change.text[:60]}'",
                                 document)
            for comment in found.comments:
                diagnostics.warn("import-comment", f"comment by {comment.author} left out: "
                                 f"'{comment.text[:80]}'", document)
            essays = _essays(ast, document, found)
            for essay in essays:
                anchors = {block["c"][1][0] for block in pandoc_ast.headers(essay.blocks)}
                essay.blocks = pandoc_ast.links_kept_to(essay.blocks, anchors)
                slug = slugify(essay.title)
                target = folder / f"{slug}.md"
                suffix = 2
                while target.resolve() in taken or any(target == plan[0] for plan in planned):
                    target, suffix = folder / f"{slug}-{suffix}.md", suffix + 1
                if target.exists():
                    raise BookError("an essay of this name is already in the book's folder",
                                    target, hint="remove or rename it, or give the Word "
                                                 "document another title")
                images = _images_of(essay.blocks, found)
                placed = _place_images(essay, images, target.stem, folder, media, document,
                                       diagnostics)
                planned.append((target, _markdown(essay, document), placed))
        written = _write(planned)
    if add:
        root = manifest.root.resolve()
        add_chapters(manifest_path, [path.resolve().relative_to(root) for path in written])
    return written


def _images_of(blocks: list[Node], found: Findings) -> list[Node]:
    """The images (of those the clean-up kept) in these blocks, in reading order."""
    wanted = {id(image) for image in found.images}
    inside: list[Node] = []

    def visit(node: Node) -> list[Node] | None:
        if id(node) in wanted:
            inside.append(node)
        return None
    pandoc_ast.map_blocks(blocks, visit)
    return inside


def _write(planned: list[tuple[Path, str, list[tuple[Path, Path]]]]) -> list[Path]:
    """Write the essays and copy their images (an image without alt text is `chapbook
    check`'s warning, at its line, once the import is done)."""
    written = []
    for target, markdown, placed in planned:
        for source, image_target in placed:
            image_target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, image_target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(markdown, "utf-8")
        written.append(target)
    return written
