"""A Word document as pandoc reads it (its JSON AST), made into essays: tracked changes and
comments found and dealt with, chapbook's generated paragraphs and Word's manual numbering left
out, empty paragraphs dropped, images and figures in chapbook's Markdown form, headings under the
essay's title. Pure functions over the AST's plain dicts and lists; pandoc writes the Markdown."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from chapbook.pandoc import GENERATED_STYLE_PREFIX

Node = dict[str, Any]

# Paragraphs of chapbook's generated styles (builders/docx.py) are left out, or taken back into
# the essay's front matter.
FRONT_MATTER_STYLES = {"Chapbook Subtitle": "subtitle", "Chapbook Abstract": "abstract"}

# A heading's number typed by hand: "1.", "1.2", "2)", "IV.", "A." (chapbook numbers chapters).
_MANUAL_NUMBER = re.compile(r"^(\d+(\.\d+)*[.)]?|[IVXLC]+[.)]|[A-Z][.)])$")
# A paragraph that starts a list by hand, as Word's AutoFormat leaves it undone.
_MANUAL_ORDERED = re.compile(r"^\(?\d{1,3}[.)]$")
_MANUAL_BULLETS = {"•", "·", "▪", "◦", "–", "-", "*", "o"}
# The label chapbook (or Word) puts before a caption: "Figure 2.1: ", "Table 3 - ".
_CAPTION_LABEL = re.compile(r"^(Figure|Fig\.|Table)\s+[\dA-Z]+(\.\d+)*\s*[:.\-–—]?\s*")


@dataclass
class Change:
    kind: str  # "insertion" or "deletion"
    author: str
    text: str


@dataclass
class Comment:
    author: str
    text: str


@dataclass
class Essay:
    """One essay taken from the document: its title, front matter and body blocks."""

    title: str
    blocks: list[Node]
    front_matter: dict[str, Any] = field(default_factory=dict)
    titled: list[Node] | None = None  # the title's inlines, when they hold a note of its own


@dataclass
class Findings:
    changes: list[Change] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    images: list[Node] = field(default_factory=list)  # the Image inlines kept, in order


def text(nodes: Any) -> str:
    """The plain text of inlines or blocks."""
    if isinstance(nodes, list):
        return "".join(text(node) for node in nodes)
    if not isinstance(nodes, dict):
        return ""
    kind, content = nodes.get("t"), nodes.get("c")
    if kind == "Str":
        return str(content)
    if kind in ("Space", "SoftBreak", "LineBreak"):
        return " "
    if kind in ("Para", "Plain", "Emph", "Strong", "Underline", "Strikeout", "Superscript",
                "Subscript", "SmallCaps", "BlockQuote"):
        return text(content) + (" " if kind in ("Para", "Plain") else "")
    if kind in ("Span", "Link", "Quoted", "Cite", "Div"):
        return text(content[1])
    if kind == "Image":
        return text(content[1])
    if kind in ("Code", "Math"):
        return str(content[1])
    if kind == "Header":
        return text(content[2])
    if kind in ("BulletList", "OrderedList"):
        items = content if kind == "BulletList" else content[1]
        return " ".join(text(item) for item in items)
    return ""


def meta_text(value: Any) -> str:
    """A metadata value's text (MetaInlines, MetaString, MetaBlocks)."""
    if not isinstance(value, dict):
        return ""
    kind, content = value.get("t"), value.get("c")
    if kind == "MetaString":
        return str(content)
    if kind in ("MetaInlines", "MetaBlocks"):
        return text(content).strip()
    if kind == "MetaList":
        return ", ".join(meta_text(item) for item in content)
    return ""


def meta_list(value: Any) -> list[str]:
    if isinstance(value, dict) and value.get("t") == "MetaList":
        return [meta_text(item) for item in value["c"] if meta_text(item)]
    return [meta_text(value)] if meta_text(value) else []


def _classes(node: Node) -> list[str]:
    return list(node["c"][0][1])


def _attributes(node: Node) -> dict[str, str]:
    return dict(node["c"][0][2])


# --- walking the tree ---------------------------------------------------------------------

def _map_inlines(inlines: list[Node], change: Callable[[Node], list[Node] | None]) -> list[Node]:
    """The inlines with `change` applied to each, depth first: it returns the inlines to put in
    the node's place, or None to keep it (its children changed)."""
    result: list[Node] = []
    for node in inlines:
        _map_children(node, change)
        replaced = change(node)
        result += [node] if replaced is None else replaced
    return result


def _map_children(node: Node, change: Callable[[Node], list[Node] | None]) -> None:
    kind, content = node.get("t"), node.get("c")
    if kind in ("Emph", "Strong", "Underline", "Strikeout", "Superscript", "Subscript",
                "SmallCaps"):
        node["c"] = _map_inlines(content, change)
    elif kind in ("Span", "Link", "Image", "Quoted"):
        content[1] = _map_inlines(content[1], change)
    elif kind == "Note":
        node["c"] = map_blocks(content, change)


def map_blocks(blocks: list[Node], change: Callable[[Node], list[Node] | None]) -> list[Node]:
    """Every inline of the blocks, however deep, passed through `change` (see _map_inlines)."""
    for block in blocks:
        kind, content = block.get("t"), block.get("c")
        if kind in ("Para", "Plain"):
            block["c"] = _map_inlines(content, change)
        elif kind == "Header":
            content[2] = _map_inlines(content[2], change)
        elif kind in ("BlockQuote",):
            block["c"] = map_blocks(content, change)
        elif kind == "Div":
            content[1] = map_blocks(content[1], change)
        elif kind == "BulletList":
            block["c"] = [map_blocks(item, change) for item in content]
        elif kind == "OrderedList":
            content[1] = [map_blocks(item, change) for item in content[1]]
        elif kind == "DefinitionList":
            block["c"] = [[_map_inlines(term, change), [map_blocks(d, change) for d in defs]]
                          for term, defs in content]
        elif kind == "LineBlock":
            block["c"] = [_map_inlines(line, change) for line in content]
        elif kind == "Figure":
            content[1][1] = map_blocks(content[1][1], change)
            content[2] = map_blocks(content[2], change)
        elif kind == "Table":
            for cell in _table_cells(block):  # [attr, alignment, rows, columns, blocks]
                cell[4] = map_blocks(cell[4], change)
    return blocks


def _table_cells(table: Node) -> Iterator[list[Any]]:
    _, _, _, head, bodies, foot = table["c"]
    rows = list(head[1]) + [row for body in bodies for row in (*body[2], *body[3])] \
        + list(foot[1])
    for row in rows:
        yield from row[1]


# --- the clean-up -------------------------------------------------------------------------

def tracked_changes_and_comments(blocks: list[Node], changes: str,
                                 found: Findings) -> list[Node]:
    """Record every tracked change and comment; take the changes as `changes` says
    ("accept", "reject"; "refuse" keeps them for the caller to refuse) and drop the comments."""
    def change(node: Node) -> list[Node] | None:
        if node.get("t") != "Span":
            return None
        classes = _classes(node)
        inner = node["c"][1]
        for kind in ("insertion", "deletion"):
            if kind in classes or f"paragraph-{kind}" in classes:
                if kind in classes:
                    found.changes.append(Change(kind, _attributes(node).get("author", "?"),
                                                text(inner).strip()))
                keep = (kind == "insertion") == (changes != "reject")
                return inner if keep else []
        if "comment-start" in classes:
            found.comments.append(Comment(_attributes(node).get("author", "?"),
                                          " ".join(text(inner).split())))
            return []
        if "comment-end" in classes:
            return []
        return None
    return map_blocks(blocks, change)


def _is_empty(block: Node) -> bool:
    return block.get("t") in ("Para", "Plain") and not text(block["c"]).strip() \
        and not any(node.get("t") in ("Image", "Note") for node in block["c"])


def _unnumbered(inlines: list[Node]) -> list[Node]:
    """A heading's inlines without a number typed before it."""
    if len(inlines) > 2 and inlines[0].get("t") == "Str" and inlines[1].get("t") == "Space" \
            and _MANUAL_NUMBER.match(inlines[0]["c"]):
        return inlines[2:]
    return inlines


def _manual_list_item(block: Node) -> tuple[str, list[Node]] | None:
    """("ordered"/"bullet", the rest of the paragraph) for a paragraph numbered or bulleted by
    hand, else None."""
    if block.get("t") != "Para" or len(block["c"]) < 3:
        return None
    first, second = block["c"][0], block["c"][1]
    if first.get("t") != "Str" or second.get("t") != "Space":
        return None
    if _MANUAL_ORDERED.match(first["c"]):
        return "ordered", block["c"][2:]
    if first["c"] in _MANUAL_BULLETS:
        return "bullet", block["c"][2:]
    return None


def _lists_typed_by_hand(blocks: list[Node]) -> list[Node]:
    """Runs of two or more paragraphs numbered or bulleted by hand, made real lists."""
    result: list[Node] = []
    index = 0
    while index < len(blocks):
        item = _manual_list_item(blocks[index])
        run = []
        while item is not None and index + len(run) < len(blocks):
            following = _manual_list_item(blocks[index + len(run)])
            if following is None or following[0] != item[0]:
                break
            run.append(following[1])
        if len(run) >= 2 and item is not None:
            items = [[{"t": "Plain", "c": inlines}] for inlines in run]
            result.append({"t": "BulletList", "c": items} if item[0] == "bullet" else
                          {"t": "OrderedList",
                           "c": [[1, {"t": "Decimal"}, {"t": "Period"}], items]})
            index += len(run)
        else:
            result.append(blocks[index])
            index += 1
    return result


def _caption_text(caption_blocks: list[Node]) -> str:
    return _CAPTION_LABEL.sub("", " ".join(text(caption_blocks).split()), count=1)


def _plain_image(image: Node, title: str, found: Findings) -> Node:
    """The image without Word's size (chapbook sizes figures), titled `title`."""
    image["c"][0] = ["", [], []]
    image["c"][2] = [image["c"][2][0], title]
    found.images.append(image)
    return image


def cleaned(blocks: list[Node], found: Findings,
            front_matter: dict[str, Any]) -> list[Node]:
    """The blocks as an essay holds them (see the module's docstring); paragraphs in
    chapbook's generated styles go into `front_matter` or are left out."""
    result: list[Node] = []
    for block in blocks:
        kind = block.get("t")
        if kind == "Div":
            style = _attributes(block).get("custom-style", "")
            if style.startswith(GENERATED_STYLE_PREFIX):
                if style in FRONT_MATTER_STYLES:
                    front_matter[FRONT_MATTER_STYLES[style]] = " ".join(
                        text(block["c"][1]).split())
                continue
            result += cleaned(block["c"][1], found, front_matter)  # Word's own styles
            continue
        if _is_empty(block) or kind in ("HorizontalRule", "RawBlock"):
            continue
        if kind == "Header":
            block["c"][2] = _unnumbered(block["c"][2])
            block["c"][1] = ["", [], []]
        elif kind == "Figure":
            images = [node for part in block["c"][2] if part.get("t") in ("Plain", "Para")
                      for node in part["c"] if node.get("t") == "Image"]
            caption = _caption_text(block["c"][1][1])
            for image in images:
                result.append({"t": "Para", "c": [_plain_image(image, caption, found)]})
            continue
        elif kind == "Table":
            caption = _caption_text(block["c"][1][1])
            block["c"][0] = ["", [], []]
            block["c"][1] = [None, []]
            result.append(block)
            if caption:
                result.append({"t": "Para", "c": [{"t": "Str", "c": "Table:"},
                                                  {"t": "Space"},
                                                  {"t": "Str", "c": caption}]})
            continue
        elif kind in ("BlockQuote",):
            block["c"] = cleaned(block["c"], found, front_matter)
        result.append(block)

    kept = {id(image) for image in found.images}

    def inline(node: Node) -> list[Node] | None:
        kind = node.get("t")
        if kind == "Image" and id(node) not in kept:
            return [_plain_image(node, node["c"][2][1], found)]
        if kind == "Span" and "custom-style" in _attributes(node):
            return node["c"][1]  # a Word character style ("Hyperlink", "Footnote Reference")
        if kind == "Note":
            node["c"] = cleaned(node["c"], found, front_matter)
        return None
    return map_blocks(_lists_typed_by_hand(result), inline)


def links_kept_to(blocks: list[Node], anchors: set[str]) -> list[Node]:
    """Links within the document to anything but `anchors` (a glossary's or index's entries,
    a bookmark in another chapter) made plain text: they would lead nowhere in the essay."""
    def change(node: Node) -> list[Node] | None:
        if node.get("t") == "Link" and node["c"][2][0].startswith("#") \
                and node["c"][2][0][1:] not in anchors:
            return node["c"][1]
        return None
    return map_blocks(blocks, change)


def shifted(blocks: list[Node], by: int) -> list[Node]:
    """Headings moved `by` levels (down if positive), kept from 1 to 6."""
    for block in blocks:
        if block.get("t") == "Header":
            block["c"][0] = max(1, min(6, block["c"][0] + by))
    return blocks


def headers(blocks: list[Node]) -> list[Node]:
    return [block for block in blocks if block.get("t") == "Header"]
