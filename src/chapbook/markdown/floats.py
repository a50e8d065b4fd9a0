"""Figures, table captions and cross-references, as an essay writes them (Pandoc's and
pandoc-crossref's syntax):

    ![A chart of the flow](flow.png "Flow at the border, 1990–2020"){#fig:flow credit="Source: …"}

    Table: Storage of the main reservoirs {#tbl:storage}

    As @fig:flow shows, and @tbl:storage lists; see @sec:drought-rules and @ch:the-dams.

An image alone in its paragraph with a title or a `{#fig:…}` becomes a figure; a paragraph
`Table: …` just before or after a table becomes its caption. Numbers ("Figure 2.1") and the
targets of references are settled once the whole book is read (collect/floats.py)."""

from __future__ import annotations

import re
from typing import Any

from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

# Pandoc's attributes, `{#name .class key=value key="a value"}`, after an image or a heading
# (the typographer may have curled a value's quotes)
# (the typographer may have curled a value's quotes). The attributes stand apart by spaces, and
# every quantifier is possessive: an essay is untrusted, and a pattern that could split
# "#a#a#a…" in many ways took a minute on a line of 73 characters.
ATTRIBUTE = re.compile(r"#[^\s{}]++|\.[\w-]++|([\w-]++)=(?:[\"“]([^\"”]*+)[\"”]|"
                       r"([^\s{}\"“]++))|-(?=[\s}]|$)")
_BLOCK = rf"\{{\s*+((?>{ATTRIBUTE.pattern})(?:\s++(?>{ATTRIBUTE.pattern}))*+)\s*+\}}"
_WHOLE_BLOCK = re.compile(rf"\s*+{_BLOCK}\s*+")
_LEADING_BLOCK = re.compile(_BLOCK)  # right after an image
# an image's `width`: a share of the measure, in steps of 5% (a class of the styles each)
_WIDTH = re.compile(r"^(\d{1,3})(?:\.\d+)?%$")
_TABLE_CAPTION = re.compile(r"^(?:Table:\s*|:\s+)")  # Pandoc takes either
_TABLE_KEY = re.compile(r"\s*\{\s*#tbl[:-]([\w-]+)\s*\}\s*$")
# `@fig:name` (pandoc-crossref), or Quarto's `@fig-name`
REFERENCE = re.compile(r"@(fig|tbl|sec|ch):([\w-]*\w)|@(fig|tbl|sec)-([\w-]*\w)")
PAGE_REFERENCE = re.compile(r"\{@(fig|tbl|sec|ch):([\w-]*\w)\s+p\}")
# `{@fig:name q}`, `{@fig:name}`: a page reference mistyped, taken as a reference to the number
# and warned of (collect/floats.py), not printed as "{Figure 2.1 q}"
NEAR_PAGE_REFERENCE = re.compile(r"\{@(fig|tbl|sec|ch):([\w-]*\w)(?:\s+[^\s{}]{1,12})?\}")
KINDS = {"fig": "figure", "tbl": "table"}


def float_rule(state: Any) -> None:
    """Core rule: figures and table captions into tokens of their own."""
    tokens: list[Token] = state.tokens
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token.type == "paragraph_open" and position + 2 < len(tokens):
            _figure(tokens[position], tokens[position + 1], tokens[position + 2], state.env)
        elif token.type == "inline" and tokens[position - 1].type != "paragraph_open":
            _image_attributes(token, state.env)  # an image in a table's cell (a paragraph's: above)
        if token.type == "table_open":
            position = _table_caption(tokens, position)
        position += 1


def trailing_attributes(text: str) -> tuple[int, list[tuple[str, str, str]]] | None:
    """Where a block `{…}` ending `text` (a heading's) starts, and its attributes; or None.
    (Found from the last brace, not by searching: linear on any line.)"""
    end = len(text.rstrip())
    start = text.rfind("{", 0, end)
    found = attributes(text[start:end]) if start >= 0 and text[end - 1:end] == "}" else None
    return (start, found) if found is not None else None


def attributes(text: str) -> list[tuple[str, str, str]] | None:
    """The attributes of a block `{…}` that is the whole of `text`, each as (what it is
    typed as, its key or "#" or ".", its value), or None if `text` is not one."""
    block = _WHOLE_BLOCK.fullmatch(text)
    if block is None:
        return None
    return [(found[0], found[1] or found[0][0], found[2] or found[3] or found[0][1:])
            for found in ATTRIBUTE.finditer(block[1])]


def _image_attributes(inline: Token, env: dict[str, Any]) -> dict[str, str]:
    """An image's `{…}` right after it taken off the text and read: its name (`#fig:name`,
    Quarto's `#fig-name`), its `credit` and its `width`; anything else is noted in `env` for a
    warning at its line."""
    children = inline.children or []
    found: dict[str, str] = {}
    for position, child in enumerate(children[1:], 1):
        if child.type != "text" or children[position - 1].type != "image":
            continue
        block = _LEADING_BLOCK.match(child.content)
        read = attributes(block[0]) if block else None
        if block is None or read is None:
            continue
        child.content = child.content[block.end():]
        image = children[position - 1]
        for typed, key, value in read:
            width = _WIDTH.match(value) if key == "width" else None
            if key == "#" and value[:4] in ("fig:", "fig-"):
                found["key"] = f"fig:{value[4:]}"
            elif key == "credit":
                found[key] = value
            elif width and 0 < int(width[1]) <= 100:
                image.meta["width"] = min(100, max(5, 5 * round(int(width[1]) / 5)))
            else:
                env.setdefault("chapbook_unused_attributes", []).append(
                    ("image", typed, inline.map[0] + 1 if inline.map else None))
    return found


def _figure(opening: Token, inline: Token, closing: Token, env: dict[str, Any]) -> None:
    values = _image_attributes(inline, env)
    children = [child for child in inline.children or [] if child.type != "softbreak"
                and not (child.type == "text" and not child.content.strip())]
    if not children or children[0].type != "image" or len(children) > 1:
        return
    image = children[0]
    key = values.get("key")
    title = str(image.attrGet("title") or "")
    if not title and key is None:
        return  # an image alone, as before: no caption asked for
    opening.type, opening.tag = "figure_open", "figure"
    closing.type, closing.tag = "figure_close", "figure"
    opening.meta.update({"kind": "figure", "key": key, "caption": title or image.content,
                         "credit": values.get("credit", "")})
    closing.meta = opening.meta
    image.meta["figure"] = True  # its title is the caption, not a tooltip as well
    inline.children = [image]


def _table_caption(tokens: list[Token], position: int) -> int:
    """A `Table: …` paragraph just before or after the table at `position` as its caption;
    returns the table's new position."""
    end = next(i for i in range(position, len(tokens)) if tokens[i].type == "table_close")
    for start in (position - 3, end + 1):
        if start < 0 or start + 2 >= len(tokens) or tokens[start].type != "paragraph_open":
            continue
        inline = tokens[start + 1]
        children = inline.children or []
        if not children or children[0].type != "text" or \
                not _TABLE_CAPTION.match(children[0].content):
            continue
        children[0].content = _TABLE_CAPTION.sub("", children[0].content, count=1)
        key = None
        if children[-1].type == "text" and (found := _TABLE_KEY.search(children[-1].content)):
            key = f"tbl:{found[1]}"
            children[-1].content = children[-1].content[:found.start()]
        tokens[position].meta.update({"kind": "table", "key": key, "caption_tokens": children,
                                      "line": tokens[start].map[0] + 1 if tokens[start].map
                                      else None})
        del tokens[start:start + 3]
        return position - 3 if start < position else position
    return position


def reference_rule(state: StateInline, silent: bool) -> bool:
    """`@fig:name`, `@tbl:name`, `@sec:slug`, `@ch:essay`: a reference, resolved and numbered
    when the whole book is read. Not after a letter or digit (an e-mail address). `{@fig:name p}`
    is a reference to the page it is on, in print."""
    start = state.src[state.pos]
    if start == "{":
        found = PAGE_REFERENCE.match(state.src, state.pos) or \
            NEAR_PAGE_REFERENCE.match(state.src, state.pos)
    elif start == "@" and not (state.pos and state.src[state.pos - 1].isalnum()):
        found = REFERENCE.match(state.src, state.pos)
    else:
        return False
    if found is None:
        return False
    if not silent:
        token = state.push("crossref", "", 0)
        token.content = found[0]
        kind, name = (found[1], found[2]) if found[1] else (found[3], found[4])
        token.meta = {"kind": kind, "name": name, "key": f"{kind}:{name}",
                      "page": found.re is PAGE_REFERENCE}
    state.pos = found.end()
    return True
