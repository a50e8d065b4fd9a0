"""YAML front matter at the top of an essay, as Pandoc, Jekyll and Quarto read it:

    ---
    title: "Introduction: Reading the Middle Sea"
    subtitle: Why ports remember what capitals forget
    authors: [Miriam Adler, {name: Yusuf Haddad, affiliation: …, bio: …, orcid: …}]
    abstract: One paragraph.
    ---

The block is taken out of the text (its lines left blank, so every later line keeps its number),
and its keys are checked: an unknown key or a value of the wrong kind is a warning at its line.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.model.essay import Contributor, FrontMatter
from chapbook.schema import MAX_TEXT_VALUE, compose_bounded, value_trouble

_BLOCK = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
KEYS = ("title", "subtitle", "authors", "abstract")


MAX_ABSTRACT = 20_000  # characters: a long abstract, not a chapter


CONTRIBUTOR_KEYS = ("name", "affiliation", "bio", "orcid")
_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")


# Pandoc's keys for what book.yml says of a chapter: where to say it instead
_KEPT_ELSEWHERE = {
    "lang": "a chapter's language is `language:` under the chapter in book.yml",
    "language": "a chapter's language is `language:` under the chapter in book.yml",
    "author": "use `authors:` (a list), here or under the chapter in book.yml",
    "bibliography": "the bibliography is the book's: `bibliography:` in book.yml",
    "csl": "the citation style is the book's: `csl:` in book.yml",
}

def contributors(value: object) -> tuple[tuple[Contributor, ...], str]:
    """Authors as YAML gives them: a name, or a list of names and of mappings (`name:`,
    `affiliation:`, `bio:`, `orcid:`). Returns them, or () and what is wrong."""
    items = [value] if isinstance(value, (str, dict)) else value
    if not isinstance(items, list):
        return (), "should be a name or a list of names"
    found: list[Contributor] = []
    for item in items:
        if isinstance(item, dict):  # `orcid: 1234` is a number to YAML: said to be no iD below
            item = {key: str(value) if isinstance(value, (int, float)) and
                    not isinstance(value, bool) else value for key, value in item.items()}
        if isinstance(item, str):
            if item.strip():
                found.append(Contributor(" ".join(item.split())))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) \
                or not item["name"].strip():
            return (), "should be names, or entries with a `name:`"
        unknown = [str(k) for k in item if k not in CONTRIBUTOR_KEYS]
        if unknown:
            return (), (f"has the key '{unknown[0]}', which is not one chapbook reads "
                        f"({', '.join(CONTRIBUTOR_KEYS)})")
        if not all(isinstance(item.get(k, ""), str) for k in CONTRIBUTOR_KEYS):
            return (), "should give each of name, affiliation, bio and orcid as text"
        orcid = item.get("orcid", "").strip()
        if orcid and not (match := _ORCID.match(orcid)):
            return (), f"gives '{orcid[:40]}' as an ORCID iD, which is not one (0000-0002-…)"
        found.append(Contributor(" ".join(item["name"].split()),
                                 " ".join(item.get("affiliation", "").split()),
                                 " ".join(item.get("bio", "").split()),
                                 match[1] if orcid and match else ""))
    return tuple(found), ""


def split_front_matter(text: str, path: Path,
                       diagnostics: Diagnostics) -> tuple[FrontMatter, str]:
    """The essay's front matter and its text with the block blanked out."""
    match = _BLOCK.match(text)
    if not match:
        return FrontMatter(), text
    block = match.group(1) or ""
    lines = match.group(0).count("\n") + (0 if match.group(0).endswith("\n") else 1)
    blanked = "\n" * match.group(0).count("\n") + text[match.end():]
    try:
        node = compose_bounded(block)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        raise BookError(f"the front matter is not valid YAML: {getattr(err, 'problem', err)}",
                        path, line, hint="fix the block between the `---` lines, or remove it"
                        ) from err
    if node is None:
        return FrontMatter(lines=lines), blanked
    if not isinstance(node, yaml.MappingNode):
        diagnostics.warn("front-matter", "the front matter should be `key: value` lines; it is "
                         "left out", path, 2)
        return FrontMatter(lines=lines), blanked
    values: dict[str, object] = {}
    title_line = None
    for key_node, value_node in node.value:
        key = str(key_node.value)
        line = key_node.start_mark.line + 2
        if key not in KEYS:
            where = _KEPT_ELSEWHERE.get(key)
            diagnostics.warn("front-matter", f"the front matter key '{key}' is not one chapbook "
                             f"reads; it is left out (known keys: {', '.join(KEYS)})"
                             + (f"; {where}" if where else ""), path, line)
            continue
        try:
            value = yaml.safe_load(yaml.serialize(value_node))
        except (yaml.YAMLError, ValueError, OverflowError):  # `0x`, `1:x`: PyYAML's own bugs
            diagnostics.warn("front-matter", f"`{key}` cannot be read as YAML; it is left out",
                             path, line)
            continue
        if key == "authors":
            authors, problem = contributors(value)
            if problem:
                diagnostics.warn("front-matter", f"`authors` {problem}; it is left out", path,
                                 line)
                continue
            value = authors
        elif not isinstance(value, str) or not value.strip():
            diagnostics.warn("front-matter", f"`{key}` should be text; it is left out", path,
                             line)
            continue
        else:
            value = " ".join(value.split())
        trouble = value_trouble(value if isinstance(value, str) else " ".join(
            f"{a.name} {a.affiliation} {a.bio} {a.orcid}" for a in value),
            MAX_ABSTRACT if key in ("abstract", "authors") else MAX_TEXT_VALUE)
        if trouble:
            diagnostics.warn("front-matter", f"`{key}` {trouble}; it is left out", path, line)
            continue
        if key == "title":
            title_line = line
        values[key] = value
    return FrontMatter(title_line=title_line, lines=lines, **values), blanked  # type: ignore[arg-type]
