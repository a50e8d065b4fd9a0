"""Untrusted and broken input: a clear error or a repair, nothing from outside the book in any
output, no connection attempted, runaway essays stopped, and the last good output kept."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lxml_html
from pypdf import PdfReader

from .conftest import BUNDLED, ROOTS, build, run_cli

PASSWD_LINE = Path("/etc/passwd").read_text().splitlines()[0]  # "root:x:0:0:…"
NS = {"x": "http://www.w3.org/1999/xhtml"}


def small_book(folder: Path, essays: dict[str, str | bytes], **chapter_keys: str) -> Path:
    (folder / "essays").mkdir(parents=True, exist_ok=True)
    chapters = ""
    for name, text in essays.items():
        path = folder / "essays" / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        extra = "".join(f"\n        {k}: {v}" for k, v in chapter_keys.items())
        chapters += f"      - file: essays/{name}{extra}\n"
    manifest = folder / "book.yml"
    manifest.write_text(textwrap.dedent("""\
        slug: small
        metadata:
          title: Small
          author: Tester
          language: en
          identifier: urn:uuid:11111111-2222-3333-4444-555555555555
          date: "2026-01-01"
        parts:
          - title: Only
            chapters:
        """) + chapters)
    return manifest


# --- broken essays: repaired with a warning, or refused with a clear message ---------------

@pytest.fixture(scope="module")
def scripts_build(built) -> tuple[Path, str]:
    return built("scripts")


@pytest.mark.parametrize(("essay", "line", "code"), [
    ("legacy.md", 3, "encoding"), ("legacy.md", 6, "nul-bytes"),
    ("empty.md", 1, "empty-essay"), ("untitled.md", 1, "no-title"),
    ("mixed.md", 7, "heading-jump"), ("mixed.md", 9, "footnote-undefined"),
    ("mixed.md", 11, "footnote-unused"),
])
def test_broken_essays_are_repaired_with_a_warning(scripts_build, essay: str, line: int,
                                                   code: str) -> None:
    _, stderr = scripts_build
    assert re.search(rf"scripts/essays/{re.escape(essay)}:{line}: warning: .*\[{code}\]",
                     stderr), stderr


def test_legacy_encoding_and_nul_bytes_are_repaired(scripts_build) -> None:
    out, _ = scripts_build
    text = " ".join(p.extract_text() for p in PdfReader(out / "scripts.pdf").pages)
    assert "author’s naïve café notes – saved as Windows-1252" in text
    assert "\x00" not in text and "A NUL byte hides here" in text


def test_right_to_left_and_cjk_are_set_with_their_fonts_and_direction(scripts_build) -> None:
    out, _ = scripts_build
    reader = PdfReader(out / "scripts.pdf")
    fonts = {str(f.get_object()["/BaseFont"]) for page in reader.pages
             for f in page.get("/Resources", {}).get("/Font", {}).values()}
    assert any("Amiri" in f for f in fonts) and any("Droid-Sans-Fallback" in f for f in fonts)
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "防务外交" in text
    tree = lxml_html.parse(str(out / "scripts.html")).getroot()
    [arabic] = tree.xpath("//article[@id='arabic']")
    assert arabic.get("lang") == "ar" and arabic.get("dir") == "rtl"
    [chinese] = tree.xpath("//article[@id='chinese']")
    assert chinese.get("lang") == "zh-Hans" and chinese.get("dir") == "ltr"
    [mixed] = tree.xpath("//article[@id='mixed']//p[@dir='rtl']")
    assert mixed.text_content().startswith("هذه فقرة")
    archive = zipfile.ZipFile(out / "scripts.epub")
    doc = etree.fromstring(archive.read("EPUB/arabic.xhtml"))
    assert doc.get("lang") == "ar" and doc.get("dir") == "rtl"


def test_long_words_and_urls_never_cross_the_margin(tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils is not installed (make test installs it)")
    assert build(ROOTS / "edge" / "book.yml", tmp_path, "pdf") == 0
    pdf = tmp_path / "edge-cases.pdf"
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    page_width = 148 / 25.4 * 72
    inner, outer = 16 / 25.4 * 72, 20 / 25.4 * 72
    words = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', bbox)
    assert len(words) > 100
    for x_min, x_max in words:
        assert float(x_min) >= min(inner, outer) - 1
        assert float(x_max) <= page_width - min(inner, outer) + 1


def test_very_large_essay_builds(tmp_path: Path) -> None:
    paragraph = ("Defence diplomacy builds trust between nations through dialogue, exchanges and "
                 "cooperation among their armed forces. ") * 12
    essay = "# A Very Large Essay\n\n" + "\n\n".join(
        f"## Section {n}\n\n{paragraph}" for n in range(1, 61))
    manifest = small_book(tmp_path / "book", {"large.md": essay})
    assert build(manifest, tmp_path / "out", "pdf", "epub") == 0
    assert len(PdfReader(tmp_path / "out" / "small.pdf").pages) > 40


@pytest.mark.parametrize(("text", "message"), [
    ("# Deep\n\n" + "> " * 500 + "quote\n", "nested more than"),
    ("# Wide\n\n|" + "a|" * 5000 + "\n|" + "-|" * 5000 + "\n|" + "x|" * 5000 + "\n",
     "a table with 5000 columns"),
])
def test_runaway_structures_are_refused_naming_the_essay(tmp_path: Path, text: str,
                                                          message: str) -> None:
    manifest = small_book(tmp_path / "book", {"runaway.md": text})
    result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    assert re.search(r"essays/runaway\.md:3: error: .*" + message, result.stderr)
    assert "Traceback" not in result.stderr


def test_huge_values_in_raw_html_are_stripped(tmp_path: Path) -> None:
    text = ('# Huge\n\n<p style="font-size: 1e9px; width: 1e9px">big</p>\n\n'
            + "<div>" * 2000 + "deep" + "</div>" * 2000 + "\n\nAfter.\n")
    manifest = small_book(tmp_path / "book", {"huge.md": text})
    result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "style attribute on <p> removed" in result.stderr
    assert "nested over 40 levels deep" in result.stderr
    reader = PdfReader(tmp_path / "out" / "small.pdf")
    assert len(reader.pages) < 12 and "After." in reader.pages[-1].extract_text()


def test_time_limit_names_what_was_running(tmp_path: Path) -> None:
    essay = "# Slow\n\n" + "\n\n".join("A paragraph of ordinary words that takes time. " * 30
                                      for _ in range(200))
    manifest = small_book(tmp_path / "book", {"slow.md": essay})
    # The build is held (SIGSTOP) as soon as it starts, so it cannot finish within the limit
    # however fast the machine; its supervisor's clock runs on and stops it.
    process = subprocess.Popen([sys.executable, "-m", "chapbook", "build", "pdf", "--timeout",
                                "2", "--book", str(manifest), "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    while process.poll() is None and not children.read_text().split():
        time.sleep(0.005)
    for child in children.read_text().split() if process.poll() is None else []:
        os.kill(int(child), signal.SIGSTOP)
    stdout, stderr = process.communicate(timeout=120)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    assert result.returncode == 1
    assert "ran out of time" in result.stderr or "longer than its limit" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "small.pdf").exists()


def test_memory_limit_stops_the_build_cleanly(tmp_path: Path) -> None:
    manifest = small_book(tmp_path / "book", {"a.md": "# A\n\nText.\n"})
    result = run_cli("build", "pdf", "--max-memory", "40", "--book", str(manifest),
                     "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr  # an error, not a crash of the C libraries
    assert "memory" in result.stderr and "--max-memory" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "small.pdf").exists()


# --- hostile input cannot reach the build machine --------------------------------------------

@pytest.fixture(scope="module")
def hostile_build(built) -> tuple[Path, str]:
    return built("hostile")


@pytest.mark.parametrize(("line", "what"), [
    (5, "image 'file:///etc/passwd' left out"), (7, "image 'http://127.0.0.1:9/x.png' left out"),
    (9, "image 'http://127.0.0.1:9/y.png' left out"), (11, "<link> removed"),
    (13, "style attribute on <p> removed"), (13, "style attribute on <span> removed"),
    (16, "<script> removed"), (18, "<iframe> removed"), (20, "<object> removed"),
    (20, "<embed> removed"), (22, "<form> removed"), (24, "'javascript:alert(1)' removed"),
    (24, "event handler 'onclick'"), (27, "<base> removed"), (27, "<meta> removed"),
    (29, "image 'img/outside.svg' left out: the SVG contains <image>"),
    (29, "image 'img/sneaky.png' left out: it is outside the book's folder"),
    (29, "image '../../../../etc/hostname' left out"),
])
def test_each_blocked_thing_is_reported_with_essay_and_line(hostile_build, line: int,
                                                            what: str) -> None:
    _, stderr = hostile_build
    assert f"hostile/essays/attacks.md:{line}: warning: {what}" in stderr


def test_nothing_from_outside_reaches_any_output(hostile_build) -> None:
    out, stderr = hostile_build
    hostname = Path("/etc/hostname").read_text().strip()
    pdf = PdfReader(out / "hostile.pdf")
    assert not pdf.attachments
    pdf_text = " ".join(page.extract_text() for page in pdf.pages)
    assert PASSWD_LINE not in pdf_text
    images = {image.data for page in pdf.pages for image in page.images}
    assert len(images) == 1  # the safe chart, nothing else
    html = (out / "hostile.html").read_text("utf-8")
    tree = lxml_html.fromstring(html)
    assert not tree.xpath("//script | //iframe | //object | //embed | //form | //link | //base"
                          " | //meta[@http-equiv] | //body//*[@style] | //*[@onclick]")
    assert not tree.xpath("//a[starts-with(@href, 'javascript:')]")
    assert PASSWD_LINE not in html
    sources = [img.get("src") for img in tree.xpath("//img")]
    assert len(sources) == 1 and sources[0].startswith("data:image/png;base64,")
    archive = zipfile.ZipFile(out / "hostile.epub")
    names = archive.namelist()
    assert "EPUB/images/essays/img/chart.png" in names
    assert not [n for n in names if "passwd" in n or "hostname" in n or n.endswith(".svg")]
    opf = archive.read("EPUB/content.opf").decode()
    assert "scripted" not in opf and "remote-resources" not in opf
    for name in names:
        data = archive.read(name)
        assert PASSWD_LINE.encode() not in data
        if name.endswith(".xhtml"):
            assert b"<script" not in data and b"<iframe" not in data
            if len(hostname) > 6:
                assert hostname.encode() not in data
    assert "Traceback" not in stderr


def test_no_connection_is_attempted(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connections: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connections.append(connection)
            connection.close()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    (tmp_path / "book" / "essays").mkdir(parents=True)
    (tmp_path / "book" / "essays" / "remote.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
        f'<image href="{url}/svg.png" width="4" height="4"/></svg>')
    essay = (f"# Remote\n\n![md]({url}/md.png)\n\n<img src=\"{url}/raw.png\" alt=\"raw\">\n\n"
             f"<p style=\"background: url({url}/css.png)\">css</p>\n\n"
             f"<link rel=\"attachment\" href=\"{url}/attachment\">\n\n"
             f"<img src=\"//127.0.0.1:{port}/proto.png\" alt=\"proto\">\n\n"
             f"![svg](remote.svg) and a [link]({url}/page) that is only a link.\n")
    manifest = small_book(tmp_path / "book", {"remote.md": essay})
    try:
        assert build(manifest, tmp_path / "out", "all") == 0
    finally:
        stop.set()
        thread.join()
        server.close()
    assert connections == []


# --- nothing lost ---------------------------------------------------------------------------

def test_a_failed_build_keeps_the_last_good_outputs(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(ROOTS / "edge", book)
    out = tmp_path / "out"
    assert build(book / "book.yml", out, "all") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    (book / "essays" / "repeats.md").write_text("# Repeats\n\n" + "> " * 300 + "deep\n")
    assert build(book / "book.yml", out, "all") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_killed_build_leaves_the_previous_files_whole(tmp_path: Path) -> None:
    essay = "# Long\n\n" + "\n\n".join("Words that take a while to set on the page. " * 40
                                      for _ in range(30))
    manifest = small_book(tmp_path / "book", {"long.md": essay})
    out = tmp_path / "out"
    assert build(manifest, out, "pdf") == 0
    good = (out / "small.pdf").read_bytes()
    (tmp_path / "book" / "essays" / "long.md").write_text(essay + "\n\nOne more line.\n")
    process = subprocess.Popen([sys.executable, "-m", "chapbook", "build", "pdf", "--book",
                                str(manifest), "--out", str(out), "--quiet"])
    # Killed once the layout is under way, with its temporary files on disk (the folder the
    # PDF writers use), not after a guessed time.
    scratch = out / ".cache" / "tmp"
    while process.poll() is None and not list(scratch.glob("chapbook-pieces-*")):
        time.sleep(0.005)
    assert process.poll() is None, "the build finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(scratch.glob("chapbook-pieces-*")), "killed with no temporary file on disk"
    assert (out / "small.pdf").read_bytes() == good
    assert [p.name for p in out.iterdir() if not p.name.startswith(".")] == ["small.pdf"]
    assert build(manifest, out, "pdf") == 0  # and the next build sweeps up what was left
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["small.pdf"]


def test_check_fix_writes_repaired_copies_elsewhere(tmp_path: Path) -> None:
    book = tmp_path / "book"
    shutil.copytree(ROOTS / "scripts", book)
    legacy = (book / "essays" / "legacy.md").read_bytes()
    result = run_cli("check", "--book", str(book / "book.yml"), "--fix", str(tmp_path / "fixed"))
    assert (book / "essays" / "legacy.md").read_bytes() == legacy
    repaired = (tmp_path / "fixed" / "essays" / "legacy.md").read_text("utf-8")
    assert "naïve café" in repaired and "\x00" not in repaired
    assert result.returncode == 0
    refused = run_cli("check", "--book", str(book / "book.yml"), "--fix", str(book))
    assert refused.returncode == 1 and "write over the sources" in refused.stderr


def test_debug_shows_the_traceback_for_a_users_mistake(tmp_path: Path) -> None:
    result = run_cli("build", "--debug", "--book", str(tmp_path / "missing.yml"))
    assert "Traceback" in result.stderr and result.returncode != 0
    quiet = run_cli("build", "--book", str(BUNDLED.parent / "nope.yml"))
    assert "Traceback" not in quiet.stderr
