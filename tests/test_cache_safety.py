"""build/.cache is untrusted: whoever can write it (a CI cache restored from another branch, a
shared folder) must not be able to run code, smuggle files into the outputs or crash a build.
Each test builds a real book, tampers with its cache as an attacker or a bad disk would, and
builds again (issue 11, finding 1)."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chapbook.cache import CachedEssay, EssayCache, freeze, thaw
from chapbook.collect.sites import summarise
from chapbook.diagnostics import Diagnostics
from chapbook.markdown.parser import parse_essay
from chapbook.model.terms import Found, Occurrence
from chapbook.read.terms import load_glossary

from .conftest import ROOTS

BOOK = ROOTS / "field-notes"


def chapbook(*args: str, secrets: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(secrets)}
    return subprocess.run([sys.executable, "-m", "chapbook", *args], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def first_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One chapter of field-notes with its two images, built once for the module."""
    root = tmp_path_factory.mktemp("cache-safety")
    book = root / "book"
    shutil.copytree(BOOK, book)
    manifest = (book / "book.yml").read_text("utf-8")
    (book / "book.yml").write_text(manifest.split("parts:")[0] + (
        "parts:\n  - title: Pictures\n    chapters:\n      - file: essays/04-charts.md\n"
        "back_matter: []\n"), "utf-8")
    out = root / "out"
    result = chapbook("build", "html", "epub", "--book", str(book / "book.yml"), "--out",
                      str(out), secrets=root / "home-cache")
    assert result.returncode == 0, result.stderr
    entries = sorted((out / ".cache").rglob("*.entry"))
    assert {p.parent.name for p in entries} >= {"essays", "fonts", "layout", "cover"}
    return {"book": book, "out": out, "secrets": root / "home-cache"}


@pytest.fixture
def built(first_build: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """A copy of the first build's output folder (cache and all) for this test to tamper with;
    the book and this machine's key are the first build's, so its entries are found."""
    out = tmp_path / "out"
    shutil.copytree(first_build["out"], out)
    return {**first_build, "out": out,
            "epub": (out / "field-notes.epub").read_bytes(),
            "html": (out / "field-notes.html").read_bytes()}


def rebuild(built: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    return chapbook("build", "html", "epub", "--book", str(built["book"] / "book.yml"),
                    "--out", str(built["out"]), secrets=built["secrets"])


class Planted:
    """A pickle that runs a command when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_a_planted_pickle_runs_nothing_and_the_outputs_are_made_again(
        built: dict[str, Path], tmp_path: Path) -> None:
    marker = tmp_path / "owned"
    payload = pickle.dumps(Planted(marker))
    for entry in (built["out"] / ".cache").rglob("*.entry"):
        entry.write_bytes(payload)
        entry.with_suffix(".pickle").write_bytes(payload)  # the old format's name too
    result = rebuild(built)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert (built["out"] / "field-notes.epub").read_bytes() == built["epub"]
    assert (built["out"] / "field-notes.html").read_bytes() == built["html"]
    assert "entries of the build cache were damaged, or not made by chapbook on this machine" \
        in result.stderr


def test_an_edited_entry_cannot_bring_a_file_from_outside_the_book(
        built: dict[str, Path], tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"SECRET" * 100)
    for entry in (built["out"] / ".cache" / "essays").glob("*.entry"):
        data = entry.read_bytes()
        entry.write_bytes(data.replace(b"figures/harbour-traffic.png",
                                       b"../../secret.png"))
    result = rebuild(built)
    assert result.returncode == 0, result.stderr
    epub = (built["out"] / "field-notes.epub").read_bytes()
    assert b"SECRET" not in epub and epub == built["epub"]
    assert b"U0VDUkVU" not in (built["out"] / "field-notes.html").read_bytes()  # base64


def test_an_entry_signed_elsewhere_is_made_again(built: dict[str, Path], tmp_path: Path) -> None:
    built["secrets"] = tmp_path / "another-machine"
    result = rebuild(built)
    assert result.returncode == 0
    assert "were made again" in result.stderr
    assert (built["out"] / "field-notes.epub").read_bytes() == built["epub"]


def test_damaged_entries_are_no_traceback(built: dict[str, Path]) -> None:
    damages = ["random bytes", "a folder", "empty", "truncated"]
    for number, entry in enumerate(sorted((built["out"] / ".cache").rglob("*.entry"))):
        damage = damages[number % len(damages)]
        if damage == "random bytes":
            entry.write_bytes(os.urandom(4096))
        elif damage == "a folder":
            entry.unlink()
            entry.mkdir()
        elif damage == "empty":
            entry.write_bytes(b"")
        else:
            entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    result = rebuild(built)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (built["out"] / "field-notes.epub").read_bytes() == built["epub"]


def test_a_cached_essay_is_checked_as_if_it_came_from_the_book(tmp_path: Path) -> None:
    # Even an entry that passed its signature names only images inside the book.
    essay = BOOK / "essays" / "04-charts.md"
    parsed = parse_essay(essay.read_text("utf-8"), "charts", essay, Diagnostics(), root=BOOK)
    entry = freeze(summarise(parsed), parsed, Found(), [])
    assert thaw(entry, None, None, Found(), essay, BOOK, "charts", 4)
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n")
    for images in (["../../secret.png"], [str(outside)], ["essays/figures/missing.png"]):
        tampered = freeze(summarise(parsed), parsed, Found(), [])
        tampered.summary.images = images
        assert not thaw(tampered, None, None, Found(), essay, BOOK, "charts", 4), images
    kept = EssayCache(tmp_path / "cache")
    kept.store_essay("charts", parsed)
    assert kept.load_essay("charts", entry.summary, BOOK) is not None
    other = freeze(summarise(parsed), parsed, Found(), []).summary  # made from another parse
    other.image_lookups = []
    assert kept.load_essay("charts", other, BOOK) is None
    token = next(t for t in parsed.tokens if t.children and any(
        c.type == "image" for c in t.children))
    image = next(c for c in token.children or [] if c.type == "image")
    image.meta["image"] = "../../secret.png"
    assert not thaw(freeze(summarise(parsed), parsed, Found(), []), None, None, Found(), essay,
                    BOOK, "charts", 4)
    # and the tokens, read apart from the summary, are checked again against its images
    kept.store_essay("charts", parsed)
    assert kept.load_essay("charts", entry.summary, BOOK) is None
    assert isinstance(entry, CachedEssay)


def test_a_cached_essays_uses_of_terms_are_taken_only_in_their_shape() -> None:
    """An entry keeps each use of a term as a plain row (its id, anchor, section, section title,
    line); a row of another shape, or naming a term the glossary no longer has, sends the essay
    to be parsed again."""
    glossary = load_glossary(BOOK / "glossary.yml")
    term = glossary.entries[0].id
    essay = BOOK / "essays" / "04-charts.md"
    parsed = parse_essay(essay.read_text("utf-8"), "charts", essay, Diagnostics(), root=BOOK)
    good = [term, "charts--t1", 1, "Sources", 3]
    for rows, taken in (([good], True), ([[*good[:4], "3"]], False), ([good[:4]], False),
                        ([["gone-from-the-glossary", *good[1:]]], False), ({"a": 1}, False)):
        entry = freeze(summarise(parsed), parsed, Found(), [])
        entry.glossary = rows  # type: ignore[assignment]
        found = Found()
        assert thaw(entry, glossary, None, found, essay, BOOK, "charts", 4) is taken, rows
        if taken:
            assert found.glossary == [(glossary.entries[0],
                                       Occurrence("charts", 4, "charts--t1", 1, "Sources", 3))]


def test_links_in_the_cache_are_never_followed_out_of_the_output_folder(
        built: dict[str, Path], tmp_path: Path) -> None:
    """Links planted in the cache, as a careless copy or a hostile folder might hold them:
    the cache's essays folder and the scratch folder pointing outside, an entry pointing at a
    file outside, and a folder whose stale-looking file belongs to someone else. Nothing
    outside is written, read into the outputs or removed; the outputs are made as before;
    and a hidden `.part` file of another program in the output folder stays."""
    outside = tmp_path / "outside"
    (outside / "essays").mkdir(parents=True)
    (outside / "tmp").mkdir()
    (outside / "victim").mkdir()
    (outside / "victim" / ".thesis.docx.part").write_text("someone's work")
    (outside / "secret").write_text("not the cache's")
    cache = built["out"] / ".cache"
    shutil.rmtree(cache / "essays")
    (cache / "essays").symlink_to(outside / "essays")
    shutil.rmtree(cache / "tmp", ignore_errors=True)
    (cache / "tmp").symlink_to(outside / "tmp")
    (cache / "evil").symlink_to(outside / "victim")
    entry = next((cache / "layout").glob("*.entry"))
    entry.unlink()
    entry.symlink_to(outside / "secret")
    theirs = built["out"] / ".notes.txt.part"
    theirs.write_text("another program's")
    result = rebuild(built)
    assert result.returncode == 0, result.stderr
    assert sorted(p.relative_to(outside).as_posix() for p in outside.rglob("*")) == \
        ["essays", "secret", "tmp", "victim", "victim/.thesis.docx.part"]
    assert (outside / "secret").read_text() == "not the cache's"
    assert not any(path.is_symlink() for path in cache.rglob("*"))
    assert (built["out"] / "field-notes.epub").read_bytes() == built["epub"]
    assert (built["out"] / "field-notes.html").read_bytes() == built["html"]
    assert theirs.read_text() == "another program's"


def test_one_damaged_entry_is_said_in_the_singular(built: dict[str, Path]) -> None:
    next((built["out"] / ".cache" / "essays").glob("*.entry")).write_bytes(b"damaged")
    result = rebuild(built)
    assert result.returncode == 0, result.stderr
    assert "note: 1 entry of the build cache was damaged, or not made by chapbook on this " \
        "machine, and was made again" in result.stderr, result.stderr


def test_a_cache_whose_own_files_are_of_the_wrong_kind_is_made_usable(
        built: dict[str, Path]) -> None:
    """The cache is always safe to delete, so a damaged one must not stop a build: the cache
    a file ('File exists'), its lock a folder ('Is a directory') or a named pipe (the build
    waited on it until its time limit, 15 minutes), its scratch folder a file, its commit
    journal a folder. Each is set right and the outputs are made as before."""
    cache = built["out"] / ".cache"
    damages = {
        "the cache a file": lambda: (shutil.rmtree(cache), cache.write_text("not a folder")),
        "the lock a folder": lambda: ((cache / "lock").unlink(missing_ok=True),
                                      (cache / "lock").mkdir()),
        "the lock a pipe": lambda: (shutil.rmtree(cache / "lock", ignore_errors=True),
                                    (cache / "lock").unlink(missing_ok=True),
                                    os.mkfifo(cache / "lock")),
        "the scratch folder a file": lambda: (shutil.rmtree(cache / "tmp", ignore_errors=True),
                                              (cache / "tmp").write_text("x")),
        "the journal a folder": lambda: (cache / "commit.json").mkdir(),
    }
    for what, damage in damages.items():
        damage()
        try:
            result = rebuild(built)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{what}: the build hung")
        assert result.returncode == 0, (what, result.stderr)
        assert (built["out"] / "field-notes.html").read_bytes() == built["html"], what
