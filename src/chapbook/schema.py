"""A declared schema over composed YAML: every value keeps the mark of where it stands, and every
mistake is collected (file, line, column, hint) instead of stopping at the first.

Used for book.yml, glossary.yml and index.yml.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chapbook.errors import BookError


@dataclass(frozen=True)
class Key:
    """One key of a mapping: how to read its node, whether it must be there, what it is for."""

    read: Callable[[Reader, yaml.Node, str], Any]
    required: bool = False
    example: str = ""


class Reader:
    """Walks the composed YAML, collecting every mistake instead of stopping at the first."""

    def __init__(self, path: Path, document: str = "the manifest") -> None:
        self.path = path
        self.document = document  # what the file is, for errors about its top level
        self.errors: list[BookError] = []

    def error(self, node: yaml.Node | None, message: str, hint: str | None = None) -> None:
        line = column = None
        if node is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.errors.append(BookError(message, self.path, line, column, hint))

    def mapping(self, node: yaml.Node, where: str, keys: dict[str, Key]) -> dict[str, Any]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{where or self.document} should be a mapping of keys to values",
                       f"write it as `key: value` lines; the keys it takes: {', '.join(keys)}")
            return {}
        values: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            if name not in keys:
                close = difflib.get_close_matches(name, keys, n=1)
                hint = (f"did you mean '{close[0]}'?" if close
                        else f"the keys it takes: {', '.join(keys)}")
                self.error(key_node, f"unknown key '{name}' in {where or self.document}", hint)
                continue
            if name in values:
                self.error(key_node, f"'{name}' is given twice in {where or self.document}",
                           "keep one of them")
                continue
            values[name] = keys[name].read(self, value_node, f"{where}.{name}" if where else name)
            values[f"{name}@node"] = value_node
        for name, key in keys.items():
            if key.required and name not in values:
                self.error(node, f"{where or self.document} has no '{name}'",
                           f"add it, for example `{name}: {key.example}`")
        return values


MAX_TEXT_VALUE = 2000  # characters: a title or a description, not a chapter (headings: 1000)
MAX_WORD = 500  # characters between places a line may break
# Where a line may break besides white space: after a slash or a hyphen, and anywhere in the
# scripts written without spaces (Thai, Lao, Myanmar, Khmer, Chinese, Japanese).
_UNBREAKABLE = re.compile(
    r"[^\s/\-\u00ad\u2010-\u2014\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
    r"\u2e80-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{" + str(MAX_WORD + 1) + ",}")


def unbreakable_run(text: str) -> str | None:
    """A run of text longer than MAX_WORD with nowhere to break a line: the line breaker tries
    every split of it on every line (2,000 characters take ten seconds to set, 5,000 three
    minutes), and no page could hold it anyway."""
    found = _UNBREAKABLE.search(text)
    return found.group() if found else None


def text_value(reader: Reader, node: yaml.Node, where: str) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        reader.error(node, f"{where} should be a text value",
                     'write it on the same line after the colon, in quotes if it contains ": "')
        return None
    value = str(node.value).strip()
    if not value:
        reader.error(node, f"{where} is empty", "give it a value or remove the key")
        return None
    trouble = value_trouble(value)
    if trouble is not None:
        reader.error(node, f"{where} {trouble}", "shorten it; a long text belongs in an essay"
                     if trouble.startswith("is ") else
                     "remove it (a YAML escape such as \\f or \\x07 makes one)")
        return None
    if (word := unbreakable_run(value)) is not None:
        reader.error(node, f"{where} has a word of {len(word):,} characters ('{word[:20]}…'), "
                     "longer than any line", f"break it with spaces; a word may have at most "
                     f"{MAX_WORD} characters")
        return None
    return value


# Unicode's noncharacters, as the inside of a regex class: U+FDD0–U+FDEF and the last two code
# points of every plane. XML forbids them: an EPUB holding one is a fatal error (RSC-016).
NONCHARACTERS = "\ufdd0-\ufdef" + "".join(chr(end) for plane in range(17)
                                         for end in (plane * 0x10000 + 0xFFFE,
                                                     plane * 0x10000 + 0xFFFF))
_NONCHARACTER = re.compile(f"[{NONCHARACTERS}]")


def visible(text: str) -> bool:
    """Whether the text shows anything: not only white space and format characters (a
    zero-width space alone made an EPUB document whose <title> was empty)."""
    return any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text)


def unprintable(character: str) -> bool:
    """Control characters (but tab and line end), lone surrogates and noncharacters: XML
    forbids them, so the EPUB could not be written."""
    return (unicodedata.category(character) in ("Cc", "Cs") and character not in "\t\n") \
        or _NONCHARACTER.match(character) is not None


def value_trouble(value: str, longest: int = MAX_TEXT_VALUE) -> str | None:
    """What makes a text value unusable, said after its name: a character no edition can hold
    (YAML escapes such as `\\x01` make them) or a length no title or description has."""
    if len(value) > longest:
        return f"is {len(value):,} characters long, more than the {longest:,} a value may have"
    bad = next((c for c in value if unprintable(c)), None)
    if bad is not None:
        return f"contains U+{ord(bad):04X}, a control character no edition can hold"
    return None


def flag_value(reader: Reader, node: yaml.Node, where: str) -> bool | None:
    """true or false (YAML's yes/no/on/off are not taken: they surprise)."""
    if isinstance(node, yaml.ScalarNode) and str(node.value).lower() in ("true", "false"):
        return str(node.value).lower() == "true"
    reader.error(node, f"{where} should be true or false", f"write `{where.rsplit('.', 1)[-1]}: "
                 "true` or `false`")
    return None


def text_list(reader: Reader, node: yaml.Node, where: str) -> tuple[str, ...]:
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        reader.error(node, f"{where} should be a list", f"write it as [{node.value}]")
        return ()
    if not isinstance(node, yaml.SequenceNode):
        reader.error(node, f"{where} should be a list of text values",
                     "write it as `[one, two]` or as `- item` lines")
        return ()
    items = (text_value(reader, item, f"{where}[{i + 1}]") for i, item in enumerate(node.value))
    return tuple(item for item in items if item)


def list_of(keys: dict[str, Key]) -> Callable[[Reader, yaml.Node, str], list[dict[str, Any]]]:
    def read(reader: Reader, node: yaml.Node, where: str) -> list[dict[str, Any]]:
        if not isinstance(node, yaml.SequenceNode):
            reader.error(node, f"{where} should be a list", "write each entry as a `- ` line")
            return []
        entries = []
        for i, item in enumerate(node.value):
            if isinstance(item, yaml.ScalarNode) and "file" in keys:  # Quarto's `- intro.md`
                reader.error(item, f"{where}[{i + 1}] should be a mapping of keys to values",
                             f"write it `- file: {item.value}`, as each chapter is")
                entry: dict[str, Any] = {}
            else:
                entry = reader.mapping(item, f"{where}[{i + 1}]", keys)
            entry["@line"] = item.start_mark.line + 1
            entry["@node"] = item
            entries.append(entry)
        return entries
    return read


def struct(keys: dict[str, Key]) -> Callable[[Reader, yaml.Node, str], dict[str, Any]]:
    def read(reader: Reader, node: yaml.Node, where: str) -> dict[str, Any]:
        return reader.mapping(node, where, keys)
    return read




_YAML_HINT = "check the indentation and quote values that contain ': ' or '#'"
_YAML_HINTS = {
    "mapping values are not allowed here":
        "a value on this line contains ': '; put the whole value in quotes",
    "expected <block end>": "this line is indented differently from the lines around it; "
                            "line it up with its siblings",
    "found character '\\t' that cannot start any token":
        "YAML does not allow tabs for indentation; indent with spaces",
}


MAX_YAML_DEPTH = 50
MAX_YAML_BYTES = 4 * 1024 * 1024
_BOUNDS = {"aliases": "write the value out where it is used: chapbook's files take no "
                      "aliases (`*name`)",
           "nested": f"no file of a book nests deeper than {MAX_YAML_DEPTH} levels"}


class _BoundedComposing:
    """The safe loader, bounded: no aliases (12 KB of nested aliases expand to gigabytes when
    the values are walked) and no nesting past MAX_YAML_DEPTH (Python's recursion limit)."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            raise yaml.MarkedYAMLError(None, None, "aliases are not allowed here",
                                       self.peek_event().start_mark)
        depth = getattr(self, "_depth", 0) + 1
        if depth > MAX_YAML_DEPTH:
            raise yaml.MarkedYAMLError(None, None, "values are nested too deep",
                                       self.peek_event().start_mark)
        self._depth = depth
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth = depth - 1


class BoundedLoader(_BoundedComposing, yaml.SafeLoader):
    """PyYAML's safe loader, bounded; its messages are the ones _YAML_HINTS knows."""


try:
    from yaml._yaml import CParser  # libyaml's parser, which PyYAML's wheels carry
except ImportError:  # a PyYAML built without libyaml
    FastBoundedLoader: type = BoundedLoader
else:
    class FastBoundedLoader(_BoundedComposing, yaml.composer.Composer, CParser,  # type: ignore[no-redef]
                            yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """The same, its parsing done by libyaml (five times as fast on an index; composing
        the nodes, where the bounds are checked, stays in Python). A file it cannot parse is
        parsed again by BoundedLoader, whose messages the hints know."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)


def compose_bounded(text: str) -> yaml.Node | None:
    """The text's YAML nodes, by libyaml; a mistake is reported as BoundedLoader reports it."""
    try:
        return yaml.compose(text, Loader=FastBoundedLoader)  # type: ignore[no-any-return]
    except yaml.YAMLError:
        return yaml.compose(text, Loader=BoundedLoader)  # type: ignore[no-any-return]


def _yaml_hint(problem: str, text: str, mark: yaml.Mark | None) -> str:
    """What to do about a YAML syntax error. "Mapping values are not allowed here" means a
    second `: ` where YAML reads a value: on the line of its key, a value with a colon in it;
    with no key before it on its line, a key indented more than its siblings, which YAML
    reads as the rest of the value above it."""
    kind = problem.split(",")[0]
    for word, hint in _BOUNDS.items():
        if word in kind:
            return hint
    if kind == "mapping values are not allowed here" and mark is not None:
        lines = text.split("\n")
        before = lines[mark.line][:mark.column] if mark.line < len(lines) else ""
        if ": " not in before and not before.lstrip().startswith(("- ", "-\t")):
            key = before.strip()
            return (f"'{key}' is indented more than the keys beside it, so YAML reads it as "
                    "the rest of the value on the line above; indent it as far as they are")
    return _YAML_HINTS.get(kind, _YAML_HINT)


def compose(path: Path, what: str) -> yaml.Node:
    """Parse a YAML file into nodes; a syntax error becomes a BookError at its line."""
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise BookError(f"the {what} is larger than {MAX_YAML_BYTES // 1024 // 1024} MB",
                            path, hint="a book's YAML files are a few kilobytes; is this the "
                            "right file?")
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise BookError(f"the {what} is not UTF-8 text", path, hint="save it as UTF-8") from err
    except OSError as err:
        raise BookError(f"cannot read the {what}: {err.strerror}", path) from err
    try:
        node = compose_bounded(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or "invalid YAML"
        raise BookError(f"this is not valid YAML: {problem}", path,
                        mark.line + 1 if mark else None, mark.column + 1 if mark else None,
                        _yaml_hint(problem, text, mark)) from err
    except yaml.YAMLError as err:
        raise BookError(f"this is not valid YAML: {err}", path) from err
    if node is None:
        raise BookError(f"the {what} is empty", path, 1)
    return node
