"""Citations as Pandoc writes them, parsed into tokens the collect phase formats with the book's
CSL style (collect/citations.py):

    [@waterbury2002]   [@waterbury2002, p. 33]   [see @cascao2010; @waterbury2002, chap. 2]
    [-@waterbury2002] (the year alone)           @waterbury2002 says… (the author in the text)

With a notes style (Chicago notes), a citation in the text becomes a footnote of its own; one
inside a note stays where it is."""

from __future__ import annotations

import re
from typing import Any

from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

KEY = r"[\w][\w:.#$%&+?<>~/-]*[\w]|[\w]"
_ITEM = re.compile(rf"^\s*(?P<prefix>.*?)\s*(?P<suppress>-)?@(?P<key>{KEY})"
                   r"(?:\s*,\s*(?P<rest>.*?))?\s*$", re.DOTALL)
_NARRATIVE = re.compile(rf"@(?P<key>{KEY})")
# "p. 33", "pp. 33–35", "chap. 2", "sec. 4", "33": a locator and its label; the rest a suffix.
# A range may be typed "33-35", "33--35" (BibTeX's en dash, as Pandoc takes it) or "33–35".
_LOCATOR = re.compile(r"^(?:(?P<label>p|pp|page|pages|chap|chapter|sec|section|para|fig|n|"
                      r"vol|col|l|ll|par)\.?\s*)?(?P<value>[\dIVXLCivxlc]+(?:\s*(?:--?|–)\s*"
                      r"[\dIVXLCivxlc]+)?)(?P<suffix>.*)$", re.DOTALL)
LABELS = {"p": "page", "pp": "page", "page": "page", "pages": "page", "chap": "chapter",
          "chapter": "chapter", "sec": "section", "section": "section", "para": "paragraph",
          "par": "paragraph", "fig": "figure", "n": "note", "vol": "volume", "col": "column",
          "l": "line", "ll": "line"}


def _items(inside: str) -> list[dict[str, Any]] | None:
    """The citations of a bracket (`see @a, p. 3; @b`), or None if it is not a citation."""
    items = []
    for part in inside.split(";"):
        found = _ITEM.match(part)
        if found is None or "@" in found["prefix"]:
            return None
        items.append({"key": found["key"], "prefix": _dashed(found["prefix"]),
                      **_located((found["rest"] or "").strip()),
                      "suppress_author": bool(found["suppress"])})
    return items


def _located(rest: str) -> dict[str, str]:
    """What follows a key: its locator and the locator's label, and the rest a suffix."""
    located = _LOCATOR.match(rest) if rest else None
    if located is None:
        return {"label": "page", "locator": "", "suffix": _dashed(rest)}
    return {"label": LABELS.get((located["label"] or "p").lower(), "page"),
            "locator": re.sub(r"\s*(?:--?|–)\s*", "–", located["value"]),
            "suffix": _dashed(located["suffix"].strip(" ,"))}


def _dashed(text: str) -> str:
    """BibTeX's and Pandoc's dashes typed in a prefix or a suffix (`vol. 4, pp. 327--331`)."""
    return text.replace("---", "—").replace("--", "–")


# `@key [p. 33]`: a narrative citation's locator, in brackets after it (Pandoc's syntax)
_NARRATIVE_LOCATOR = re.compile(r" ?\[(?P<inside>[^\[\]@^]*)\](?![(\[])")


def citation_rule(state: StateInline, silent: bool) -> bool:
    """`[@key…]` (a bracket of citations) or `@key` (the author in the text). Not after a letter
    or digit (an e-mail address), and never `[^…]` (a note) or `@fig:…` (a cross-reference,
    taken first)."""
    source, start = state.src, state.pos
    if source[start] == "[":
        end = source.find("]", start + 1)
        if end < 0 or "@" not in source[start:end] or source[start + 1:start + 2] == "^" \
                or source[end + 1:end + 2] in ("(", "["):
            return False
        items = _items(source[start + 1:end])
        if items is None:
            return False
        mode, after = "bracket", end + 1
    elif source[start] == "@" and state.env.get("citations") \
            and not (start and source[start - 1].isalnum()):  # only in a book that cites
        found = _NARRATIVE.match(source, start)
        if found is None:
            return False
        after = found.end()
        bracket = _NARRATIVE_LOCATOR.match(source, after)
        items = [{"key": found["key"], "prefix": "", "suppress_author": False,
                  **_located(bracket["inside"].strip() if bracket else "")}]
        mode, after = "narrative", bracket.end() if bracket else after
    else:
        return False
    if not silent:
        token = state.push("citation", "", 0)
        token.content = source[start:after]
        token.meta = {"items": items, "mode": mode}
    state.pos = after
    return True


def citations_as_notes(state: Any) -> None:
    """Core rule, for a notes style (`env["citation_notes"]`): each citation in the text
    becomes an inline note holding it, as `^[[@key]]` would; one in a note stays put. The notes
    are then numbered again in the order their calls are read."""
    if not state.env.get("citation_notes"):
        return
    notes = state.env.setdefault("footnotes", {}).setdefault("list", {})
    in_definition = False
    made = False
    for token in state.tokens:
        if token.type == "footnote_reference_open":
            in_definition = True
        elif token.type == "footnote_reference_close":
            in_definition = False
        if in_definition or token.type != "inline":
            continue
        children = token.children or []
        for position, child in reversed(list(enumerate(children))):
            if child.type != "citation":
                continue
            number = len(notes)
            line = token.map[0] + 1 if token.map else None
            cited = child
            if child.meta["mode"] == "narrative":
                # "Kraut¹ traces…": the author stays in the sentence, the work goes in the note
                cited = Token("citation", "", 0)
                cited.content, cited.meta = child.content, {**child.meta, "mode": "bracket"}
                child.meta.update({"mode": "author", "line": line, "own_note": False})
                children.insert(position + 1, Token("footnote_ref", "", 0))
                position += 1
            cited.meta["line"] = line
            cited.meta["own_note"] = True
            notes[number] = {"content": cited.content, "tokens": [cited]}
            call = Token("footnote_ref", "", 0)
            call.meta = {"id": number}
            children[position] = call
            if cited is child:
                _set_after_punctuation(children, position)
            made = True
    if made:
        _renumber(state.tokens, state.env["footnotes"])


def _set_after_punctuation(children: list[Token], position: int) -> None:
    """A note's call as Chicago sets it: no space before it ("London [@x]." and "London\n[@x]."
    are "London.¹"), after the punctuation that follows it."""
    before = children[position - 1] if position else None
    if before is not None and before.type == "softbreak":
        before.type, before.content = "text", ""
    elif before is not None and before.type == "text":
        before.content = before.content.rstrip()
    after = children[position + 1] if position + 1 < len(children) else None
    if after is not None and after.type == "text" and after.content[:1] in (".", ",", ";", ":"):
        mark, after.content = after.content[0], after.content[1:]
        text = Token("text", "", 0)
        text.content = mark
        children.insert(position, text)


def _renumber(tokens: list[Token], footnotes: dict[str, Any]) -> None:
    """Note ids in the order their first calls are read (markdown-it numbers them so)."""
    notes: dict[int, dict[str, Any]] = footnotes["list"]
    order: list[int] = []
    calls: list[Token] = []

    def visit(children: list[Token]) -> None:
        for child in children:
            if child.type != "footnote_ref":
                continue
            calls.append(child)
            if child.meta["id"] not in order:
                order.append(child.meta["id"])
                visit(notes.get(child.meta["id"], {}).get("tokens", []))

    for token in tokens:
        if token.type == "inline":
            visit(token.children or [])
    order += [number for number in notes if number not in order]
    new = {old: position for position, old in enumerate(order)}
    for call in calls:
        call.meta["id"] = new[call.meta["id"]]
    footnotes["list"] = {new[old]: notes[old] for old in order}
    for label, number in footnotes.get("refs", {}).items():
        footnotes["refs"][label] = new.get(number, number)
