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


FLAT = GOOD.replace("parts:\n  - title: One\n    chapters:\n      - file: essays/a.md\n",
                    "chapters:\n  - file: essays/a.md\n")


@pytest.mark.parametrize(("extra", "line", "what"), [
    ("parts:\n  - title: One\n    chapters:\n      - file: essays/b.md\n", 8,
     "the book has both `parts:` and `chapters:`"),
    ("openers: sideways\n", 9, "'sideways' is not a side chapters can open on"),
    ("toc_depth: 3\n", 9, "'3' is not a depth the contents can have"),
    ("numbered: maybe\n", 9, "numbered should be true or false"),
    ("appendices: []\n", 9, "`appendices:` lists nothing"),
])
def test_structure_mistakes_name_their_line(tmp_path: Path, extra: str, line: int,
                                            what: str) -> None:
    path = write_book(tmp_path, FLAT + extra, {"a.md": "# A\n\nText.\n", "b.md": "# B\n"})
    [error] = errors_of(path)
    assert what in error.message and error.line == line, (error.message, error.line)


def test_a_book_needs_chapters_or_parts(tmp_path: Path) -> None:
    [error] = errors_of(write_book(tmp_path, FLAT.split("chapters:")[0]))
    assert "the manifest has no 'chapters' (or 'parts')" in error.message
    assert "chapters: [{file: essays/my-essay.md}]" in (error.hint or "")


def test_chapters_numbered_and_appendices_lettered(tmp_path: Path) -> None:
    from chapbook.build import load_book
    from chapbook.diagnostics import Diagnostics

    text = FLAT.replace("chapters:\n  - file: essays/a.md\n",
                        "chapters:\n  - file: essays/a.md\n    numbered: false\n"
                        "  - file: essays/b.md\n  - file: essays/c.md\n"
                        "appendices:\n  - file: essays/d.md\n  - file: essays/e.md\n")
    path = write_book(tmp_path, text, {f"{name}.md": f"# {name.upper()}\n\nText.\n"
                                       for name in "abcde"})
    book = load_book(path, Diagnostics())
    assert [c.designation for c in book.chapters] == [None, "Chapter 1", "Chapter 2",
                                                      "Appendix A", "Appendix B"]
    assert book.real_parts == []
    unnumbered = write_book(tmp_path, text.replace("date: \"2026-01-02\"\n",
                                                   "date: \"2026-01-02\"\nnumbered: false\n"))
    assert [c.label for c in load_book(unnumbered, Diagnostics()).chapters] == [None] * 5


@pytest.mark.parametrize(("authors", "what"), [
    ("[{name: A. Writer, orcid: 1234}]", "gives '1234' as an ORCID iD, which is not one"),
    ("[{affiliation: Nowhere}]", "should be names, or entries with a `name:`"),
    ("[{name: A. Writer, email: a@b.c}]", "has the key 'email', which is not one chapbook"),
    ("running_head: author\n", None),
])
def test_chapter_authors_are_checked_at_their_line(tmp_path: Path, authors: str,
                                                   what: str | None) -> None:
    if what is None:  # a book-level key, not an authors list: it loads
        assert load_manifest(write_book(tmp_path, FLAT + authors)).running_head == "author"
        return
    path = write_book(tmp_path, FLAT + f"    authors: {authors}\n")
    [error] = errors_of(path)
    assert what in error.message and error.line == 9, (error.message, error.line)


def test_front_matter_authors_keep_affiliation_bio_and_orcid(tmp_path: Path) -> None:
    from chapbook.build import load_book
    from chapbook.diagnostics import Diagnostics

    essay = ("---\nauthors:\n  - A. Writer\n  - name: B. Scholar\n    affiliation: An "
             "Institute\n    bio: Writes.\n    orcid: https://orcid.org/0000-0002-1825-009X\n"
             "---\n\n# A\n\nText.\n")
    found = Diagnostics()
    book = load_book(write_book(tmp_path, FLAT, {"a.md": essay}), found)
    [chapter] = book.chapters
    assert [(a.name, a.affiliation, a.orcid) for a in chapter.authors] == [
        ("A. Writer", "", ""), ("B. Scholar", "An Institute", "0000-0002-1825-009X")]
    assert chapter.byline == "A. Writer and B. Scholar"
    (tmp_path / "bad").mkdir()
    bad = write_book(tmp_path / "bad", FLAT, {"a.md": essay.replace("009X", "00")})
    found = Diagnostics()
    assert load_book(bad, found).chapters[0].authors == ()
    assert any("ORCID" in finding.message and finding.line == 2 for finding in found.findings)


def test_a_file_name_saved_decomposed_is_found(tmp_path: Path) -> None:
    """macOS saves "kraków.md" with "ó" as "o" and a combining accent; book.yml, typed, has the
    one character. The essay "did not exist", and the hint suggested the very name typed."""
    import unicodedata

    from .conftest import run_cli
    from .test_untrusted import small_book

    manifest = small_book(tmp_path / "book", {"kraków.md": "# Kraków\n\nThe town.\n"})
    folder = manifest.parent / "essays"
    (folder / "kraków.md").rename(folder / unicodedata.normalize("NFD", "kraków.md"))
    manifest.write_text(unicodedata.normalize("NFC", manifest.read_text("utf-8")), "utf-8")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr
    assert "The town." in (tmp_path / "out" / "small.html").read_text("utf-8")


def test_a_chapter_given_as_a_bare_file_name_shows_the_form_to_write(tmp_path: Path) -> None:
    """Quarto's `chapters: [- intro.md]`: the error named the key and the line, and the hint
    listed every key a chapter takes, not the line to write."""
    (tmp_path / "essays").mkdir()
    (tmp_path / "essays" / "intro.md").write_text("# Intro\n\nText.\n")
    (tmp_path / "book.yml").write_text(textwrap.dedent("""\
        slug: q
        metadata:
          title: Q
          author: T
          language: en
          identifier: urn:uuid:11111111-2222-3333-4444-555555555555
          date: "2026-01-01"
        chapters:
          - essays/intro.md
        """))
    with pytest.raises(BookError) as raised:  # one error, and no other on its account
        load_manifest(tmp_path / "book.yml")
    error = raised.value
    assert not isinstance(error, BookErrors)
    assert error.line == 9 and "write it `- file: essays/intro.md`" in str(error), str(error)
