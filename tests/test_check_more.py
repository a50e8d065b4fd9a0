"""`chapbook check`, more: quiet means only errors, locations read as the build's do, a YAML
indentation mistake gets an indentation hint, and the not-a-chapter warning leaves out backups
and what the manifest's `exclude` names."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from chapbook.check import check_book
from chapbook.errors import BookError
from chapbook.read.manifest import load_manifest

from .conftest import BUNDLED, run_cli
from .test_manifest import GOOD

# --- quiet ------------------------------------------------------------------------------------


def test_quiet_check_prints_nothing_for_notes_and_warnings(fixture_book) -> None:
    notes_only = run_cli("check", "-q", "--book", str(BUNDLED))
    assert notes_only.returncode == 0
    assert notes_only.stdout == "" and notes_only.stderr == ""
    warnings = run_cli("check", "--quiet", "--book", "book.yml", cwd=fixture_book("b-glyphs"))
    assert warnings.returncode == 0
    assert warnings.stdout == ""
    strict = run_cli("check", "-q", "--strict", "--book", "book.yml",
                     cwd=fixture_book("b-orphans"))
    assert strict.returncode == 2 and strict.stdout == ""  # the status still says it


def test_quiet_check_prints_the_errors_alone(fixture_book) -> None:
    root = fixture_book("check-manifest")
    result = run_cli("check", "-q", "--book", "book.yml", cwd=root)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(": error: " in line for line in lines), lines


# --- the same locations as the build ------------------------------------------------------------

BROKEN = """\
metadata:
  title: T
  author: A
  language: en
  identifier: x
  date: '2026-01-01'
parts:
  - title: P
    chapters:
      - file: essays/b.md
"""


def test_check_and_build_name_the_same_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "essays").mkdir()
    (tmp_path / "essays" / "a.md").write_text("# A\n\nText.\n")
    (tmp_path / "book.yml").write_text(BROKEN)
    built = run_cli("build", "html", "--book", "book.yml", "--out", "out", cwd=tmp_path)
    checked = run_cli("check", "--book", "book.yml", cwd=tmp_path)
    assert built.returncode == checked.returncode == 1
    where = "book.yml:10:15: error: essay 'essays/b.md' does not exist"
    assert built.stderr.startswith(where), built.stderr
    assert checked.stdout.startswith(where), checked.stdout


# --- YAML hints ---------------------------------------------------------------------------------


def yaml_error(tmp_path: Path, text: str) -> BookError:
    (tmp_path / "essays").mkdir(exist_ok=True)
    (tmp_path / "essays" / "a.md").write_text("# A\n\nText.\n")
    (tmp_path / "book.yml").write_text(textwrap.dedent(text))
    with pytest.raises(BookError) as caught:
        load_manifest(tmp_path / "book.yml")
    return caught.value


@pytest.mark.parametrize("mistake, line", [
    (GOOD.replace("  author: Tester", "   author: Tester"), 3),       # a key indented too far
    (GOOD.replace("      - file: essays/a.md",
                  "      - file: essays/a.md\n        title: X\n          language: ar"), 12),
])
def test_an_indentation_mistake_gets_an_indentation_hint(tmp_path: Path, mistake: str,
                                                         line: int) -> None:
    error = yaml_error(tmp_path, mistake)
    assert error.line == line
    assert error.hint is not None
    assert "indent" in error.hint and "quotes" not in error.hint, error.hint


def test_a_value_with_a_colon_still_gets_the_quotes_hint(tmp_path: Path) -> None:
    error = yaml_error(tmp_path, GOOD.replace("title: A Test Book", "title: Defence: A Study"))
    assert error.line == 2 and error.hint is not None and "quotes" in error.hint


# --- not a chapter: backups and `exclude` -------------------------------------------------------

def orphans(root: Path) -> list[str]:
    return sorted(Path(f.path).resolve().relative_to(root.resolve()).as_posix()
                  for f in check_book(root / "book.yml").findings if f.code == "orphan-essay")


@pytest.fixture
def orphans_book(fixture_book) -> Path:
    """b-orphans, plus the backup copies editors and tools leave (made here, not committed)."""
    root = fixture_book("b-orphans")
    for name in ("kept.bak.md", "kept.md.bak.md", ".#kept.md", "kept.orig.md", "kept~.md",
                 ".hidden/kept.md", "kept.backup.md"):
        (root / "essays" / name).parent.mkdir(exist_ok=True)
        (root / "essays" / name).write_text("# Kept\n\nA copy.\n", encoding="utf-8")
    return root


def test_backups_and_excluded_files_are_not_called_forgotten(orphans_book: Path) -> None:
    assert orphans(orphans_book) == ["essays/forgotten.md"]


def test_without_exclude_the_drafts_are_reported_and_backups_still_not(
        orphans_book: Path) -> None:
    manifest = orphans_book / "book.yml"
    manifest.write_text(manifest.read_text().replace('exclude: [drafts/, "*.old.md"]\n', ""))
    assert orphans(orphans_book) == ["essays/drafts/wip.md", "essays/forgotten.md",
                                     "essays/kept.old.md"]


def test_exclude_patterns_anchored_at_the_book_folder(orphans_book: Path) -> None:
    manifest = orphans_book / "book.yml"
    manifest.write_text(manifest.read_text().replace(
        'exclude: [drafts/, "*.old.md"]', 'exclude: [essays/drafts, essays/forgotten.md, '
        'drafts/wip.md]'))
    assert orphans(orphans_book) == ["essays/kept.old.md"]  # drafts/wip.md is not at the top


def test_exclude_must_be_a_list_of_patterns(orphans_book: Path) -> None:
    manifest = orphans_book / "book.yml"
    manifest.write_text(manifest.read_text().replace('exclude: [drafts/, "*.old.md"]',
                                                     "exclude: drafts/"))
    with pytest.raises(BookError) as caught:
        load_manifest(manifest)
    assert caught.value.line == 11 and "exclude" in caught.value.message
    manifest.write_text(manifest.read_text().replace("exclude: drafts/",
                                                     "exclude: [../elsewhere/]"))
    with pytest.raises(BookError) as caught:
        load_manifest(manifest)
    assert "inside the book's folder" in (caught.value.hint or "")


def test_exclude_is_read_when_the_manifest_has_other_mistakes(orphans_book: Path) -> None:
    manifest = orphans_book / "book.yml"
    manifest.write_text(manifest.read_text().replace("  date: \"2026-03-06\"\n", ""))
    diagnostics = check_book(manifest)
    assert [f.code for f in diagnostics.findings if f.level == "error"] == ["manifest"]
    assert orphans(orphans_book) == ["essays/forgotten.md"]


def test_findings_are_listed_file_by_file_in_line_order(tmp_path: Path) -> None:
    """Each check runs over an essay whole, so its findings came line 7, 3, 9, 7, 5 (a
    newcomer's report); a proofreader works down the file."""
    from .test_untrusted import small_book

    manifest = small_book(tmp_path / "book", {"a.md": (
        "# A\n\nText [^nope].\n\nSee @fig:nothing here.\n\n![](missing-alt.png)\n\n"
        "More [^gone].\n")})
    for command in (["check"], ["build", "html", "--out", str(tmp_path / "out")]):
        result = run_cli(*command, "--book", str(manifest))
        lines = [int(found[1]) for found in re.finditer(r"a\.md:(\d+): warning",
                                                         result.stdout + result.stderr)]
        assert lines == sorted(lines) and len(lines) >= 4, (command, lines)
