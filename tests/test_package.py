"""chapbook as users install it: a wheel that carries its templates, styles and fonts and builds
a book from any folder, and `chapbook new`, whose starter book builds clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from chapbook.cli import main

from .conftest import BUNDLED, ROOT, run_cli


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "--wheel-dir", str(folder), str(ROOT)], check=True,
                   capture_output=True, timeout=600)
    (found,) = folder.glob("chapbook-*.whl")
    return found


def test_the_wheel_carries_templates_styles_fonts_and_the_starter(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("templates", "styles", "starter"):
        shipped = {p.relative_to(ROOT / ("src/chapbook" if folder == "starter" else ""))
                   .as_posix() for p in (ROOT / ("src/chapbook" if folder == "starter" else "")
                                         / folder).rglob("*") if p.is_file()}
        assert shipped and {f"chapbook/{name}" for name in shipped} <= names, folder
    assert any(name.startswith("chapbook/styles/fonts/") and name.endswith((".ttf", ".otf"))
               for name in names)
    assert any("LICENSE" in name.upper() or "OFL" in name.upper() for name in names
               if name.startswith("chapbook/styles/fonts/"))


def test_the_installed_wheel_builds_a_book_from_another_folder(wheel: Path,
                                                               tmp_path: Path) -> None:
    """Installed (not the checkout), chapbook finds its templates and styles in the package."""
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                    "--quiet", "--target", str(site), str(wheel)], check=True,
                   capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(site)}
    environment.pop("CHAPBOOK_HOME", None)
    where = subprocess.run([sys.executable, "-c", "import chapbook.resources as r; "
                            "print(r.home())"], capture_output=True, text=True, cwd=elsewhere,
                           env=environment, check=True).stdout.strip()
    assert Path(where) == (site / "chapbook").resolve()
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "pdf", "--book",
                             str(BUNDLED), "--out", "out", "--quiet"], capture_output=True,
                            text=True, cwd=elsewhere, env=environment, timeout=600)
    assert result.returncode == 0, result.stderr
    pdf = PdfReader(elsewhere / "out" / "defence-diplomacy-briefing.pdf")
    assert len(pdf.pages) > 20 and "Defence Diplomacy" in pdf.pages[0].extract_text()


def test_new_writes_a_starter_book_that_builds_and_checks_clean(tmp_path: Path) -> None:
    folder = tmp_path / "harbour-notes"
    assert main(["new", str(folder)]) == 0
    manifest = folder / "book.yml"
    assert "slug: harbour-notes" in manifest.read_text("utf-8")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == [
        "book.yml", "essays/01-writing-essays.md", "essays/02-glossary-and-index.md",
        "essays/figures/editions.svg", "glossary.yml", "index.yml", "refs.bib"]
    checked = run_cli("check", "--book", str(manifest), "--strict")
    assert checked.returncode == 0 and "0 errors, 0 warnings, 0 notes" in checked.stdout, \
        checked.stdout + checked.stderr
    built = run_cli("build", "all", "--book", str(manifest), "--out", str(tmp_path / "out"),
                    "--strict")
    assert built.returncode == 0, built.stderr
    pdf = PdfReader(tmp_path / "out" / "harbour-notes.pdf")
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "Harbour Notes" in text and "The Glossary and the Index" in text and "Glossary" in text
    # it shows a numbered figure, a cross-reference with a page, and a citation with its list
    flat = " ".join(text.split())
    assert "Figure 1.1 One manifest, three editions" in flat
    assert re.search(r"refers to it as Figure 1\.1, .* in print, p\. ?\d+ gives its page", flat)
    assert "(Bringhurst 2004, 25)" in flat and "Bringhurst, Robert. 2004." in flat


def test_new_will_not_write_into_a_folder_that_has_files(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("mine", "utf-8")
    result = run_cli("new", str(tmp_path))
    assert result.returncode == 1 and "already something here" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.md"]
