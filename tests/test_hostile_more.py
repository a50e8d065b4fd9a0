"""Hostile input, round two (issue 11, findings 4, 6 and 11): each case that hung, printed a
traceback or wrote something wrong is now one clear line naming the file and line, or a warning
and a correct book. Every case runs the real `chapbook` command on a small book."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from .conftest import EpubCheck, run_cli
from .test_untrusted import small_book


def _build(manifest: Path, *formats: str, env: dict[str, str] | None = None,
           ) -> subprocess.CompletedProcess[str]:
    return run_cli("build", *(formats or ("pdf",)), "--book", str(manifest), "--out",
                   str(manifest.parent / "out"), env=env)


def _one_clear_error(result: subprocess.CompletedProcess[str], where: str, what: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert (f"{where}: error: {what}" if where else f"error: {what}") in result.stderr, \
        result.stderr


@pytest.mark.parametrize("size", ["0mm 0mm", "5mm 5mm", "20mm 30mm", "2000mm 100mm"])
def test_a_page_too_small_or_too_large_is_refused_at_its_line(tmp_path: Path, size: str) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nText.\n"})
    manifest.write_text(manifest.read_text().replace("slug: small",
                                                     f'slug: small\npage_size: "{size}"'))
    result = _build(manifest)
    _one_clear_error(result, "book.yml:2:12", f"a page of '{size}' is too")
    assert "from 74 mm to 600 mm" in result.stderr


def test_a_megabyte_title_is_refused_at_its_line(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nText.\n"})
    manifest.write_text(manifest.read_text().replace("title: Only", "title: " + "Long " * 200_000))
    _one_clear_error(_build(manifest), "book.yml:9:12", "parts[1].title is 999,999 characters")


@pytest.mark.parametrize(("line", "word"), [
    ("[" * 50_000, "50,000"), ("[a](" * 20_000, "80,000"), ("ab" * 1_000, "2,000"),
])
def test_a_word_no_line_can_hold_is_refused_at_its_line(tmp_path: Path, line: str,
                                                        word: str) -> None:
    """The line breaker tries every split of an unbreakable run on every line: 5,000 letters
    took three minutes to set. A run of CJK or a path with slashes breaks, and is kept."""
    manifest = small_book(tmp_path / "book", {"a.md": f"# A\n\nFirst.\n\n{line}\n",
                                              "b.md": "# B\n\n" + "漢字" * 1_000 + "\n\n"
                                              + "a/b" * 400 + "\n"})
    _one_clear_error(_build(manifest), "essays/a.md:5", f"a word of {word} characters")


def test_raw_html_nested_across_blocks_is_refused_at_its_line(tmp_path: Path) -> None:
    """Each block alone is shallow; together they nested 150 deep and overflowed the layout's
    recursion (a RecursionError traceback)."""
    essay = "# A\n\n" + "<div>\n\n" * 150 + "deep\n\n" + "</div>\n\n" * 150
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    _one_clear_error(_build(manifest), "essays/a.md:83",
                     "raw HTML is nested over 40 levels deep here")


def test_unclosed_paragraphs_in_raw_html_are_not_nesting(tmp_path: Path) -> None:
    essay = "# A\n\n" + "<p>A paragraph with no end tag, as HTML allows.\n\n" * 60 + "End.\n"
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = _build(manifest, "html")
    assert result.returncode == 0, result.stderr
    assert "nested" not in result.stderr


@pytest.mark.parametrize(("table", "what"), [
    ("<table>\n<tr>\n" + "<td>x</td>\n" * 50_000 + "</table>\n",
     "a table row with more than 60 cells"),
    ("<table>\n" + ("<tr>\n" + "<td>x</td>\n" * 40) * 600 + "</table>\n",
     "more than 20,000 table cells"),
])
def test_raw_html_tables_are_bounded_however_they_are_written(tmp_path: Path, table: str,
                                                              what: str) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\n" + table})
    _one_clear_error(_build(manifest), "essays/a.md:3", what)


def test_an_image_too_large_to_read_is_left_out_with_a_warning(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\n![A chart](big.png)\n\nAfter.\n"})
    with (manifest.parent / "essays" / "big.png").open("wb") as sparse:
        sparse.write(b"\x89PNG\r\n\x1a\n")
        sparse.truncate(1 << 30)  # a gigabyte that takes no disk
    result = _build(manifest, "html", "epub")
    assert result.returncode == 0, result.stderr
    assert "essays/a.md:3: warning: image 'big.png' left out: the file is larger than 64 MB" \
        in result.stderr
    assert (manifest.parent / "out" / "small.epub").stat().st_size < 5 * 1024 * 1024


def test_a_symlink_loop_and_a_pipe_are_named_for_what_they_are(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nx\n", "b.md": "# B\n\nx\n"})
    essays = manifest.parent / "essays"
    (essays / "a.md").unlink()
    (essays / "a.md").symlink_to("a.md")
    (essays / "b.md").unlink()
    os.mkfifo(essays / "b.md")
    result = _build(manifest)
    _one_clear_error(result, "book.yml:11:15",
                     "essay 'essays/a.md' is a symbolic link that leads back to itself")
    assert "book.yml:12:15: error: essay 'essays/b.md' is not a regular file" in result.stderr


@pytest.mark.parametrize("epoch", ["99999999999", "253402300800", "-5", "abc", "1e9"])
def test_a_malformed_source_date_epoch_is_one_clear_error(tmp_path: Path, epoch: str) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nx\n"})
    result = _build(manifest, "epub", env={"SOURCE_DATE_EPOCH": epoch})
    _one_clear_error(result, "", f"SOURCE_DATE_EPOCH={epoch!r} is not a build time")
    assert not (manifest.parent / "out" / "small.epub").exists()


def test_control_characters_from_yaml_escapes_in_front_matter_are_left_out(
        tmp_path: Path) -> None:
    essay = '---\ntitle: "Bad\\x01 title"\nsubtitle: "Fine"\n---\n\n# Heading\n\nText.\n'
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = _build(manifest, "epub")
    assert result.returncode == 0, result.stderr
    assert "essays/a.md:2: warning: `title` contains U+0001" in result.stderr


def test_an_alt_text_holding_a_bracket_leaves_no_markup_as_text(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": '# A\n\n<img alt=">" src="x.png"> after\n'})
    result = _build(manifest, "html")
    assert result.returncode == 0, result.stderr
    html = (manifest.parent / "out" / "small.html").read_text("utf-8")
    assert 'src="x.png"&gt;' not in html and "x.png" not in html.split("<body", 1)[1]


def test_essays_cannot_borrow_the_books_own_classes(tmp_path: Path) -> None:
    essay = ('# A\n\n<p class="part-title">A fake part</p>\n\n'
             '<div class="endnotes keep-me">Visible in print.</div>\n')
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = _build(manifest, "pdf", "html")
    assert result.returncode == 0, result.stderr
    assert "essays/a.md:3: warning: class 'part-title' on <p> removed" in result.stderr
    assert "essays/a.md:5: warning: class 'endnotes' on <div> removed" in result.stderr
    reader = PdfReader(manifest.parent / "out" / "small.pdf")
    assert "Visible in print." in " ".join(page.extract_text() for page in reader.pages)
    titles = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "A fake part" not in titles
    assert 'class="keep-me"' in (manifest.parent / "out" / "small.html").read_text("utf-8")


def test_raw_html_is_read_as_a_browser_reads_it(tmp_path: Path) -> None:
    """Raw HTML's tags are read by an HTML tokenizer: a class written with an entity is still
    one of the book's own, `id="…"` in running text is text, and tags inside a comment are not
    nesting."""
    essay = ('# A\n\n<p class="part-title&#32;kept">Entity class.</p>\n\n'
             '<p id="real">Write id="twice" and id="twice" in prose.</p>\n\n'
             '<!-- ' + '<div>' * 60 + ' -->\n\nAfter the comment.\n')
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = _build(manifest, "html")
    assert result.returncode == 0, result.stderr
    assert "essays/a.md:3: warning: class 'part-title' on <p> removed" in result.stderr
    assert "nested" not in result.stderr and "duplicate-id" not in result.stderr
    body = (manifest.parent / "out" / "small.html").read_text("utf-8").split("<body", 1)[1]
    assert '<p class="kept">Entity class.</p>' in body
    assert "part-title" not in body.split("Entity class.")[0].rsplit("<p", 1)[1]
    assert '<p id="real">Write id="twice" and id="twice" in prose.</p>' in body
    assert "After the comment." in body


def test_a_title_of_only_invisible_characters_is_no_title(tmp_path: Path,
                                                         epubcheck: EpubCheck) -> None:
    """Found by the fuzz test (EPUBCheck RSC-005): a title that is only a zero-width space
    made an EPUB document with an empty <title>. A chapter's is no title (a warning, and the
    file's name stands in); the book's is an error at its line."""
    essay_a = '---\ntitle: "\\u200b"\n---\n\nText.\n'
    manifest = small_book(tmp_path / "book", {"a.md": essay_a, "b.md": "# \u200b\n\nText.\n"})
    result = _build(manifest, "epub")
    assert result.returncode == 0, result.stderr
    assert "essays/a.md:2: warning: the chapter's title holds only invisible characters" \
        in result.stderr
    assert "essays/b.md:1: warning: the chapter's title holds only invisible characters" \
        in result.stderr
    assert epubcheck(manifest.parent / "out" / "small.epub") == []
    manifest.write_text(manifest.read_text().replace("title: Small", 'title: "\\u200b"'))
    _one_clear_error(_build(manifest, "epub"), "book.yml:3:10",
                     "metadata.title holds only invisible characters")


@pytest.mark.parametrize(("name", "content", "what"), [
    ("glossary", "- just a list\n", "the glossary should be a mapping of keys to values"),
    ("index", "terms: 5\n", "unknown key 'terms' in the index file"),
])
def test_shape_errors_in_the_glossary_and_index_name_those_files(tmp_path: Path, name: str,
                                                                 content: str, what: str) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nx\n"})
    (manifest.parent / f"{name}.yml").write_text(content)
    manifest.write_text(manifest.read_text().replace("slug: small",
                                                     f"slug: small\n{name}: {name}.yml"))
    _one_clear_error(_build(manifest), f"{name}.yml:1:1", what)


def test_invisible_direction_controls_stay_out_of_the_document_title(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nx\n"})
    manifest.write_text(manifest.read_text().replace("title: Small",
                                                     'title: "Sm\\u202Eall\\u200B book"'))
    result = _build(manifest, "pdf", "epub")
    assert result.returncode == 0, result.stderr
    assert PdfReader(manifest.parent / "out" / "small.pdf").metadata.title == "Small book"
    import zipfile
    with zipfile.ZipFile(manifest.parent / "out" / "small.epub") as epub:
        opf = epub.read("EPUB/content.opf").decode()
    assert "<dc:title>Small book</dc:title>" in opf


def _small_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails instead of killing


def test_a_full_disk_is_one_line_and_keeps_the_last_outputs(tmp_path: Path) -> None:
    """A disk that fills mid-build (here: a 64 KB file size limit, as a full disk or TMPDIR
    behaves to a writer) is one line naming the file, and the last good outputs stay."""
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\n" + "Words of text. " * 3000})
    out = tmp_path / "out"
    out.mkdir()
    (out / "small.pdf").write_bytes(b"%PDF-1.7 last good\n")
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "pdf", "--book",
                             str(manifest), "--out", str(out)], capture_output=True, text=True,
                            timeout=120, preexec_fn=_small_file_limit)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "error: File too large" in result.stderr and "hint:" in result.stderr
    assert (out / "small.pdf").read_bytes() == b"%PDF-1.7 last good\n"
    assert not list(out.glob(".*.part"))


def test_debug_still_shows_the_traceback_of_a_fault(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nx\n"})
    result = run_cli("build", "epub", "--debug", "--book", str(manifest), "--out",
                     str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    fault = subprocess.run([sys.executable, "-m", "chapbook", "build", "epub", "--debug",
                            "--book", str(manifest), "--out", str(tmp_path / "out2")],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "SOURCE_DATE_EPOCH": "abc"})
    assert fault.returncode == 1 and "Traceback" in fault.stderr


def test_images_are_judged_by_their_content_not_their_name(tmp_path: Path) -> None:
    """A text file named .png, a PNG named .jpg and a cut-off PNG shipped in the EPUB with a
    media type their content belies (EPUBCheck OPF-029, PKG-021)."""
    import shutil
    import zipfile

    manifest = small_book(tmp_path / "book", {
        "a.md": "# A\n\n![t](t.png)\n\n![j](j.jpg)\n\n![c](cut.png)\n\n![ok](ok.png)\n"})
    essays = manifest.parent / "essays"
    shutil.copy(Path(__file__).parent / "roots" / "hostile" / "essays" / "img" / "chart.png",
                essays / "ok.png")
    (essays / "t.png").write_text("not an image")
    shutil.copy(essays / "ok.png", essays / "j.jpg")
    (essays / "cut.png").write_bytes((essays / "ok.png").read_bytes()[:200])
    result = _build(manifest, "epub")
    assert result.returncode == 0, result.stderr
    assert "a.md:3: warning: image 't.png' left out: its content is not a readable PNG" \
        in result.stderr
    assert "a.md:5: warning: image 'j.jpg' left out: its content is PNG, not JPEG" \
        in result.stderr
    assert "a.md:7: warning: image 'cut.png' left out" in result.stderr
    with zipfile.ZipFile(manifest.parent / "out" / "small.epub") as epub:
        images = [name for name in epub.namelist() if "/images/" in name]
    assert sorted(Path(name).name for name in images) == ["cover.png", "ok.png"]


def test_ampersands_and_noncharacters_still_make_a_valid_epub(
        tmp_path: Path, epubcheck: EpubCheck) -> None:
    """Found by the fuzz test: a title's text before any element was written unescaped into
    the XHTML (`A & B`), and U+FFFF, typed or as `&#xFFFF;` in raw HTML, reached it too: both
    are fatal errors in EPUBCheck (RSC-016)."""
    manifest = small_book(tmp_path / "book", {
        "toc.md": "# Toc & more &foo; &\n\nText \uffff and \ufffe.\n\n<p>Raw &#xFFFF; here</p>\n"})
    result = _build(manifest, "epub")
    assert result.returncode == 0, result.stderr
    assert "essays/toc.md:3: warning: control characters removed" in result.stderr
    messages = epubcheck(manifest.parent / "out" / "small.epub")
    assert messages == [], messages


def test_a_book_dated_past_the_zip_format_still_packs_its_epub(tmp_path: Path) -> None:
    """Found by the fuzz test: `date: "9999-12-31"` (with no git history and no
    SOURCE_DATE_EPOCH, the book's date stamps the EPUB's entries) overflowed the ZIP format."""
    import zipfile

    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nx\n"})
    manifest.write_text(manifest.read_text().replace('date: "2026-01-01"', 'date: "9999-12-31"'))
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "epub", "--book",
                             str(manifest), "--out", str(tmp_path / "out")], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"})
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "out" / "small.epub") as epub:
        assert {info.date_time[0] for info in epub.infolist()} == {2107}


def test_dangling_notes_and_cross_references_leave_no_broken_link(
        tmp_path: Path, epubcheck: EpubCheck) -> None:
    """Found by the fuzz test (EPUBCheck RSC-012, RSC-005): an inline note inside a definition
    no one cites kept a backlink to a call that was never printed; a `see` to an index heading
    no essay uses linked to an entry left out; a book dated 0001 wrote dcterms:modified as
    `1-01-01`."""
    essay = ("# A\n\nCited.[^1]\n\n[^1]: The note.\n\n[^9]: Never cited, with an inline "
             "note.^[Inside it.]\n\nAn alliance.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "index.yml").write_text(
        "headings:\n  - heading: Unused heading\n  - heading: Pacts\n    see: Unused heading\n"
        "  - heading: Alliance\n    see_also: [Unused heading]\n")
    manifest.write_text(manifest.read_text().replace("slug: small", "slug: small\n"
                        "index: index.yml\nback_matter: [index]")
                        .replace('date: "2026-01-01"', 'date: "0001-01-01"'))
    result = subprocess.run([sys.executable, "-m", "chapbook", "build", "epub", "--book",
                             str(manifest), "--out", str(tmp_path / "out")], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path,
                            env={k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"})
    assert result.returncode == 0, result.stderr
    messages = epubcheck(tmp_path / "out" / "small.epub")
    assert messages == [], messages


def test_an_identifier_marked_as_a_uuid_must_be_one(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nx\n"})
    manifest.write_text(manifest.read_text().replace(
        "urn:uuid:11111111-2222-3333-4444-555555555555", "urn:uuid:not-a-uuid"))
    _one_clear_error(_build(manifest, "epub"), "book.yml:6:15",
                     "'urn:uuid:not-a-uuid' is marked as a UUID but is not one")


def test_nul_bytes_in_addresses_and_odd_line_breaks_in_yaml_are_not_crashes(
        tmp_path: Path) -> None:
    """Found by the fuzz test: `%00` in an image or chapter link made Path.resolve raise
    ValueError, and a YAML file using U+2028 as a line break put the glyph check's line count
    past the end of the file (IndexError)."""
    essay = "# A\n\n![x](a%00.png) and [a link](b%00.md).\n"
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "glossary.yml").write_text(
        'terms:\n  - term: "Thing"\n    definition: "one\u2028two\u2028three \U0001f600"\n',
        "utf-8")
    manifest.write_text(manifest.read_text().replace("slug: small", "slug: small\n"
                                                     "glossary: glossary.yml"))
    for command in (["check"], ["build", "html"]):
        result = run_cli(*command, "--book", str(manifest),
                         *(["--out", str(tmp_path / "out")] if command[0] == "build" else []))
        said = result.stdout + result.stderr  # check reports on stdout, build on stderr
        assert "failed unexpectedly" not in said and "Traceback" not in said
        assert result.returncode in (0, 1), said
        assert "a.md:3: warning: image 'a%00.png' left out" in said


def test_raw_html_oddities_found_by_the_fuzz_test_leave_a_valid_epub(
        tmp_path: Path, epubcheck: EpubCheck) -> None:
    """An unclosed <title> turned the rest of the chapter into escaped text; `<wbr>` swallowed
    the words after it; an invalid `datetime`, a `cite` naming a local file, an id used twice,
    a link to a name inside chapbook's EPUB, an empty index mark and calls that no reader meets
    (in an uncited note, in an image's alt text) each made the EPUB invalid or the build fail."""
    essay = ("# T\n\n<head><title> the rest\n\nword[^1] ![alt[^1]](x.png) and {^ } and "
             "{^ > }\n\nlong<wbr>word and more\n\n<time datetime=\"yesterday\">t</time> "
             "<q cite=\"file:///etc/passwd\">q</q>\n\n<span id=\"x\">a</span> "
             "<span id=\"x\">b</span> <a href=\"glossary.xhtml\">g</a>\n\n[^1]: The note.\n\n"
             "[^0]: Never called, cites [^1].\n\nAfter the title.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "index.yml").write_text("headings:\n  - heading: Word\n")
    manifest.write_text(manifest.read_text().replace("slug: small", "slug: small\n"
                                                     "index: index.yml\nback_matter: [index]"))
    result = _build(manifest, "epub")
    assert result.returncode == 0, result.stderr
    assert "an index mark with no heading is left out" in result.stderr
    assert "id 'x' is used twice" in result.stderr
    messages = epubcheck(manifest.parent / "out" / "small.epub")
    assert messages == [], messages
    import zipfile
    with zipfile.ZipFile(manifest.parent / "out" / "small.epub") as epub:
        chapter = epub.read("EPUB/a.xhtml").decode()
    assert "After the title." in chapter and "&lt;p" not in chapter
