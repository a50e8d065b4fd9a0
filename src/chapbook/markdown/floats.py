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

# `{#fig:name key="value"}` after an image; the typographer may have curled its quotes
_ATTRIBUTES = re.compile(r"^\s*\{\s*(#(?:fig):[\w-]+)?((?:\s+[\w-]+=[\"“][^\"”]*[\"”])*)\s*\}\s*$")
_VALUE = re.compile(r"([\w-]+)=[\"“]([^\"”]*)[\"”]")
_TABLE_CAPTION = re.compile(r"^Table:\s*")
_TABLE_KEY = re.compile(r"\s*\{\s*#(tbl:[\w-]+)\s*\}\s*$")
REFERENCE = re.compile(r"@(fig|tbl|sec|ch):([\w-]*\w)")
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
            _figure(tokens[position], tokens[position + 1], tokens[position + 2])
        if token.type == "table_open":
            position = _table_caption(tokens, position)
        position += 1


def _figure(opening: Token, inline: Token, closing: Token) -> None:
    children = [child for child in inline.children or [] if child.type != "softbreak"
                and not (child.type == "text" and not child.content.strip())]
    if not children or children[0].type != "image" or len(children) > 2:
        return
    image, rest = children[0], children[1:]
    attributes = _ATTRIBUTES.match(rest[0].content) if rest and rest[0].type == "text" else None
    if rest and attributes is None:
        return
    key = attributes[1][1:] if attributes and attributes[1] else None
    values = dict(_VALUE.findall(attributes[2])) if attributes else {}
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
            key = found[1]
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
        token.meta = {"kind": found[1], "name": found[2], "key": f"{found[1]}:{found[2]}",
                      "page": found.re is PAGE_REFERENCE}
    state.pos = found.end()
    return True
