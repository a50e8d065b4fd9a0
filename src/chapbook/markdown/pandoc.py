"""Pandoc's Markdown beyond CommonMark, as an essay written for Pandoc or Quarto has it: read
with markdown-it's own plugins where one exists (strikethrough, `H~2~O`, `3^rd^`, definition
lists, `[text]{.smallcaps}` and `{lang=de}` spans, `$…$` math), or here (`::: {.note}` fenced
divs, nested as Pandoc nests them), and
named at its line where chapbook cannot set it (math is printed as its TeX source; a LaTeX page
break and a grid table are not read)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

from chapbook.diagnostics import Diagnostics
from chapbook.markdown.floats import attributes
from chapbook.markdown.rawhtml import book_classes

# what a span or a fenced div keeps of its attributes: a class for the styles, a language and
# a direction for readers and screen readers (an id would not be unique in the book)
KEPT = ("class", "lang", "dir")


def use_pandoc_extensions(md: MarkdownIt) -> None:
    md.use(sub_plugin)
    md.use(superscript_plugin)
    md.use(deflist_plugin)
    # spans alone: an image's attributes are markdown/floats.py's (its figure, its width)
    md.use(attrs_plugin, after=("span_close",), spans=True, allowed=KEPT)
    md.block.ruler.before("fence", "fenced_div", _fenced_div,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
    md.add_render_rule("fenced_div_open", _render_div)
    md.add_render_rule("fenced_div_close", _render_div)
    # Pandoc's rule for `$`: no space inside it, no digit after it ("$5 or $10" is money)
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, allow_labels=False,
           renderer=lambda content, _: escapeHtml(content))


# A fenced div opens with three colons or more and its attributes (`::: note`, `::: {.note}`),
# and closes with colons alone: a bare `:::` always closes (Pandoc's rule), so divs nest.
_DIV_OPENING = re.compile(r"^(:{3,})\s*(\{[^{}]*\}|[^\s{}:]+)\s*:*\s*$")
_DIV_CLOSING = re.compile(r"^:{3,}\s*$")
_CODE_FENCE = re.compile(r"^(`{3,}|~{3,})")


def _fenced_div(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """Pandoc's fenced div, nested as Pandoc nests them (markdown-it-container closes a div at
    the first fence of its length, which is the inner one's)."""
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    opening = _DIV_OPENING.match(state.src[state.bMarks[start] + state.tShift[start]:
                                           state.eMarks[start]])
    if opening is None:
        return False
    if silent:
        return True
    depth, line, fence, closed = 1, start, "", False
    while line + 1 < end:
        line += 1
        text = state.src[state.bMarks[line] + state.tShift[line]:state.eMarks[line]]
        if text and state.sCount[line] < state.blkIndent:
            line -= 1
            break  # a list or quote the div stood in ended
        if state.sCount[line] - state.blkIndent >= 4:
            continue  # indented code: its colons are its text
        code = _CODE_FENCE.match(text)
        if code and (not fence or code[1].startswith(fence)):
            fence = "" if fence else code[1]  # (colons in a code block are its text)
        elif not fence and _DIV_OPENING.match(text):
            depth += 1
        elif not fence and _DIV_CLOSING.match(text):
            depth -= 1
            if depth == 0:
                closed = True
                break
    last = line if closed else line + 1
    parent, line_max = state.parentType, state.lineMax
    state.parentType, state.lineMax = "fenced_div", last  # type: ignore[assignment]
    token = state.push("fenced_div_open", "div", 1)
    token.info, token.markup, token.map = opening[2], opening[1], [start, last]
    info = opening[2]
    for _, key, value in (attributes(info) if info.startswith("{") else [(info, ".", info)]) \
            or []:
        name = "class" if key == "." else key
        if name == "class":
            token.attrJoin(name, value)
        elif name in KEPT:
            token.attrSet(name, value)
    state.md.block.tokenize(state, start + 1, last)
    state.push("fenced_div_close", "div", -1).markup = opening[1]
    state.parentType, state.lineMax = parent, line_max
    state.line = last + (1 if closed else 0)
    return True


def _render_div(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                env: dict[str, Any]) -> str:
    """`::: note` or `::: {.note lang=fr}` as a div with that class and language."""
    token = tokens[idx]
    if token.nesting == -1:
        return "</div>\n"
    return "<div" + "".join(f' {name}="{escapeHtml(str(token.attrGet(name)))}"'
                            for name in KEPT if token.attrGet(name)) + ">\n"


def refuse_book_classes(tokens: list[Token], path: Path, diagnostics: Diagnostics) -> None:
    """A class of the book's own (`endnotes`, `part-title`) given to a fenced div, a span or a
    heading is taken off with a warning, as raw HTML's is: an essay may not dress as the
    book."""
    for token in tokens:
        for marked in [token, *(token.children or [])]:
            classes = str(marked.attrGet("class") or "").split() \
                if marked.type in ("fenced_div_open", "span_open", "heading_open") else []
            own = [name for name in classes if name in book_classes()]
            if not own:
                continue
            kept = [name for name in classes if name not in own]
            if kept:
                marked.attrSet("class", " ".join(kept))
            else:
                marked.attrs.pop("class", None)
            diagnostics.warn("unsafe-html", f"class '{own[0]}' removed: it is one of the "
                             "book's own", path, token.map[0] + 1 if token.map else None)


_PAGE_BREAK = re.compile(r"^(?:\\(?:newpage|pagebreak|clearpage)|\{\{<\s*pagebreak\s*>\}\})$")
_GRID_TABLE = re.compile(r"^\+[-=:+]+\+$")
_FILE_END = re.compile(r"\.[A-Za-z0-9]{2,5}(?:[#?]\S*)?$")


def _unread_link(text: str) -> bool:
    """`![alt](a path.png)`, `[text](my essay.md)` left as text: CommonMark ends a path at a
    space. Each `](` is read up to the next `)` or `](` (linear: the text is untrusted)."""
    start = text.find("](")
    while start >= 0:
        following = text.find("](", start + 2)
        closing = text.find(")", start + 2)
        if closing < 0:
            return False
        if following < 0 or closing < following:
            path = re.split(r"\s[\"“]", text[start + 2:closing], maxsplit=1)[0].strip()
            if not path.startswith("<") and " " in path and _FILE_END.search(path):
                return True
        start = following
    return False


def unread_pandoc(tokens: list[Token], path: Path, diagnostics: Diagnostics) -> None:
    """A warning at each line with Pandoc's Markdown that chapbook prints as typed."""
    for opening, inline in itertools.pairwise(tokens):
        line = opening.map[0] + 1 if opening.map else None
        if opening.type == "math_block" or (inline.type == "inline" and any(
                child.type == "math_inline" for child in inline.children or [])):
            line = (opening if opening.type == "math_block" else inline).map[0] + 1 \
                if (opening if opening.type == "math_block" else inline).map else line
            diagnostics.warn("pandoc", "math is printed as its TeX source: chapbook sets no "
                             "formulas; write it in words, or as an image", path, line)
        if inline.type == "inline" and any(_unread_link(child.content) for child in
                                           inline.children or [] if child.type == "text"):
            diagnostics.warn("pandoc", "a link or an image whose path has a space is printed as "
                             "typed: put the path in angle brackets, `![…](<figures/coast "
                             "map.png>)`, or rename the file", path,
                             inline.map[0] + 1 if inline.map else line)
        if opening.type != "paragraph_open" or inline.type != "inline":
            continue
        first = inline.content.split("\n", 1)[0].strip()
        if _PAGE_BREAK.match(first):
            diagnostics.warn("pandoc", f"'{first}' is a page break for LaTeX, which chapbook "
                             "does not read: chapters open on a new page, and a page breaks "
                             "where its text is full; remove it", path, line)
        elif _GRID_TABLE.match(first):
            diagnostics.warn("pandoc", "a grid table is not read: it is printed as typed; "
                             "write it as a pipe table (`| a | b |`, then `|---|---|`)",
                             path, line)
