"""book.yml: a valid manifest loads into the typed model; each kind of mistake names its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from chapbook.errors import BookError, BookErrors
from chapbook.read.manifest import load_manifest

from .conftest import BUNDLED

GOOD = """\
metadata:
  title: A Test Book
  author: Tester
  language: en
  identifier: urn:uuid:00000000-0000-0000-0000-000000000001
  date: "2026-01-02"
parts:
  - title: One
    chapters:
      - file: essays/a.md
"""


def write_book(tmp_path: Path, manifest: str, essays: dict[str, str] | None = None) -> Path:
    (tmp_path / "essays").mkdir(exist_ok=True)
    for name, text in (essays or {"a.md": "# A\n\nText.\n"}).items():
        (tmp_path / "essays" / name).write_text(text, encoding="utf-8")
    path = tmp_path / "book.yml"
    path.write_text(textwrap.dedent(manifest), encoding="utf-8")
    return path


def errors_of(path: Path) -> list[BookError]:
    with pytest.raises((BookError, BookErrors)) as caught:
        load_manifest(path)
    error = caught.value
    return error.errors if isinstance(error, BookErrors) else [error]


def test_bundled_manifest_loads_in_order() -> None:
    manifest = load_manifest(BUNDLED)
    assert manifest.slug == "defence-diplomacy-briefing"
    assert manifest.page_size == "A5"
    assert [len(part.chapters) for part in manifest.parts] == [2, 3]
    assert all(chapter.source.is_file() for chapter in manifest.chapters)
    assert all(chapter.key_points for chapter in manifest.chapters)
    assert manifest.metadata.language == "en-GB"


def test_paths_resolve_relative_to_the_manifest(tmp_path: Path) -> None:
    manifest = load_manifest(write_book(tmp_path, GOOD))
    assert manifest.chapters[0].source == (tmp_path / "essays" / "a.md").resolve()


def test_unknown_key_names_line_and_suggests(tmp_path: Path) -> None:
    text = GOOD.replace("  author: Tester\n", "  author: Tester\n  titel: Oops\n")
    [error] = errors_of(write_book(tmp_path, text))
    assert error.line == 4 and "unknown key 'titel'" in error.message
    assert "did you mean 'title'" in (error.hint or "")
    assert str(error).startswith(f"{tmp_path / 'book.yml'}:4:3: error:")


def test_missing_essay_names_its_line(tmp_path: Path) -> None:
    [error] = errors_of(write_book(tmp_path, GOOD.replace("essays/a.md", "essays/b.md")))
    assert error.line == 10 and "does not exist" in error.message
    assert "a.md" in (error.hint or "")


def test_wrong_type_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('  date: "2026-01-02"\n', '  date: "2026-01-02"\n  keywords: 12\n')
    [error] = errors_of(write_book(tmp_path, text))
    assert error.line == 7 and "should be a list" in error.message


def test_invalid_yaml_names_line_and_column(tmp_path: Path) -> None:
    [error] = errors_of(write_book(tmp_path, GOOD.replace("  author: Tester", "  author: [Tester")))
    assert error.line is not None and error.line >= 3
    assert "not valid YAML" in error.message


def test_missing_required_key(tmp_path: Path) -> None:
    [error] = errors_of(write_book(tmp_path, GOOD.replace("  author: Tester\n", "")))
    assert "has no 'author'" in error.message and error.line == 2


def test_several_mistakes_are_reported_together(tmp_path: Path) -> None:
    text = GOOD.replace("  author: Tester\n", "  author: Tester\n  colour: red\n").replace(
        "essays/a.md", "essays/missing.md")
    errors = errors_of(write_book(tmp_path, text))
    assert len(errors) == 2


@pytest.mark.parametrize("path", ["../outside.md", "/etc/passwd", "essays/../../x.md"])
def test_paths_may_not_escape_the_book(tmp_path: Path, path: str) -> None:
    [error] = errors_of(write_book(tmp_path, GOOD.replace("essays/a.md", path)))
    assert "outside the book's folder" in error.message or "absolute path" in error.message
    assert error.line == 10


def test_same_essay_twice(tmp_path: Path) -> None:
    text = GOOD + "      - file: essays/a.md\n"
    [error] = errors_of(write_book(tmp_path, text))
    assert "already a chapter (line 10)" in error.message and error.line == 11


def test_empty_part(tmp_path: Path) -> None:
    text = GOOD + "  - title: Two\n    chapters: []\n"
    [error] = errors_of(write_book(tmp_path, text))
    assert "has no chapters" in error.message and error.line == 11


def test_bad_page_size_and_language(tmp_path: Path) -> None:
    text = GOOD.replace("  language: en", "  language: english!") + "page_size: A55\n"
    messages = " ".join(e.message for e in errors_of(write_book(tmp_path, text)))
    assert "not a language tag" in messages and "not a page size" in messages
