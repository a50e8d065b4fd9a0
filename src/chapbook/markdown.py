"""The one Markdown parser: CommonMark with tables, footnotes and typographer quotes and dashes.

An essay is parsed once into markdown-it tokens; core rules then take the title out, give every
heading a stable unique id, and gather footnotes. The same tokens are rendered for each flavour of
output ("book": the unified HTML that is also the PDF's input; "epub": one XHTML per chapter), so
the builders never edit HTML as strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

from chapbook.collect.occurrences import index_mark_rule
from chapbook.diagnostics import Diagnostics


@dataclass(frozen=True)
class Heading:
    level: int  # 2 for `## `, relative to the essay, whose title is level 1
    text: str
    id: str
    line: int


@dataclass(frozen=True)
class Footnote:
    number: int
    id: str
    ref_id: str
    tokens: tuple[Token, ...]


@dataclass
class ParsedEssay:
    title: str | None
    title_line: int | None
    headings: list[Heading]
    footnotes: list[Footnote]
    tokens: list[Token]
    word_count: int
    env: dict[str, Any] = field(default_factory=dict)


def slug(text: str) -> str:
    """A readable ASCII id fragment: 'Why is it Vital?' → 'why-is-it-vital'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@cache
def parser() -> MarkdownIt:
    """Built once per process: markdown-it compiles its rule chains on construction."""
    md = MarkdownIt("commonmark", {"typographer": True, "html": False, "xhtmlOut": True})
    md.enable(["replacements", "smartquotes", "table"])
    md.core.ruler.after("replacements", "spaced_dashes", _spaced_dashes)
    md.use(footnote_plugin)
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("heading_close", _render_heading_close)
    md.add_render_rule("footnote_ref", _render_footnote_ref)
    md.inline.ruler.before("emphasis", "index_mark", index_mark_rule)
    md.add_render_rule("index_mark", lambda *args: "")
    md.add_render_rule("term_anchor_open", _render_term_anchor_open)
    md.add_render_rule("term_anchor_close", _render_term_anchor_close)
    md.add_render_rule("term_open", _render_term_open)
    md.add_render_rule("term_close", lambda *args: "</a>")
    return md


_SPACED_HYPHEN = re.compile(r"(?<= )-(?= )")


def _spaced_dashes(state: Any) -> None:
    """A hyphen standing alone between spaces is a dash the author could not type: en dash."""
    for token in state.tokens:
        for child in token.children or []:
            if child.type == "text" and " - " in child.content:
                child.content = _SPACED_HYPHEN.sub("–", child.content)


def _inline_text(token: Token) -> str:
    return "".join(child.content for child in token.children or []
                   if child.type in ("text", "code_inline"))


def parse_essay(text: str, chapter_id: str, path: Path, diagnostics: Diagnostics,
                token_rules: Sequence[Callable[[list[Token]], None]] = ()) -> ParsedEssay:
    """Parse one essay; `token_rules` rewrite the stream (term marking) before ids are fixed."""
    env: dict[str, Any] = {}
    tokens = parser().parse(text, env)
    title, title_line = _take_title(tokens)
    headings = _number_headings(tokens, chapter_id, path, diagnostics)
    for rule in token_rules:
        rule(tokens)
    footnotes, tokens = _gather_footnotes(tokens, chapter_id, env)
    words = sum(len(child.content.split()) for token in tokens if token.type == "inline"
                for child in token.children or [] if child.type == "text")
    return ParsedEssay(title, title_line, headings, footnotes, tokens, words, env)


def _take_title(tokens: list[Token]) -> tuple[str | None, int | None]:
    """The leading `# ` heading is the chapter title; it leaves the body."""
    if len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title = _inline_text(tokens[1]).strip()
        line = tokens[0].map[0] + 1 if tokens[0].map else 1
        del tokens[:3]
        return title or None, line
    return None, None


def _number_headings(tokens: list[Token], chapter_id: str, path: Path,
                     diagnostics: Diagnostics) -> list[Heading]:
    headings: list[Heading] = []
    used: set[str] = {chapter_id}
    previous = 1
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        level = int(token.tag[1])
        line = token.map[0] + 1 if token.map else 0
        if level == 1:
            diagnostics.warn("heading-level", "a second `# ` title inside the essay is set as a "
                             "section heading (`## `)", path, line)
            level = 2
        if level > previous + 1:
            diagnostics.warn("heading-jump", f"heading level jumps from {previous} to {level}; "
                             f"set as level {previous + 1}", path, line)
            level = previous + 1
        previous = level
        text = _inline_text(tokens[i + 1]).strip()
        base = f"{chapter_id}-{slug(text) or 'section'}"
        unique, n = base, 2
        while unique in used:
            unique, n = f"{base}-{n}", n + 1
        used.add(unique)
        token.attrSet("id", unique)
        token.meta["level"] = level
        headings.append(Heading(level, text, unique, line))
    return headings


def _gather_footnotes(tokens: list[Token], chapter_id: str,
                      env: dict[str, Any]) -> tuple[list[Footnote], list[Token]]:
    """Take the footnote block out of the body; each note keeps its own tokens."""
    body: list[Token] = []
    notes: dict[int, list[Token]] = {}
    current: list[Token] | None = None
    in_block = False
    for token in tokens:
        if token.type == "footnote_block_open":
            in_block = True
        elif token.type == "footnote_block_close":
            in_block = False
        elif token.type == "footnote_open":
            current = notes.setdefault(token.meta["id"], [])
        elif token.type == "footnote_close":
            current = None
        elif token.type == "footnote_anchor":
            continue
        elif in_block and current is not None:
            current.append(token)
        elif not in_block:
            body.append(token)
    footnotes = [Footnote(number, f"{chapter_id}-fn{number}", f"{chapter_id}-fnref{number}",
                          tuple(notes[note_id]))
                 for number, note_id in enumerate(sorted(notes), 1)]
    env["chapbook_notes"] = {note_id: note for note_id, note in zip(sorted(notes), footnotes,
                                                                     strict=True)}
    return footnotes, body


# --- rendering -----------------------------------------------------------------------------

def render(tokens: Sequence[Token], env: dict[str, Any], flavour: str, heading_shift: int) -> str:
    """HTML of tokens; `flavour` is "book" or "epub"; headings go `heading_shift` levels down."""
    md = parser()
    render_env = {**env, "flavour": flavour, "heading_shift": heading_shift}
    return md.renderer.render(list(tokens), md.options, render_env)


def render_note(note: Footnote, env: dict[str, Any], flavour: str, anchors: bool = True) -> str:
    """A note's HTML; `anchors=False` for a second copy of it, so that ids stay unique."""
    return render(note.tokens, {**env, "anchors": anchors}, flavour, 0)


def _render_term_anchor_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                             env: dict[str, Any]) -> str:
    if not env.get("anchors", True):
        return ""
    return f'<span class="ix" id="{tokens[idx].meta["id"]}">'


def _render_term_anchor_close(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                              env: dict[str, Any]) -> str:
    return "</span>" if env.get("anchors", True) else ""


def _render_term_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                      env: dict[str, Any]) -> str:
    target = tokens[idx].meta["target"]
    if env.get("flavour") == "epub":
        return f'<a class="term" epub:type="glossref" href="glossary.xhtml#{target}">'
    return f'<a class="term" href="#{target}">'


def _heading_tag(token: Token, env: dict[str, Any]) -> str:
    level = token.meta.get("level", int(token.tag[1])) + env.get("heading_shift", 0)
    return f"h{min(level, 6)}"


def _render_heading_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                         env: dict[str, Any]) -> str:
    token = tokens[idx]
    return f'<{_heading_tag(token, env)} id="{token.attrGet("id")}">'


def _render_heading_close(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                          env: dict[str, Any]) -> str:
    # The matching opener is the nearest heading_open before this token.
    for back in range(idx - 1, -1, -1):
        if tokens[back].type == "heading_open":
            return f"</{_heading_tag(tokens[back], env)}>\n"
    return f"</{tokens[idx].tag}>\n"


def _render_footnote_ref(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                         env: dict[str, Any]) -> str:
    token = tokens[idx]
    note: Footnote = env["chapbook_notes"][token.meta["id"]]
    sub = token.meta.get("subId", 0)
    ref_id = note.ref_id if sub == 0 else f"{note.ref_id}-{sub + 1}"
    if env.get("flavour") == "epub":
        return (f'<a class="noteref" id="{ref_id}" href="#{note.id}" epub:type="noteref" '
                f'role="doc-noteref">{note.number}</a>')
    # The book HTML carries the note twice: a link for the screen, and the note's text in
    # place, which the print stylesheet floats to the foot of the page (`float: footnote`).
    inline = "".join(render(t.children or [], env, "book", 0) for t in note.tokens
                     if t.type == "inline")
    return (f'<a class="noteref" id="{ref_id}" href="#{note.id}" role="doc-noteref">'
            f'{note.number}</a><span class="footnote">{inline}</span>')
