"""The one Markdown parser: CommonMark with tables, footnotes and typographer quotes and dashes.

An essay is parsed once into markdown-it tokens; core rules then take the title out, give every
heading a stable unique id, and gather footnotes. The same tokens are rendered for each flavour of
output ("print" and "web": the unified HTML; "epub": one XHTML per chapter), so
the builders never edit HTML as strings.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.footnote import footnote_plugin

from chapbook import ids
from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.languages import ENGLISH_QUOTES, quotes
from chapbook.markdown.citations import citation_rule, citations_as_notes
from chapbook.markdown.floats import float_rule, reference_rule, trailing_attributes
from chapbook.markdown.frontmatter import split_front_matter
from chapbook.markdown.pandoc import refuse_book_classes, unread_pandoc, use_pandoc_extensions
from chapbook.markdown.rawhtml import ImageResolver, audit
from chapbook.markdown.render import add_render_rules
from chapbook.markdown.terms import index_mark_rule, text_token
from chapbook.model.essay import Footnote, Heading, ParsedEssay
from chapbook.schema import MAX_WORD, unbreakable_run


@cache
def parser(quotes: tuple[str, str, str, str] = ENGLISH_QUOTES) -> MarkdownIt:
    """Built once per process (and set of quotes, languages.quotes): markdown-it compiles its
    rule chains on construction."""
    md = MarkdownIt("commonmark", {"typographer": True, "html": True, "xhtmlOut": True,
                                   "quotes": list(quotes)})
    # Every link is parsed, whatever its scheme, so that the audit (safety.py) can name and
    # remove a `javascript:` or `file:` link and keep its text, instead of the whole link
    # standing in the text as typed.
    md.validateLink = lambda url: True
    md.enable(["replacements", "smartquotes", "table"])
    md.core.ruler.at("replacements", dashes_and_ellipses)
    md.core.ruler.after("replacements", "spaced_dashes", _spaced_dashes)
    md.use(footnote_plugin)
    # what else Pandoc's Markdown has that a migrant brings (markdown/pandoc.py reads and
    # renders it, or names what chapbook cannot set)
    md.enable("strikethrough")
    use_pandoc_extensions(md)
    md.core.ruler.before("footnote_tail", "first_footnote_definition", _first_definition_wins)
    md.core.ruler.push("table_alignment", _table_alignment)
    md.inline.ruler.before("emphasis", "index_mark", index_mark_rule)
    md.inline.ruler.before("emphasis", "crossref", reference_rule)
    md.inline.ruler.before("link", "citation", citation_rule)
    md.core.ruler.before("footnote_tail", "citation_notes", citations_as_notes)
    md.core.ruler.push("floats", float_rule)
    add_render_rules(md)
    return md


@cache
def _plain_parser(quotes: tuple[str, str, str, str]) -> MarkdownIt:
    """The typographer alone: no Markdown is read, only quotes and dashes."""
    md = MarkdownIt("zero", {"typographer": True, "quotes": list(quotes)})
    md.enable(["replacements", "smartquotes"])
    md.core.ruler.at("replacements", dashes_and_ellipses)
    md.core.ruler.after("replacements", "spaced_dashes", _spaced_dashes)
    return md


def typographic(text: str, language: str = "en") -> str:
    """Plain text (a glossary's term or definition, an index heading, typed in YAML) set as the
    essays are: the language's quotes and apostrophes, en and em dashes. Nothing else is read:
    an asterisk stays an asterisk."""
    [inline] = _plain_parser(quotes(language)).parseInline(text) or [None]
    if inline is None or not inline.children:
        return text
    return "".join(child.content for child in inline.children)


_SPACED_HYPHEN = re.compile(r"(?<= )-(?= )")
_EM_DASH = re.compile(r"(^|[^-])---(?=[^-]|$)", re.MULTILINE)
# between two words or numbers ("1914--1918"), or standing alone between spaces; never before a
# word it opens (" --timeout", an option's name)
_EN_DASH = re.compile(r"(^|[^-\s])--(?=[^-\s]|$)|(^|\s)--(?=\s|$)", re.MULTILINE)


def dashes_and_ellipses(state: Any) -> None:
    """What Pandoc's typographer makes, and no more: `---` an em dash, `--` an en dash, `...`
    an ellipsis. markdown-it's own replacements also made "(c)" ©, "(r)" ®, "+-" ±, two dots
    an ellipsis and "????" "???", which took the third item of "(a), (b), (c)"."""
    if not state.md.options.typographer:
        return
    for token in state.tokens:
        autolink = False
        for child in token.children or []:
            if child.type == "link_open" and child.info == "auto":
                autolink = True
            elif child.type == "link_close" and child.info == "auto":
                autolink = False
            elif child.type == "text" and not autolink and ("--" in child.content
                                                             or "..." in child.content):
                text = _EM_DASH.sub("\\1\u2014", child.content)
                child.content = _EN_DASH.sub(lambda m: (m[1] or m[2] or "") + "\u2013",
                                             text).replace("...", "\u2026")


def _first_definition_wins(state: Any) -> None:
    """Of two definitions of one footnote label, keep the first, as CommonMark does for link
    reference definitions (the plugin keeps the last); the others are recorded for a warning."""
    seen: set[str] = set()
    kept: list[Token] = []
    dropping = False
    for position, token in enumerate(state.tokens):
        if token.type == "footnote_reference_open":
            label = token.meta["label"]
            dropping = label in seen
            if dropping:
                line = next((t.map[0] + 1 for t in state.tokens[position:] if t.map), None)
                state.env.setdefault("chapbook_duplicate_notes", []).append((label, line))
            seen.add(label)
        if not dropping:
            kept.append(token)
        if token.type == "footnote_reference_close":
            dropping = False
    state.tokens = kept


_ALIGNMENT = re.compile(r"text-align:\s*(left|center|right)")


def _table_alignment(state: Any) -> None:
    """A column's alignment (`:--:`) as a class: the sanitizer allows no style attributes."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            match = _ALIGNMENT.search(str(token.attrGet("style") or ""))
            if match:
                token.attrs.pop("style", None)
                token.attrJoin("class", f"align-{match.group(1)}")


def _spaced_dashes(state: Any) -> None:
    """A hyphen standing alone between spaces is a dash the author could not type: en dash."""
    for token in state.tokens:
        for child in token.children or []:
            if child.type == "text" and " - " in child.content:
                child.content = _SPACED_HYPHEN.sub("–", child.content)


def _inline_text(token: Token) -> str:
    return "".join(child.content for child in token.children or []
                   if child.type in ("text", "code_inline"))


def text_words(tokens: Iterable[Token]) -> int:
    """The words of running text in `tokens` (a note's are in its own tokens)."""
    return sum(len(child.content.split()) for token in tokens if token.type == "inline"
               for child in token.children or [] if child.type == "text")


def parse_essay(text: str, chapter_id: str, path: Path, diagnostics: Diagnostics,
                token_rules: Sequence[Callable[[list[Token]], None]] = (),
                root: Path | None = None, direction: str = "ltr",
                citations: str = "", language: str = "en") -> ParsedEssay:
    """Parse one essay; `token_rules` rewrite the stream (term marking) after ids are fixed.

    `root` is the book's folder: images must lie inside it. `citations` is where the book's
    CSL style puts citations ("in-text" or "note"), or "" for a book without a bibliography."""
    root = root or path.parent
    front, text = split_front_matter(text, path, diagnostics)
    env: dict[str, Any] = {"images": ImageResolver(root.resolve()),
                           "citations": bool(citations), "citation_notes": citations == "note"}
    tokens = parser(quotes(language)).parse(text, env)
    _refuse_deep_nesting(tokens, path)
    _refuse_too_many(tokens, env, path)
    images = audit(tokens, path, root, diagnostics)
    env["image_files"] = images.used
    env["image_lookups"] = images.looked_up
    _heading_attributes(tokens, path, diagnostics)
    unread_pandoc(tokens, path, diagnostics)
    refuse_book_classes(tokens, path, diagnostics)
    for what, typed, line in env.get("chapbook_unused_attributes", []):
        _unused_attribute(diagnostics, what, typed, path, line)
    title, title_line, title_tokens = (front.title, front.title_line, []) if front.title \
        else _take_title(tokens)
    headings = _number_headings(tokens, chapter_id, path, diagnostics)
    _point_links_at_headings(tokens, chapter_id, {h.id for h in headings})
    _number_blocks(tokens, chapter_id)
    for rule in token_rules:
        rule(tokens)
    _mark_directions(tokens, direction)
    _mark_greek(tokens)
    _check_footnotes(text, [*title_tokens, *tokens], env, path, diagnostics)
    footnotes, tokens = _gather_footnotes(tokens, chapter_id, env, title_tokens)
    return ParsedEssay(title, title_line, headings, footnotes, tokens, text_words(tokens), env,
                       tuple(title_tokens), front)


_TAGS = re.compile(r"<[^>]*>")
MAX_HEADING_CHARACTERS = 1_000
MAX_NOTES = 5_000
MAX_HEADINGS = 5_000


def _refuse_too_many(tokens: list[Token], env: dict[str, Any], path: Path) -> None:
    """Counts and sizes bounded before anything walks them (ids, terms, the layout)."""
    headings = 0
    for position, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        headings += 1
        line = token.map[0] + 1 if token.map else None
        text = tokens[position + 1].content if position + 1 < len(tokens) else ""
        if len(text) > MAX_HEADING_CHARACTERS:
            raise BookError(f"a heading of {len(text):,} characters", path, line,
                            hint=f"a heading has at most {MAX_HEADING_CHARACTERS:,}; make the "
                                 "rest a paragraph")
        if headings > MAX_HEADINGS:
            raise BookError(f"more than {MAX_HEADINGS:,} headings in one essay", path, line,
                            hint="split the essay into several chapters")
    for token in tokens:
        # what is set as text: raw HTML without its tags (a tag is never broken across lines)
        texts = [_TAGS.sub(" ", token.content)] if token.type == "html_block" else \
            [token.content] if token.type in ("code_block", "fence") else [
                child.content for child in token.children or []
                if child.type in ("text", "code_inline")]
        for text in texts:
            if (word := unbreakable_run(text)) is not None:
                raise BookError(f"a word of {len(word):,} characters ('{word[:20]}…') is longer "
                                "than any line", path, token.map[0] + 1 if token.map else None,
                                hint=f"break it with spaces; a word may have at most "
                                     f"{MAX_WORD} characters")
    notes = env.get("footnotes", {}).get("list", {})
    if len(notes) > MAX_NOTES:
        raise BookError(f"{len(notes):,} notes in one essay; at most {MAX_NOTES:,} are set",
                        path, hint="split the essay into several chapters")


def _refuse_deep_nesting(tokens: list[Token], path: Path) -> None:
    """markdown-it stops parsing at its nesting limit and drops the rest of the essay: rather
    than a silently shortened chapter, a clear error at the line where it happens."""
    limit = parser().options["maxNesting"]
    for token in tokens:
        if token.level >= limit - 1 and token.nesting == 1:
            raise BookError(f"quotes or lists are nested more than {limit - 2} levels deep here",
                            path, token.map[0] + 1 if token.map else None,
                            hint="flatten the nesting; nothing that deep can be set on a page")


def first_strong_direction(text: str) -> str | None:
    """'rtl' or 'ltr' from the first letter with a strong direction (as `dir="auto"` does)."""
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return None


_BLOCKS_WITH_TEXT = {"paragraph_open", "heading_open", "th_open", "td_open"}


# The language a right-to-left script's paragraph is read in, when the essay says no other:
# its script's first language (a reader's voice needs one to read it at all).
_RTL_SCRIPTS = ((re.compile("[\u0590-\u05ff\ufb1d-\ufb4f]"), "he"),
                (re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff"
                            "\ufe70-\ufeff]"), "ar"))


def _mark_directions(tokens: list[Token], base: str) -> None:
    """A paragraph in the other direction from its chapter (Arabic in an English essay, say)
    gets its own `dir`, so it is set from the right edge by every edition, and, if right to
    left, the language of its script (`lang`), so a screen reader reads it in that voice."""
    for opening, inline in itertools.pairwise(tokens):
        if opening.type in _BLOCKS_WITH_TEXT and inline.type == "inline":
            found = first_strong_direction(inline.content)
            if found and found != base:
                opening.attrSet("dir", found)
                language = _script_language(inline.content) if found == "rtl" else None
                if language:
                    opening.attrSet("lang", language)


def _script_language(text: str) -> str | None:
    """The language of the script of the first right-to-left letter, if _RTL_SCRIPTS knows it."""
    for character in text:
        if unicodedata.bidirectional(character) in ("R", "AL"):
            return next((language for script, language in _RTL_SCRIPTS
                         if script.match(character)), None)
    return None


_GREEK_LETTER = "\u0370-\u03ff\u1f00-\u1fff"
_GREEK_RUN = re.compile(rf"[{_GREEK_LETTER}]+(?:[\s\u00b7\u0387,;:'’\-]+[{_GREEK_LETTER}]+)*")


def _mark_greek(tokens: list[Token]) -> None:
    """A run of Greek in the text gets its language: a reader's voice reads it as Greek, and
    every edition sets the whole word in the Greek face (Charis has only the Greek letters of
    IPA and mathematics, so a word would otherwise mix two faces). Polytonic is Ancient Greek."""
    for token in tokens:
        if token.type != "inline" or not token.children:
            continue
        children: list[Token] = []
        for child in token.children:
            if child.type != "text" or not _GREEK_RUN.search(child.content):
                children.append(child)
                continue
            position = 0
            for match in _GREEK_RUN.finditer(child.content):
                if match.start() > position:
                    children.append(text_token(child.content[position:match.start()]))
                ancient = any("\u1f00" <= c <= "\u1fff" for c in match.group())
                children += [Token("lang_open", "span", 1,
                                   meta={"lang": "grc" if ancient else "el"}),
                             text_token(match.group()), Token("lang_close", "span", -1)]
                position = match.end()
            if position < len(child.content):
                children.append(text_token(child.content[position:]))
        token.children = children


_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
_FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^([^\]\s]+)\]:", re.MULTILINE)


def _check_footnotes(text: str, tokens: list[Token], env: dict[str, Any], path: Path,
                     diagnostics: Diagnostics) -> None:
    """A reference with no note is left out of the text; a note never referenced is lost; of
    two definitions of one label the first counts (CommonMark's rule for link references)."""
    for token in tokens:
        for child in token.children or []:
            if child.type == "text" and "[^" in child.content:
                for match in _FOOTNOTE_REF.finditer(child.content):
                    diagnostics.warn("footnote-undefined", f"footnote [^{match.group(1)}] has no "
                                     f"definition, so the call is left out; add a line "
                                     f"`[^{match.group(1)}]: …`", path,
                                     token.map[0] + 1 if token.map else None)
                child.content = _FOOTNOTE_REF.sub("", child.content)
    for label, line in env.get("chapbook_duplicate_notes", []):
        diagnostics.warn("footnote-defined-twice", f"footnote [^{label}] is defined a second "
                         "time here; the first definition is used and this one is left out",
                         path, line)
    notes = env.get("footnotes", {}).get("list", {}).values()
    referenced = {note.get("label") for note in notes}
    for match in _FOOTNOTE_DEFINITION.finditer(text):
        if match.group(1) not in referenced:
            diagnostics.warn("footnote-unused", f"footnote [^{match.group(1)}] is defined but "
                             "never referenced, so it is left out", path,
                             text[: match.start()].count("\n") + 1)


# classes Pandoc gives a meaning chapbook has anyway: its sections are neither numbered nor listed
_QUIET_CLASSES = {"unnumbered", "unlisted"}


def _heading_attributes(tokens: list[Token], path: Path, diagnostics: Diagnostics) -> None:
    """A heading's Pandoc attributes are taken off its text: `#name` is the name links and
    `@sec:` references use (`sec:` dropped, as pandoc-crossref writes it), a class is kept on
    the heading, and anything else is a warning at its line."""
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open" or inline.type != "inline" or not inline.children:
            continue
        last = inline.children[-1]
        found = trailing_attributes(last.content) if last.type == "text" else None
        if found is None:
            continue
        start, read = found
        last.content = last.content[:start].rstrip()
        inline.content = inline.content[:inline.content.rfind("{")].rstrip()
        line = opening.map[0] + 1 if opening.map else None
        for typed, key, value in read:
            if key == "#":  # (pandoc-crossref's `sec:` and Quarto's `sec-` dropped)
                opening.meta["name"] = value.removeprefix("sec:").removeprefix("sec-")
            elif key == "." and value not in _QUIET_CLASSES:
                opening.attrJoin("class", value)
            elif key not in (".", "-"):
                _unused_attribute(diagnostics, "heading", typed, path, line)


def _unused_attribute(diagnostics: Diagnostics, what: str, typed: str, path: Path,
                      line: int | None) -> None:
    diagnostics.warn("unused-attribute", f"the {what}'s attribute '{typed}' is not used; "
                     "remove it", path, line)


def _take_title(tokens: list[Token]) -> tuple[str | None, int | None, list[Token]]:
    """The leading `# ` heading is the chapter title; it leaves the body. Its plain text names
    the chapter (contents, bookmarks, running heads); its tokens, notes included, are set in the
    chapter opener."""
    if len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title = _inline_text(tokens[1]).strip()
        line = tokens[0].map[0] + 1 if tokens[0].map else 1
        inline = tokens[1]
        del tokens[:3]
        return title or None, line, [inline] if title else []
    return None, None, []


def _number_headings(tokens: list[Token], chapter_id: str, path: Path,
                     diagnostics: Diagnostics) -> list[Heading]:
    headings: list[Heading] = []
    used: set[str] = {chapter_id}
    counters: dict[str, int] = {}  # the next number to try for each base: linear, not quadratic
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
        base = ids.heading(chapter_id, token.meta.get("name") or text)
        unique, n = base, counters.get(base, 2)
        while unique in used:
            unique, n = f"{base}-{n}", n + 1
        counters[base] = n
        used.add(unique)
        token.attrSet("id", unique)
        token.meta["level"] = level
        headings.append(Heading(level, text, unique, line))
    return headings


def _point_links_at_headings(tokens: list[Token], chapter_id: str, ids: set[str]) -> None:
    """`[see](#overview)` as an author writes it points at the heading whose id, in the whole
    book, is `<chapter>-overview`."""
    for token in tokens:
        for child in token.children or []:
            href = child.attrGet("href") if child.type == "link_open" else None
            if isinstance(href, str) and href.startswith("#") and href[1:] not in ids \
                    and f"{chapter_id}-{href[1:]}" in ids:
                child.attrSet("href", f"#{chapter_id}-{href[1:]}")


_NUMBERED_BLOCKS = ("paragraph_open", "list_item_open", "th_open", "td_open")


def _number_blocks(tokens: list[Token], chapter_id: str) -> None:
    """Paragraphs, list items and table cells get ids too: the print map places page breaks
    by them, so a printed page that begins inside any of them has a marker in the EPUB."""
    number = 0
    for token in tokens:
        if token.type in _NUMBERED_BLOCKS and not token.hidden:
            number += 1
            token.attrSet("id", ids.block(chapter_id, number))


def _gather_footnotes(tokens: list[Token], chapter_id: str, env: dict[str, Any],
                      title_tokens: Sequence[Token] = ()) -> tuple[list[Footnote], list[Token]]:
    """Take the footnote block out of the body; each note keeps its own tokens. A note whose
    call is nowhere a reader can reach (an inline note `^[…]` inside a definition no one
    cites) is left out: its backlink would lead nowhere."""
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
    reachable: set[int] = set()
    waiting = _calls([*title_tokens, *body])
    while waiting:
        note_id = waiting.pop()
        if note_id in notes and note_id not in reachable:
            reachable.add(note_id)
            waiting |= _calls(notes[note_id])
    notes = {note_id: note for note_id, note in notes.items() if note_id in reachable}
    # Number each note's calls again, counting only the calls a reader meets (not those in a
    # note left out, nor in an image's alt text): each backlink then has its call.
    calls: dict[int, int] = {}
    for token in [*title_tokens, *body, *(t for note_id in sorted(notes) for t in notes[note_id])]:
        for child in token.children or []:
            if child.type == "footnote_ref":
                child.meta["subId"] = calls.get(child.meta["id"], 0)
                calls[child.meta["id"]] = child.meta["subId"] + 1
    footnotes = [Footnote(number, ids.note(chapter_id, number), ids.noteref(chapter_id, number),
                          tuple(notes[note_id]), max(1, calls.get(note_id, 1)))
                 for number, note_id in enumerate(sorted(notes), 1)]
    env["chapbook_notes"] = {note_id: note for note_id, note in zip(sorted(notes), footnotes,
                                                                     strict=True)}
    return footnotes, body


def _calls(tokens: Sequence[Token]) -> set[int]:
    """The notes these tokens call."""
    return {child.meta["id"] for token in tokens for child in (token.children or [])
            if child.type == "footnote_ref"}
