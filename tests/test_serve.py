"""The live preview, driven in headless Chromium: edit an essay, see the new text in the page; a
broken save shows its error in the page and the server keeps going."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import BUNDLED, running_preview

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium")


def _chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, quiet (no network of its own)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])


@pytest.fixture
def preview(tmp_path: Path):
    with running_preview(tmp_path / "book") as (url, said):
        yield tmp_path / "book", url, said


def test_editing_an_essay_updates_the_open_page(preview) -> None:
    from playwright.sync_api import sync_playwright

    book, url, said = preview
    essay = book / "essays" / "repeats.md"
    with sync_playwright() as playwright:
        browser = _chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(url)
            assert "Second overview, same heading text." in page.inner_text("body")
            essay.write_text(essay.read_text() + "\nA sentence added while the page was open.\n")
            page.wait_for_function(
                "document.body.innerText.includes('A sentence added while the page was open.')",
                timeout=30_000)
            manifest = book / "book.yml"
            good = manifest.read_text()
            manifest.write_text(good.replace("  title: Edge Cases", "  title: [Edge"))
            page.wait_for_function(
                "document.body.innerText.includes('The book does not build')", timeout=30_000)
            assert "book.yml" in page.inner_text("pre.error")
            # the terminal says so too, as a build would (it said "rebuilt" and nothing else)
            for _ in range(100):
                if any("book.yml:" in line and "error:" in line for line in said):
                    break
                page.wait_for_timeout(100)
            assert any("does not build after book.yml" in line for line in said), said
            assert any("book.yml:" in line and "error:" in line for line in said), said
            manifest.write_text(good)
            page.wait_for_function(
                "document.body.innerText.includes('A sentence added while the page was open.')",
                timeout=30_000)
        finally:
            browser.close()
    assert any("rebuilt after" in line for line in said)


def test_a_saved_essay_shows_in_the_page_of_the_bundled_book(
        tmp_path: Path, record_property: pytest.RecordProperty) -> None:
    """Saving an essay of the bundled book reloads the open page with the new text. The time
    from the save to the new text in the page is reported (the junit property
    `save_to_page_s`, and on stderr with `pytest -s`), not asserted: bench/RESULTS.md keeps it."""
    from playwright.sync_api import sync_playwright

    with running_preview(tmp_path / "book", BUNDLED.parent) as (url, _), \
            sync_playwright() as playwright:
        browser = _chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(url)
            essay = tmp_path / "book" / "essays" / "defence-political-dialogue.md"
            times = []
            for attempt in range(3):
                sentence = f"A sentence saved while the page was open, take {attempt}."
                saved = time.perf_counter()
                essay.write_text(essay.read_text("utf-8") + f"\n{sentence}\n", "utf-8")
                page.wait_for_function(f"document.body.innerText.includes({sentence!r})",
                                       timeout=30_000)
                times.append(time.perf_counter() - saved)
        finally:
            browser.close()
    record_property("save_to_page_s", round(min(times), 2))
    print(f"save to page: {', '.join(f'{t:.2f}' for t in times)} s", file=sys.stderr)


def _said_at_least(said: list[str], words: str, times: int, seconds: float = 180) -> None:
    """Wait until the server has said `words` `times` times (each rebuild of the print edition
    says it once); the deadline only bounds a failure."""
    deadline = time.monotonic() + seconds
    while sum(words in line for line in said) < times and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sum(words in line for line in said) >= times, said


def test_the_print_preview_is_laid_out_again_after_a_save(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve --pdf`: the print edition at /book.pdf, and a page at /pdf whose frame loads the
    new one after a save; the new sentence is in the new PDF's text. Laid out in pieces (by
    two workers), a save lays out again only the piece it changed: the others, and the front
    matter, come from the per-piece cache, as in `chapbook build pdf`."""
    import tempfile
    import urllib.request

    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the preview's own folder here
    monkeypatch.setenv("CHAPBOOK_JOBS", "1")  # in pieces, however many cores this machine has

    def pieces() -> set[Path]:  # a piece is kept as two entries: what it holds, and its PDF
        return set(tmp_path.glob("chapbook-serve-*/.cache/pieces/*.entry"))

    added = "A sentence added for the print preview."
    with running_preview(tmp_path / "book", pdf=True) as (url, said):
        _said_at_least(said, "print edition laid out", 1)
        first = urllib.request.urlopen(url + "book.pdf").read()
        assert first.startswith(b"%PDF") and added not in _pdf_text(PdfReader, first)
        laid_out_first = pieces()
        # a piece for each of 2 chapters, and the front matter
        assert len(laid_out_first) == 3 * 2, laid_out_first
        with sync_playwright() as playwright:
            browser = _chromium(playwright)
            try:
                page = browser.new_page()
                page.goto(url + "pdf")
                assert page.get_attribute("iframe#pdf", "src") == "/book.pdf?v=1"
                essay = tmp_path / "book" / "essays" / "repeats.md"
                essay.write_text(essay.read_text() + f"\n{added}\n")
                _said_at_least(said, "print edition laid out", 2)
                page.wait_for_function(
                    "document.getElementById('pdf').src.endsWith('/book.pdf?v=2')",
                    timeout=30_000)
            finally:
                browser.close()
        second = urllib.request.urlopen(url + "book.pdf").read()
        assert added in _pdf_text(PdfReader, second)
        # the saved essay is the last chapter: the first one is not laid out again, nor the
        # front matter, whose contents still show the same pages
        assert len(pieces() - laid_out_first) == 1 * 2


def _pdf_text(reader: Any, data: bytes) -> str:
    """The PDF's text on one line, a word hyphenated at a line's end made whole again."""
    import io
    import re

    text = " ".join(" ".join((page.extract_text() or "").split())
                    for page in reader(io.BytesIO(data)).pages)
    return re.sub("[\u2010\u00ad-] ", "", text)


def test_the_print_preview_of_a_book_that_does_not_build_says_why_and_waits(
        tmp_path: Path) -> None:
    """`serve --pdf` started on a broken book answered /pdf with Python's bare "Error code:
    404", with no reload, and said nothing in the terminal. The page now says the print
    edition is not laid out, and why, and shows it once a save mends the book."""
    import urllib.request

    from .conftest import ROOTS

    broken = tmp_path / "broken"
    shutil.copytree(ROOTS / "edge", broken)
    good = (broken / "book.yml").read_text()
    (broken / "book.yml").write_text(good.replace("  title: Edge Cases", "  title: [Edge"))
    with running_preview(tmp_path / "book", broken, pdf=True) as (url, said):
        page = urllib.request.urlopen(url + "pdf").read().decode()
        assert "not laid out" in page and "book.yml" in page, page
        assert any("does not build" in line for line in said), said
        assert urllib.request.urlopen(url + "__pdf-version").read() == b"0"
        (tmp_path / "book" / "book.yml").write_text(good)
        _said_at_least(said, "print edition laid out", 1)
        assert urllib.request.urlopen(url + "__pdf-version").read() == b"1"
        assert urllib.request.urlopen(url + "book.pdf").read().startswith(b"%PDF")
