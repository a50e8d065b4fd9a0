"""Finding glossary and index terms in the text, as a rule over markdown-it's token stream.

Only text tokens are searched: never inside a tag, a URL, a link's text (for glossary links), code,
or an id. Each match gets a zero-width anchor (`term_anchor` token) whose id the PDF builder looks
up in WeasyPrint's layout to learn the page; the first use of a glossary term in a chapter also
becomes a link to its entry (`term_open`/`term_close`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from chapbook import ids
from chapbook.codepoints import runs
from chapbook.model.terms import Found, Occurrence

if TYPE_CHECKING:
    from chapbook.model.terms import Glossary, GlossaryEntry, Index


def _marks() -> str:
    """Every combining mark of the Basic Multilingual Plane, as a character class's ranges:
    Devanagari's vowel signs and virama, Hebrew's points, a combining dot (`i̇`). A word goes
    on through them, as `\\w` does not."""
    marks = runs(c for c in range(0x300, 0x10000) if unicodedata.category(chr(c)) in ("Mn", "Mc"))
    return "".join(f"{chr(a)}-{chr(b)}" if a < b else chr(a) for a, b in marks)


# Scripts written without spaces between words (Chinese and Japanese: Han and kana): each
# character is a word of its own, so a form of several is found inside a run of them, as an
# indexer of such a text finds it.
_UNSPACED = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_LETTER = rf"(?:(?![{_UNSPACED}])[\w{_marks()}])"
_WORD = re.compile(rf"[{_UNSPACED}]|{_LETTER}+(?:[-‐]{_LETTER}+)*")
_URL = re.compile(r"\b(?:https?|ftp|mailto|file):\S+|\bwww\.\S+", re.IGNORECASE)
# what may stand between the words of one form: a space, an apostrophe ("keeper's"), both (a
# plural's, "keepers' wives"), or nothing (between the characters of Chinese or Japanese)
_JOIN = re.compile(r"['’]?\s+|['’]|")
_END = ""  # the key under which a trie node keeps the form that ends there


def _words(text: str) -> list[str]:
    return [w.casefold().replace("‐", "-") for w in _WORD.findall(text)]


class WordTrie:
    """Every form as a path of whole words, so a text is searched once, word by word, and all
    forms that start at a word are found, longest and shortest alike (a phrase can belong to a
    sub-entry and its heading's own shorter form at once)."""

    def __init__(self, owners: Iterable[Any]) -> None:
        self.root: dict[str, Any] = {}
        self.owners: dict[str, list[Any]] = {}
        for owner in owners:
            for form in owner.forms:
                words = _words(form)
                if not words:
                    continue
                key = " ".join(words)
                node = self.root
                for word in words:
                    node = node.setdefault(word, {})
                node[_END] = key
                if owner not in self.owners.setdefault(key, []):
                    self.owners[key].append(owner)

    def __bool__(self) -> bool:
        return bool(self.root)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, form) of every form in the text, by start, longest first."""
        words = [(m.start(), m.end(), m.group().casefold().replace("‐", "-"))
                 for m in _WORD.finditer(text)]
        found = []
        for i, (start, _, _) in enumerate(words):
            node = self.root
            for j in range(i, len(words)):
                if j > i and not _JOIN.fullmatch(text[words[j - 1][1]:words[j][0]]):
                    break
                node = node.get(words[j][2])
                if node is None:
                    break
                if _END in node:
                    found.append((start, words[j][1], node[_END]))
        found.sort(key=lambda hit: (hit[0], -hit[1]))
        return found


class TermMatcher:
    """Built once per book from its glossary and index; makes one token rule per chapter."""

    def __init__(self, glossary: Glossary | None, index: Index | None) -> None:
        self.glossary = WordTrie(glossary.entries if glossary else [])
        self.index = WordTrie(h for h in (index.all_headings() if index else []) if h.forms)

    def rule(self, chapter_id: str, chapter_number: int,
             found: Found) -> Callable[[list[Token]], None]:
        def mark(tokens: list[Token]) -> None:
            _ChapterPass(self, chapter_id, chapter_number, found).run(tokens)
        return mark


class _ChapterPass:
    def __init__(self, matcher: TermMatcher, chapter_id: str, number: int, found: Found) -> None:
        self.matcher = matcher
        self.chapter_id = chapter_id
        self.number = number
        self.found = found
        self.linked: set[str] = set()
        self.serial = 0
        self.section = 0
        self.section_title = ""

    def anchor_id(self) -> str:
        self.serial += 1
        return ids.term_anchor(self.chapter_id, self.serial)

    def run(self, tokens: list[Token]) -> None:
        in_heading = False
        # A note's words belong to the section of its first call, not to the last section
        # (the notes follow the chapter's text in the token stream); a note called only from
        # the title belongs before the first section.
        note_sections: dict[int, tuple[int, str]] = {}
        for token in tokens:
            if token.type == "footnote_open":
                self.section, self.section_title = note_sections.get(token.meta["id"], (0, ""))
            elif token.type == "heading_open":
                in_heading = True
                if token.meta.get("level") == 2:
                    self.section += 1
            elif token.type == "heading_close":
                in_heading = False
            elif token.type == "inline" and token.children is not None:
                if in_heading:
                    self.section_title = "".join(c.content for c in token.children)
                for child in token.children:
                    if child.type == "footnote_ref":
                        note_sections.setdefault(child.meta["id"],
                                                 (self.section, self.section_title))
                line = token.map[0] + 1 if token.map else 0
                token.children = self.rewrite(token.children, in_heading, line)

    def occurrence(self, anchor: str, line: int) -> Occurrence:
        return Occurrence(self.chapter_id, self.number, anchor, self.section,
                          self.section_title, line)

    def rewrite(self, children: list[Token], in_heading: bool, line: int) -> list[Token]:
        children = _join_lines(children)
        # A hand-placed mark anchors the word just before it (`alliance{^Diplomacy}`), or the
        # word after it when it opens the paragraph.
        marks_of: dict[int, list[tuple[tuple[str, ...], bool]]] = {}  # text → (path, at its end)
        leading: list[tuple[str, ...]] = []
        last_text: int | None = None
        for i, child in enumerate(children):
            if child.type == "text" and child.content.strip():
                last_text = i
                if leading:
                    marks_of.setdefault(i, []).extend((path, False) for path in leading)
                    leading = []
            elif child.type == "index_mark":
                if last_text is None:
                    leading.append(child.meta["path"])
                else:
                    marks_of.setdefault(last_text, []).append((child.meta["path"], True))
        out: list[Token] = []
        link_depth = 0
        autolink = False
        for i, child in enumerate(children):
            if child.type == "link_open":
                link_depth += 1
                autolink = child.markup in ("autolink", "linkify")
            elif child.type == "link_close":
                link_depth -= 1
                autolink = False
            if child.type == "text" and child.content and not autolink:
                out.extend(self.split(child.content, not in_heading and not link_depth, line,
                                      marks_of.get(i, [])))
            elif child.type != "index_mark":
                out.append(child)
        for path in leading:  # a mark with no word at all near it: an empty anchor
            anchor = self.anchor_id()
            self.found.marks.append((path, self.occurrence(anchor, line)))
            out += [_anchor_open(anchor), Token("term_anchor_close", "span", -1)]
        return out

    def split(self, text: str, glossary: bool, line: int,
              marks: list[tuple[tuple[str, ...], bool]]) -> list[Token]:
        """The text as tokens: each found word anchored, first glossary uses linked.

        An anchor wraps the first word of what it marks, never nothing: WeasyPrint breaks lines
        badly around empty inline boxes. Words are atomic, so anchors and links nest properly.
        """
        anchors: dict[int, str] = {}  # word start → anchor id
        spans: list[tuple[int, int, GlossaryEntry]] = []
        matcher = self.matcher
        urls = [m.span() for m in _URL.finditer(text)]

        def anchor_at(position: int) -> str:
            if position not in anchors:
                anchors[position] = self.anchor_id()
            return anchors[position]

        def in_url(position: int) -> bool:
            return any(start <= position < end for start, end in urls)

        for start, _, form in matcher.index.find(text) if matcher.index else ():
            if in_url(start):
                continue
            anchor = anchor_at(start)
            for heading in matcher.index.owners[form]:
                self.found.index.append((heading, self.occurrence(anchor, line)))
        covered = 0  # glossary terms do not nest: the longest form at a place wins
        for start, end, form in matcher.glossary.find(text) if glossary else ():
            if start < covered or in_url(start):
                continue
            covered = end
            anchor = anchor_at(start)
            for entry in matcher.glossary.owners[form]:
                self.found.glossary.append((entry, self.occurrence(anchor, line)))
                if entry.id not in self.linked:
                    self.linked.add(entry.id)
                    spans.append((start, end, entry))
        words = list(_WORD.finditer(text)) if marks else []
        for path, at_end in marks if words else ():
            anchor = anchor_at((words[-1] if at_end else words[0]).start())
            self.found.marks.append((path, self.occurrence(anchor, line)))
        if not anchors:
            return [text_token(text)]
        word_ends = {start: _WORD.match(text, start).end() for start in anchors}  # type: ignore[union-attr]
        opening = {start: entry for start, _, entry in spans}
        closing = {end for _, end, _ in spans}
        anchor_closing = set(word_ends.values())
        cuts = sorted({0, len(text), *anchors, *anchor_closing, *opening, *closing})
        out: list[Token] = []
        for position in cuts:
            if position in anchor_closing:
                out.append(Token("term_anchor_close", "span", -1))
            if position in closing:
                out.append(Token("term_close", "a", -1))
            if position in opening:
                out.append(Token("term_open", "a", 1, meta={"target": opening[position].id}))
            if position in anchors:
                out.append(_anchor_open(anchors[position]))
            following = next((c for c in cuts if c > position), None)
            if following is not None:
                out.append(text_token(text[position:following]))
        return out


def _join_lines(children: list[Token]) -> list[Token]:
    """Text broken over source lines as one text, so that a phrase the author wrapped
    ("maritime⏎law") is found like any other; the line end stays in it as a space would."""
    out: list[Token] = []
    for child in children:
        previous = out[-1] if out else None
        if child.type == "text" and previous is not None and previous.type == "text" \
                and previous.meta.get("joined"):
            out[-1] = text_token(previous.content + child.content)
            out[-1].meta["joined"] = True
        elif child.type == "softbreak" and previous is not None and previous.type == "text":
            out[-1] = text_token(previous.content + "\n")
            out[-1].meta["joined"] = True
        else:
            out.append(child)
    for token in out:
        token.meta.pop("joined", None)
    return out


def _anchor_open(anchor: str) -> Token:
    return Token("term_anchor_open", "span", 1, meta={"id": anchor})


def text_token(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


# --- hand-placed index marks: `{^heading}` or `{^heading > sub-entry}` ---------------------

_MARK = re.compile(r"\{\^([^{}\n]+)\}")


def index_mark_rule(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("{^", state.pos):
        return False
    match = _MARK.match(state.src, state.pos)
    if not match:
        return False
    if not silent:
        path = tuple(part.strip() for part in match.group(1).split(">") if part.strip())
        token = state.push("index_mark", "span", 0)
        token.meta = {"path": path[:2]}
    state.pos = match.end()
    return True
