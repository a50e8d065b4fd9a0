"""The unified HTML book: one self-contained file, unique ids, every internal link resolves."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html

from chapbook.build import load_book
from chapbook.diagnostics import Diagnostics

from .conftest import BUNDLED


@pytest.fixture(scope="module")
def tree(bundled: dict[str, Path]):
    return lxml_html.parse(str(bundled["html"])).getroot()


def test_ids_are_unique_and_links_resolve(tree) -> None:
    ids = tree.xpath("//@id")
    assert len(ids) == len(set(ids))
    for href in tree.xpath("//a/@href"):
        if href.startswith("#"):
            assert href[1:] in ids, href


def test_the_page_is_self_contained(tree, bundled: dict[str, Path]) -> None:
    assert not tree.xpath("//link[@rel='stylesheet'] | //script"
                          " | //img[not(starts-with(@src,'data:'))]")
    text = bundled["html"].read_text("utf-8")
    assert "@font-face" in text and "data:font/woff2;base64," in text
    assert "â€" not in text


def test_book_structure_in_reading_order(tree) -> None:
    book = load_book(BUNDLED, Diagnostics())
    assert tree.get("lang") == "en-GB"
    titles = [t.text_content().strip() for t in tree.xpath("//h2[@class='chapter-title']")]
    assert titles == [c.title for c in book.chapters]
    assert tree.xpath("//nav[@role='doc-toc']")
    assert [s.get("id") for s in tree.xpath("//section[@class='part']")] == ["part-1", "part-2"]
    for chapter in book.chapters:
        [article] = tree.xpath(f"//article[@id='{chapter.id}']")
        assert len(article.xpath(".//aside[@class='key-points']//li")) == len(chapter.key_points)


def test_headings_have_stable_unique_ids(tmp_path: Path) -> None:
    from .conftest import ROOTS, build
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "html") == 0
    tree = lxml_html.parse(str(tmp_path / "edge-cases.html")).getroot()
    ids = [h.get("id") for h in tree.xpath("//article[@id='repeats']//h3")]
    assert ids == ["repeats-overview", "repeats-overview-2"]


@pytest.mark.skipif(__import__("shutil").which("chromium") is None, reason="needs Chromium")
def test_web_edition_renders_in_a_browser(bundled: dict[str, Path], tmp_path: Path) -> None:
    """A screenshot of the web edition in headless Chromium: the cover, then the title page."""
    import subprocess

    from PIL import Image
    shot = tmp_path / "page.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    "--window-size=1000,1400", f"--screenshot={shot}",
                    bundled["html"].resolve().as_uri()], capture_output=True, timeout=120,
                   check=True)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 1400)
    navy = image.getpixel((500, 60))  # the cover card's background
    assert navy[2] > navy[0] and sum(navy) < 200, navy
    page = image.getpixel((500, 700))  # the title page card
    assert min(page) > 230, page
    colours = image.crop((150, 100, 850, 1300)).getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 50  # text was drawn


def test_font_subset_cache_is_keyed_on_content_and_safe_to_delete(tmp_path: Path) -> None:
    import shutil

    from .conftest import ROOTS, build
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "html") == 0
    first = (tmp_path / "edge-cases.html").read_bytes()
    cached = sorted((tmp_path / ".cache" / "fonts").iterdir())
    assert cached, "no font subsets were cached"
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "html") == 0
    assert (tmp_path / "edge-cases.html").read_bytes() == first
    assert sorted((tmp_path / ".cache" / "fonts").iterdir()) == cached  # reused, none added
    # The EPUB subsets the same characters: it takes the plain subsets the HTML made.
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "epub") == 0
    assert sorted((tmp_path / ".cache" / "fonts").iterdir()) == cached
    epub = (tmp_path / "edge-cases.epub").read_bytes()
    shutil.rmtree(tmp_path / ".cache")
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "html") == 0
    assert (tmp_path / "edge-cases.html").read_bytes() == first
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "epub") == 0
    assert (tmp_path / "edge-cases.epub").read_bytes() == epub


def test_links_to_a_heading_by_its_slug_resolve(tmp_path: Path) -> None:
    from .conftest import build
    (tmp_path / "book" / "essays").mkdir(parents=True)
    (tmp_path / "book" / "essays" / "links.md").write_text(
        "# Links\n\nSee [the overview](#overview) below.\n\n## Overview\n\nText.\n")
    (tmp_path / "book" / "book.yml").write_text(
        "slug: links\nmetadata: {title: Links, author: T, language: en, identifier: 'urn:x:1',"
        " date: '2026-01-01'}\nparts:\n  - title: P\n    chapters:\n"
        "      - file: essays/links.md\n")
    assert build(tmp_path / "book" / "book.yml", tmp_path / "out", "html", "epub") == 0
    tree = lxml_html.parse(str(tmp_path / "out" / "links.html")).getroot()
    [link] = tree.xpath("//article//a[text()='the overview']")
    assert link.get("href") == "#links-overview" and tree.xpath("//*[@id='links-overview']")


def test_font_subsets_are_shared_by_output_folders_through_the_user_cache(
        tmp_path: Path) -> None:
    """A second output folder (or book) with the same characters takes the subsets the first
    made from the user's cache folder: the HTML is the same, and no subset is made again."""
    from .conftest import ROOTS, run_cli

    env = {"XDG_CACHE_HOME": str(tmp_path / "user-cache")}
    shared = tmp_path / "user-cache" / "chapbook" / "fonts"
    edge = str(ROOTS / "edge" / "book.yml")
    assert run_cli("build", "html", "--book", edge, "--out", str(tmp_path / "one"),
                   env=env).returncode == 0
    made = sorted(path.name for path in shared.glob("*.entry"))
    assert made, "no subset reached the user's cache"
    assert run_cli("build", "html", "--book", edge, "--out", str(tmp_path / "two"),
                   env=env).returncode == 0
    assert sorted(path.name for path in shared.glob("*.entry")) == made
    assert sorted(p.name for p in (tmp_path / "two" / ".cache" / "fonts").glob("*.entry")) \
        == made
    assert (tmp_path / "one" / "edge-cases.html").read_bytes() \
        == (tmp_path / "two" / "edge-cases.html").read_bytes()


def test_the_shared_font_cache_lets_the_least_recently_used_go(
        tmp_path: Path, monkeypatch) -> None:
    import os

    from chapbook.cache import SharedCache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    class Small(SharedCache):
        MAX_BYTES = 3200  # three entries of 1000 bytes and their signatures

    cache = Small("fonts")
    for number, key in enumerate(("a", "b", "c")):
        cache.store(key, bytes(1000))
        entry = cache.folder / f"{cache._name(key)}.entry"
        os.utime(entry, (1000 + number, 1000 + number))  # a, then b, then c
    assert cache.load("a") == bytes(1000)  # a is used again: b is now the least recent
    cache.store("d", bytes(1000))
    cache.trim()  # as subset_fonts does once it has stored its subsets
    assert cache.load("b") is None
    assert all(cache.load(key) == bytes(1000) for key in ("a", "c", "d"))
