"""`chapbook check`: every finding kind with its code, file, line and level, on the real pipeline;
the bundled book is clean; a broken manifest is reported, not raised; no source is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from chapbook.check import check_book, report
from chapbook.diagnostics import Diagnostics, Level

from .conftest import BUNDLED

Found = tuple[str, int | None, Level]


def found(diagnostics: Diagnostics, code: str, root: Path) -> list[Found]:
    """The findings of one code as (path relative to the book, line, level), in order."""
    return [(Path(f.path).resolve().relative_to(root.resolve()).as_posix(), f.line, f.level)
            for f in diagnostics.findings if f.code == code and f.path is not None]


def snapshot(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture
def essays_book(fixture_book) -> Path:
    """check-essays, plus Markdown files in a hidden folder and in build/, which are no
    essays (made here because git ignores build/)."""
    root = fixture_book("check-essays")
    for folder in (".drafts", "build"):
        (root / folder).mkdir()
        (root / folder / "skipped.md").write_text("# Skipped\n\nNot an essay.\n",
                                                  encoding="utf-8")
    return root


def test_bundled_book_has_no_errors_or_warnings() -> None:
    diagnostics = check_book(BUNDLED)
    assert [str(f) for f in diagnostics.findings if f.level is not Level.NOTE] == []
    # the pipeline's mojibake note stays as it is, once
    assert found(diagnostics, "mojibake", BUNDLED.parent) == [
        ("essays/nato-and-international-alliances.md", 5, Level.NOTE)]


def test_orphan_essays(essays_book: Path) -> None:
    diagnostics = check_book(essays_book / "book.yml")
    assert sorted(found(diagnostics, "orphan-essay", essays_book)) == [
        ("essays/drafts/unfinished.md", None, Level.WARNING),
        ("notes.markdown", None, Level.WARNING),
    ]
    message = next(f.message for f in diagnostics.findings if f.code == "orphan-essay")
    assert "notes.markdown" in message and "book.yml" in message


def test_images_without_alt_text(essays_book: Path) -> None:
    diagnostics = check_book(essays_book / "book.yml")
    assert found(diagnostics, "image-alt", essays_book) == [
        ("essays/images.md", 6, Level.WARNING),   # ![](…) on a paragraph's second line
        ("essays/images.md", 10, Level.WARNING),  # <img alt=""> in a raw HTML block
        ("essays/images.md", 12, Level.WARNING),  # <img> inline, without alt
        ("essays/images.md", 14, Level.WARNING),  # ![](…) inside an inline note
    ]


def test_broken_internal_links(essays_book: Path) -> None:
    diagnostics = check_book(essays_book / "book.yml")
    assert found(diagnostics, "broken-link", essays_book) == [
        ("essays/links.md", 8, Level.WARNING),   # #why-it-maters: no such heading
        ("essays/links.md", 13, Level.WARNING),  # images.md#tables: no such heading there
        ("essays/links.md", 13, Level.WARNING),  # drafts/unfinished.md: not a chapter
        ("essays/links.md", 14, Level.WARNING),  # missing.md#intro: no such file
        ("essays/links.md", 19, Level.WARNING),  # #nowhere, in a footnote
    ]
    messages = [f.message for f in diagnostics.findings if f.code == "broken-link"]
    assert "did you mean '#why-it-matters'?" in messages[0]
    assert "not a chapter of the book" in messages[2]
    assert "does not exist" in messages[3]


def test_duplicate_titles(essays_book: Path) -> None:
    diagnostics = check_book(essays_book / "book.yml")
    assert found(diagnostics, "duplicate-title", essays_book) == [
        ("essays/again.md", 1, Level.WARNING),  # "# LINKS" after links.md's "# Links"
        ("book.yml", 18, Level.WARNING),        # a title set in book.yml repeats images.md's
    ]
    messages = [f.message for f in diagnostics.findings if f.code == "duplicate-title"]
    assert "'links.md'" in messages[0] and "'images.md'" in messages[1]


def test_empty_essays(essays_book: Path) -> None:
    diagnostics = check_book(essays_book / "book.yml")
    assert found(diagnostics, "empty-essay", essays_book) == [
        ("essays/empty.md", 1, Level.WARNING),
        ("essays/title-only.md", 1, Level.WARNING),
    ]


def test_every_finding_of_the_essays_book_is_expected(essays_book: Path) -> None:
    diagnostics = check_book(essays_book / "book.yml")
    codes = {f.code for f in diagnostics.findings}
    assert codes == {"orphan-essay", "image-alt", "broken-link", "duplicate-title",
                     "empty-essay", "no-title"}  # no-title: the pipeline's, for empty.md
    assert diagnostics.count(Level.ERROR) == 0


def test_missing_essays_are_errors_at_their_manifest_line(fixture_book) -> None:
    root = fixture_book("check-manifest")
    diagnostics = check_book(root / "book.yml")
    assert found(diagnostics, "manifest", root) == [
        ("book.yml", 14, Level.ERROR),  # essays/gone.md
        ("book.yml", 15, Level.ERROR),  # essays/lost.md
    ]
    gone, lost = (f.message for f in diagnostics.findings if f.code == "manifest")
    assert "essays/gone.md" in gone and "does not exist" in gone
    assert "essays/lost.md" in lost
    # the checks that need no valid manifest still run on what book.yml names
    assert found(diagnostics, "orphan-essay", root) == [
        ("essays/stray.md", None, Level.WARNING)]
    assert found(diagnostics, "image-alt", root) == [("essays/present.md", 3, Level.WARNING)]


def test_an_unreadable_glossary_is_an_error_and_the_essays_are_still_checked(
        essays_book: Path) -> None:
    manifest = essays_book / "book.yml"
    manifest.write_text(manifest.read_text(encoding="utf-8") + "glossary: glossary.yml\n",
                        encoding="utf-8")
    (essays_book / "glossary.yml").write_text("terms:\n  - term: orphan\n", encoding="utf-8")
    diagnostics = check_book(manifest)
    assert found(diagnostics, "source", essays_book) == [("glossary.yml", 2, Level.ERROR)]
    assert len(found(diagnostics, "image-alt", essays_book)) == 4
    assert len(found(diagnostics, "broken-link", essays_book)) == 5


def test_invalid_yaml_and_absent_manifest_are_findings(tmp_path: Path) -> None:
    manifest = tmp_path / "book.yml"
    manifest.write_text("parts:\n  - title: One\n   chapters: []\n", encoding="utf-8")
    [finding] = check_book(manifest).findings
    assert (finding.level, finding.code, finding.line) == (Level.ERROR, "manifest", 3)
    [finding] = check_book(tmp_path / "nothing.yml").findings
    assert (finding.level, finding.code) == (Level.ERROR, "manifest")


def test_check_changes_no_file(essays_book: Path, fixture_book) -> None:
    manifest_root = fixture_book("check-manifest")
    for root in (essays_book, manifest_root, BUNDLED.parent):
        before = snapshot(root)
        check_book(root / "book.yml")
        assert snapshot(root) == before


def test_report_prints_findings_and_a_summary(fixture_book, capsys) -> None:
    root = fixture_book("check-manifest")
    diagnostics = check_book(root / "book.yml")
    assert report(diagnostics, strict=False) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:-1] == [str(f) for f in diagnostics.findings]
    assert lines[0].endswith("error: essay 'essays/gone.md' does not exist; check the file "
                             "name and folder [manifest]")
    assert ":14:15: error:" in lines[0]  # line and column, as a build prints them
    assert lines[-1] == "2 errors, 2 warnings, 0 notes"


def test_report_exit_status(essays_book: Path, capsys) -> None:
    warnings = check_book(essays_book / "book.yml")
    assert report(warnings, strict=False) == 0
    assert report(warnings, strict=True) == 2
    notes_only = check_book(BUNDLED)
    assert report(notes_only, strict=True) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 errors, 0 warnings, 1 note"


def test_raw_html_alt_text_is_read_as_a_browser_reads_it(essays_book: Path) -> None:
    """The alt of a raw <img> as an HTML tokenizer reads it: an `alt` only as a whole attribute
    name (not `data-alt`), an entity that is only a space is no alt text, `>` inside a quoted
    value does not end the tag, and the warning is on the tag's own line."""
    essay = essays_book / "essays" / "images.md"
    essay.write_text(
        "# Images\n\n"
        '<p><img data-alt="looks like alt" src="../images/dot.svg">\n'      # 3: warned
        '<img src="../images/dot.svg" alt="&#32;"></p>\n\n'                  # 4: warned
        '<div><img title="a > b" alt=\'A dot\' src="../images/dot.svg">\n'   # 6: has alt
        "\n"
        '<img\n  src="../images/dot.svg"\n  alt></div>\n',                    # 8: warned
        encoding="utf-8")
    warned = [(path, line) for path, line, _ in
              found(check_book(essays_book / "book.yml"), "image-alt", essays_book)
              if path == "essays/images.md"]
    assert warned == [("essays/images.md", 3), ("essays/images.md", 4),
                      ("essays/images.md", 8)]
