"""The EPUB's chapter documents are kept rendered in the build cache (cache.DocumentCache), keyed
on all their template is given: after one essay changes, its chapter is rendered again (with any
chapter whose links, references or page breaks the change moved), and the EPUB is byte for byte
the one a build from nothing writes. A damaged entry is never used."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from chapbook.build import build, load_book
from chapbook.cache import DocumentCache, EssayCache
from chapbook.diagnostics import Diagnostics
from chapbook.options import BuildOptions

from .conftest import ROOTS


@pytest.fixture
def book(tmp_path: Path) -> Path:
    folder = tmp_path / "field-notes"
    shutil.copytree(ROOTS / "field-notes", folder)
    return folder / "book.yml"


def _epub(manifest: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, list[str]]:
    """The book's EPUB built into `out`, and the chapters (by id), glossary and index whose
    documents were rendered (not taken from the cache)."""
    rendered: list[str] = []
    store = DocumentCache.store

    def recording(self: DocumentCache, key: str, content: bytes) -> None:
        found = re.search(rb'class="chapter" id="([^"]+)"', content) or \
            re.search(rb'<section epub:type="(glossary|index)"', content)
        assert found, content[:400]
        rendered.append(found[1].decode())
        store(self, key, content)

    with monkeypatch.context() as patch:
        patch.setattr(DocumentCache, "store", recording)
        built = build(BuildOptions(manifest, out, editions=("epub",)), Diagnostics())
    return built.outputs["epub"].read_bytes(), rendered


def _chapter_ids(manifest: Path) -> list[str]:
    return [chapter.id for chapter in load_book(manifest, Diagnostics()).chapters]


def test_a_second_build_renders_no_chapter_and_writes_the_same_epub(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, rendered = _epub(book, tmp_path / "out", monkeypatch)
    assert rendered == [*_chapter_ids(book), "glossary", "index"]
    second, rendered = _epub(book, tmp_path / "out", monkeypatch)
    assert rendered == []
    assert second == first


def test_after_one_essay_changes_its_chapter_is_rendered_again(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _epub(book, tmp_path / "out", monkeypatch)
    chapters = _chapter_ids(book)
    essay = load_book(book, Diagnostics()).chapters[3].source
    text = essay.read_text("utf-8")
    middle = text.index("\n\n", len(text) // 2)
    essay.write_text(text[:middle] + " One sentence more, added by the test." + text[middle:],
                     "utf-8")
    changed, rendered = _epub(book, tmp_path / "out", monkeypatch)
    assert chapters[3] in rendered
    assert not set(rendered) & set(chapters[:3])  # their pages and links did not move
    anew, _ = _epub(book, tmp_path / "fresh", monkeypatch)
    assert changed == anew


def test_a_renamed_heading_renders_again_the_chapters_that_link_to_it(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chapters 3 and 4 link to chapter 2's "The customs regime": renamed, those links go
    nowhere, and both chapters are rendered again without them, though their essays did not
    change."""
    _epub(book, tmp_path / "out", monkeypatch)
    chapters = _chapter_ids(book)
    essay = book.parent / "essays" / "02-on-kings.md"
    essay.write_text(essay.read_text("utf-8").replace("## The customs regime",
                                                      "## The regime of customs"), "utf-8")
    changed, rendered = _epub(book, tmp_path / "out", monkeypatch)
    assert {chapters[1], chapters[2], chapters[3]} <= set(rendered)
    assert b"02-on-kings.md#the-customs-regime" not in changed
    anew, _ = _epub(book, tmp_path / "fresh", monkeypatch)
    assert changed == anew


def test_a_damaged_document_is_rendered_again(book: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = _epub(book, tmp_path / "out", monkeypatch)
    entries = sorted((tmp_path / "out" / ".cache" / "documents").glob("*.entry"))
    assert len(entries) == len(_chapter_ids(book)) + 2  # and the glossary's and index's
    data = bytearray(entries[0].read_bytes())
    data[-100] ^= 0x01
    entries[0].write_bytes(bytes(data))
    second, rendered = _epub(book, tmp_path / "out", monkeypatch)
    assert len(rendered) == 1
    assert second == first


@pytest.mark.parametrize("damage", ["missing", "not an image"])
def test_an_image_put_right_after_a_build_is_used_by_the_next(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    """An image left out (no file yet, or a file that is no image) is looked for again by the
    next build: the essay kept parsed and its kept document are not used once the file is put
    right, and the warning goes."""
    image = book.parent / "essays" / "figures" / "routes.svg"
    good = image.read_bytes()
    if damage == "missing":
        image.unlink()
    else:
        image.write_bytes(b"not an SVG at all")
    found = Diagnostics()
    build(BuildOptions(book, tmp_path / "out", editions=("html", "epub")), found)
    assert any("routes.svg" in f.message for f in found.findings)
    image.write_bytes(good)
    found = Diagnostics()
    built = build(BuildOptions(book, tmp_path / "out", editions=("html", "epub")), found)
    assert not any("routes.svg" in f.message for f in found.findings)
    assert "data:image/svg+xml" in built.outputs["html"].read_text("utf-8")  # embedded
    epub, _ = _epub(book, tmp_path / "out", monkeypatch)
    anew, _ = _epub(book, tmp_path / "fresh", monkeypatch)
    assert epub == anew


def _epub_reading(manifest: Path, out: Path,
                  monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, list[str], list[str]]:
    """As _epub, and the chapters whose parsed essays (tokens and all) were read from the
    cache."""
    read: list[str] = []
    load = EssayCache.load_essay

    def recording(self: EssayCache, key: str, *args: Any) -> Any:
        essay = load(self, key, *args)
        read.append(key)
        return essay

    book = load_book(manifest, Diagnostics())
    keys = {chapter.essay_key: chapter.id for chapter in book.chapters}
    with monkeypatch.context() as patch:
        patch.setattr(EssayCache, "load_essay", recording)
        epub, rendered = _epub(manifest, out, monkeypatch)
    return epub, rendered, [keys.get(key, key) for key in read]


def test_an_epub_build_reads_the_tokens_of_the_chapters_it_renders_alone(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The book is collected from its essays' summaries: a chapter whose document is kept is
    never read, and after one essay changes (and the PDF is built, as `make all` does: its
    layout gives the EPUB's page list) only the chapters rendered again are."""
    build(BuildOptions(book, tmp_path / "out", editions=("pdf",)), Diagnostics())
    _epub(book, tmp_path / "out", monkeypatch)
    _, rendered, read = _epub_reading(book, tmp_path / "out", monkeypatch)
    assert rendered == [] and read == []
    chapters = _chapter_ids(book)
    essay = load_book(book, Diagnostics()).chapters[3].source
    essay.write_text(essay.read_text("utf-8").replace("\n\n", "\n\nA sentence more. ", 1),
                     "utf-8")
    build(BuildOptions(book, tmp_path / "out", editions=("pdf",)), Diagnostics())
    changed, rendered, read = _epub_reading(book, tmp_path / "out", monkeypatch)
    assert chapters[3] in rendered  # (parsed by the PDF's build)
    assert sorted(read) == sorted(set(rendered) - {"glossary", "index"})
    anew, _ = _epub(book, tmp_path / "fresh", monkeypatch)
    assert changed == anew


def test_a_damaged_essay_entry_is_parsed_again_when_its_chapter_is_rendered(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary is kept apart from the tokens: when the tokens' entry is damaged, the
    chapter that needs them parses its essay again, and the EPUB is the same."""
    out = tmp_path / "out"
    first, _ = _epub(book, out, monkeypatch)
    chapter = load_book(book, Diagnostics()).chapters[2]
    kept = EssayCache(out / ".cache")
    entry = kept.essays.folder / f"{kept.essays._name(f'{chapter.essay_key} essay')}.entry"
    assert entry.is_file()
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    shutil.rmtree(out / ".cache" / "documents")
    again, rendered = _epub(book, out, monkeypatch)
    assert chapter.id in rendered
    assert again == first


def test_the_glossary_and_index_are_rendered_again_when_a_term_is_used_anew(
        book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Their documents are kept under every use of every entry: a new use of "port authority"
    and "ledger" renders the glossary again, and the EPUB is a fresh build's."""
    _epub(book, tmp_path / "out", monkeypatch)
    essay = load_book(book, Diagnostics()).chapters[0].source
    essay.write_text(essay.read_text("utf-8") + "\nThe port authority kept a ledger.\n", "utf-8")
    changed, rendered = _epub(book, tmp_path / "out", monkeypatch)
    assert "glossary" in rendered
    anew, _ = _epub(book, tmp_path / "fresh", monkeypatch)
    assert changed == anew


def test_notes_read_back_from_the_cache_carry_what_the_collect_phase_decided(
        tmp_path: Path) -> None:
    """An essay's notes are rendered from the copies its calls point at (the parser's
    env["chapbook_notes"]): read back from the cache they must be the notes the collect phase
    wrote into, or a citation in a note prints as its bare key. The HTML and PDF of a warm
    build are a fresh build's, in a notes-style book whose notes cite."""
    folder = tmp_path / "briefing"
    shutil.copytree(ROOTS / "briefing", folder)
    manifest = folder / "notes.yml"
    editions = ("html", "pdf")
    build(BuildOptions(manifest, tmp_path / "warm", editions=editions), Diagnostics())
    warm = build(BuildOptions(manifest, tmp_path / "warm", editions=editions), Diagnostics())
    fresh = build(BuildOptions(manifest, tmp_path / "fresh", editions=editions), Diagnostics())
    html = warm.outputs["html"].read_text("utf-8")
    assert "tvedt2004?" not in html
    assert html == fresh.outputs["html"].read_text("utf-8")
    assert warm.outputs["pdf"].read_bytes() == fresh.outputs["pdf"].read_bytes()
