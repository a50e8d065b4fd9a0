"""Issue 10, item 16: build/.cache is keyed on chapbook's own code.

A copy of the package is run from a temporary folder; after a change to its Markdown parser, a
build into the same build/ must parse again (and show the change) instead of serving the essays,
page map and cover that the old code made. Font subsets are made by fonts.py and fontTools alone:
a parser change keeps them, a change to fonts.py makes them again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import chapbook

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("essays", "fonts", "layout", "cover")
MADE_BY_ALL_OF_CHAPBOOK = ("essays", "layout", "cover")

MANIFEST = """slug: code-change
metadata:
  title: A Change of Code
  author: The Test Desk
  language: en-GB
  identifier: urn:uuid:5e2b7d14-96c3-4f0a-b1de-7a4c2f9e0d31
  date: "2026-05-01"
page_size: A5
parts:
  - title: Only Part
    chapters:
      - file: essays/quotes.md
back_matter: []
"""

ESSAY = """# Quotes

It's a "quoted" word, and a dash -- here.
"""


def copy_of_chapbook(home: Path) -> Path:
    """chapbook's package copied into `home`/src, with the real templates and styles beside it
    (resources.home() is the folder two levels above the package)."""
    package = Path(chapbook.__file__).resolve().parent
    shutil.copytree(package, home / "src" / "chapbook",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("templates", "styles"):
        (home / folder).symlink_to(ROOT / folder, target_is_directory=True)
    return home / "src" / "chapbook"


def build(src: Path, manifest: Path, out: Path, extra: dict[str, str] | None = None) -> None:
    env = {**os.environ, "PYTHONPATH": str(src), "SOURCE_DATE_EPOCH": "1767225600",
           **(extra or {})}
    env.pop("CHAPBOOK_HOME", None)
    subprocess.run([sys.executable, "-m", "chapbook", "build", "html", "pdf", "epub", "--quiet",
                    "--book", str(manifest), "--out", str(out)], check=True, env=env,
                   timeout=300, cwd=out.parent)


def copied_chapbook_and_book(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of chapbook's package, a one-essay book and an empty output folder."""
    package = copy_of_chapbook(tmp_path / "home")
    book = tmp_path / "book"
    (book / "essays").mkdir(parents=True)
    (book / "book.yml").write_text(MANIFEST, encoding="utf-8")
    (book / "essays" / "quotes.md").write_text(ESSAY, encoding="utf-8")
    out = tmp_path / "build"
    out.mkdir()
    return package, book, out


def entries(out: Path) -> dict[str, set[str]]:
    return {kind: {p.name for p in (out / ".cache" / kind).glob("*.entry")} for kind in KINDS}


def test_a_change_to_the_parser_is_not_served_from_the_cache(tmp_path: Path) -> None:
    package, book, out = copied_chapbook_and_book(tmp_path)
    html = out / "code-change.html"

    build(package.parent, book / "book.yml", out)
    first = entries(out)
    assert all(first[kind] for kind in KINDS), first
    assert "It’s a “quoted” word" in html.read_text(encoding="utf-8")

    build(package.parent, book / "book.yml", out)  # the same code: everything from the cache
    assert entries(out) == first

    # The parser changes: typographer quotes and dashes switched off.
    parser = package / "markdown" / "parser.py"
    source = parser.read_text(encoding="utf-8")
    assert '"typographer": True' in source, "the edit no longer applies to markdown/parser.py"
    parser.write_text(source.replace('"typographer": True', '"typographer": False'),
                      encoding="utf-8")
    build(package.parent, book / "book.yml", out)
    after = entries(out)
    for kind in MADE_BY_ALL_OF_CHAPBOOK:
        assert after[kind] - first[kind], f"no new {kind} entry after the code changed"
    # the same characters (curly quotes are always kept), and the subsetting code is unchanged
    assert after["fonts"] == first["fonts"]
    text = html.read_text(encoding="utf-8")
    assert "It's a" in text and "It’s" not in text


def test_a_change_to_the_font_subsetting_makes_the_subsets_again(tmp_path: Path) -> None:
    package, book, out = copied_chapbook_and_book(tmp_path)
    env = {"XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    build(package.parent, book / "book.yml", out, env)
    first = entries(out)["fonts"]
    fonts = package / "fonts.py"
    source = fonts.read_text(encoding="utf-8")
    assert "options.hinting = False" in source, "the edit no longer applies to fonts.py"
    fonts.write_text(source.replace("options.hinting = False", "options.hinting = True"),
                     encoding="utf-8")
    build(package.parent, book / "book.yml", out, env)
    made = entries(out)["fonts"] - first
    assert len(made) >= len(first), "the subsets were served from before the change"


def test_an_unrelated_file_in_the_package_changes_the_key(tmp_path: Path) -> None:
    """Any file of the package counts, not only the parser: a new module changes every key."""
    package = copy_of_chapbook(tmp_path / "home")
    probe = ("import sys; from chapbook import cache; "
             "sys.stdout.write(cache.code_digest().hex())")
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    env.pop("CHAPBOOK_HOME", None)

    def digest() -> str:
        return subprocess.run([sys.executable, "-c", probe], check=True, env=env,
                              capture_output=True, text=True, timeout=60).stdout

    before = digest()
    assert before == digest()
    (package / "extra.py").write_text("VALUE = 1\n", encoding="utf-8")
    assert digest() != before


def test_the_key_follows_the_text_libraries_the_book_is_laid_out_with(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Pango, HarfBuzz and fontconfig are the system's, not Python packages: after an upgrade,
    lines may break, glyphs shape and missing glyphs fall back otherwise, and a piece laid out
    before must not be taken from the cache. pyphen's dictionaries hyphenate, and are a package
    of their own."""
    from weasyprint.text.ffi import pango

    from chapbook import cache

    versions = cache.system_versions()
    number = pango.pango_version()
    assert versions["pango"] == f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    assert versions["harfbuzz"].count(".") == 2
    assert versions["fontconfig"].isdigit()  # (FcGetVersion: 21401 for 2.14.1)
    assert "pyphen" in cache.LIBRARIES
    before = cache.code_digest.__wrapped__()
    monkeypatch.setattr(cache, "system_versions", lambda: {**versions, "harfbuzz": "0.0.1"})
    assert cache.code_digest.__wrapped__() != before
