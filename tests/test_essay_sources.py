"""What an essay file may hold that the bundled book never does: front matter, notes defined
twice or never, control characters, decomposed accents, links with other schemes, and files
that are not Markdown at all. Each is built through the command line on a small book."""

from __future__ import annotations

import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lxml_html

from .conftest import EpubCheck, run_cli

MANIFEST = """slug: small
metadata:
  title: A Small Book
  author: The Test Desk
  language: en-GB
  identifier: urn:uuid:7d4f1c2a-9b3e-4e5f-8a6b-1c2d3e4f5a6b
  date: "2026-11-24"
front_matter: []
parts:
  - title: Only
    chapters:
      - file: essays/{name}
back_matter: []
"""
XHTML = {"x": "http://www.w3.org/1999/xhtml", "epub": "http://www.idpf.org/2007/ops"}


def small_book(folder: Path, essay: bytes | str, name: str = "essay.md") -> Path:
    (folder / "essays").mkdir(parents=True)
    data = essay.encode("utf-8") if isinstance(essay, str) else essay
    (folder / "essays" / name).write_bytes(data)
    (folder / "book.yml").write_text(MANIFEST.format(name=name), "utf-8")
    return folder / "book.yml"


def chapter_xhtml(epub: Path) -> etree._Element:
    archive = zipfile.ZipFile(epub)
    name = next(n for n in archive.namelist() if n.endswith(".xhtml")
                and "chapter" in archive.read(n).decode() and "part-" not in n
                and "nav" not in n)
    return etree.fromstring(archive.read(name))


def test_the_first_of_two_definitions_counts_and_the_second_is_named(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# Notes twice\n\nA claim.[^a]\n\n"
                                    "[^a]: The first definition.\n\n"
                                    "[^a]: The second definition.\n")
    result = run_cli("build", "epub", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0
    assert "essays/essay.md:7: warning: footnote [^a] is defined a second time" in \
        result.stderr
    text = "".join(chapter_xhtml(tmp_path / "out" / "small.epub").itertext())
    assert "The first definition." in text and "The second definition." not in text
    check = run_cli("check", "--book", str(manifest))
    assert "essay.md:7" in check.stdout and "defined a second time" in check.stdout


def test_an_undefined_note_call_is_left_out_with_a_warning(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# Missing\n\nA claim.[^missing] And more.\n")
    result = run_cli("build", "epub", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert "essay.md:3: warning: footnote [^missing] has no definition" in result.stderr
    text = "".join(chapter_xhtml(tmp_path / "out" / "small.epub").itertext())
    assert "A claim. And more." in text and "[^missing]" not in text


def test_front_matter_unknown_keys_are_named_at_their_line(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "---\ntitle: From the Front\nauthor: Someone\n"
                                    "authors: [A. Writer]\n---\n\nThe text.\n")
    result = run_cli("check", "--book", str(manifest))
    assert "essay.md:3" in result.stdout and "'author' is not one chapbook reads" in \
        result.stdout
    assert "no-title" not in result.stdout
    built = run_cli("build", "epub", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert built.returncode == 0
    chapter = chapter_xhtml(tmp_path / "out" / "small.epub")
    assert "".join(chapter.xpath("//x:h1", namespaces=XHTML)[0].itertext()) == "From the Front"
    assert not chapter.xpath("//x:hr", namespaces=XHTML)


def test_broken_front_matter_is_an_error_at_its_line(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "---\ntitle: [unclosed\n---\n\nText.\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "essay.md:" in result.stderr and "front matter is not valid YAML" in result.stderr


def test_a_chapter_that_is_not_markdown_is_refused(tmp_path: Path) -> None:
    docx = tmp_path / "word.docx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    for name, data, kind in (("essay.docx", docx.read_bytes(), "Word"),
                             ("essay.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
                             ("essay.md", bytes(range(256)) * 8, "binary data")):
        folder = tmp_path / name
        manifest = small_book(folder, data, name)
        result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(folder / "out"))
        assert result.returncode == 1, name
        assert "Traceback" not in result.stderr
        assert f"essays/{name}" in result.stderr and kind in result.stderr
        assert "not a Markdown essay" in result.stderr and "pandoc" in result.stderr
        assert not (folder / "out" / "small.pdf").exists()


def test_decomposed_accents_are_not_called_mojibake(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, unicodedata.normalize("NFD", "# Café\n\nA naïve résumé.\n"))
    result = run_cli("check", "--book", str(manifest))
    assert "mojibake" not in result.stdout + result.stderr
    built = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert "A naïve résumé." in (tmp_path / "out" / "small.html").read_text("utf-8")
    assert built.returncode == 0


def test_html_entities_are_not_called_mojibake(tmp_path: Path) -> None:
    """ftfy decoded `&nbsp;` and `&#8239;` itself and called it a repair: a true note would be
    false, and the author distrusts the source. Markdown decodes them, as the author meant."""
    manifest = small_book(tmp_path, "# Entities\n\nIn 1822&nbsp;Augustin gave 10&#8239;km "
                                    "&amp; more.\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0 and "mojibake" not in result.stderr, result.stderr
    text = lxml_html.fromstring((tmp_path / "out" / "small.html").read_bytes()).text_content()
    assert "In 1822\u00a0Augustin gave 10\u202fkm & more." in text


def test_control_characters_and_lost_characters_are_reported(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# Controls\n\nPage one.\n\x0c\nPage two with a lost "
                                    "\ufffd character and a bell\x07.\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert "essay.md:4: warning: control characters removed" in result.stderr
    assert "essay.md:5: warning: a character was lost" in result.stderr
    html = (tmp_path / "out" / "small.html").read_text("utf-8")
    assert "\x0c" not in html and "\x07" not in html and "Page two" in html


def test_a_form_feed_alone_is_a_line_end_and_a_note(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# Feeds\n\nPage one.\n\x0c\nPage two.\n")
    result = run_cli("check", "--book", str(manifest), "--strict")
    assert result.returncode == 0, result.stdout
    assert "essay.md:4" in result.stdout and "form feeds" in result.stdout


def test_a_javascript_link_keeps_its_text_and_loses_the_link(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# Links\n\nSee [the details](javascript:alert(1)) and "
                                    "[this file](file:///etc/passwd) here.\n")
    result = run_cli("build", "epub", "html", "--book", str(manifest),
                     "--out", str(tmp_path / "out"))
    assert result.stderr.count("warning: link to") == 2
    chapter = chapter_xhtml(tmp_path / "out" / "small.epub")
    text = "".join(chapter.itertext())
    assert "See the details and this file here." in " ".join(text.split())
    assert not chapter.xpath("//x:a[@href='' or contains(@href, 'javascript') or "
                             "contains(@href, 'file:')]", namespaces=XHTML)
    html = (tmp_path / "out" / "small.html").read_text("utf-8")
    assert "](javascript" not in html and "javascript:" not in html


def test_a_build_warns_at_a_link_to_a_chapter_or_heading_that_does_not_exist(
        tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# Links\n\n## Kept\n\nSee [kept](essay.md#kept),\n"
                                    "[gone](other.md) and [typo](essay.md#kep).\n")
    result = run_cli("build", "epub", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0
    assert "essay.md:6: warning: the link to 'other.md' goes nowhere" in result.stderr
    assert "essay.md:6: warning: the link to 'essay.md#kep' goes nowhere" in result.stderr
    assert "did you mean '#kept'?" in result.stderr
    assert "essay.md#kept'" not in result.stderr
    chapter = chapter_xhtml(tmp_path / "out" / "small.epub")
    assert chapter.xpath("//x:a[text()='kept']/@href", namespaces=XHTML) == [
        "essay.xhtml#essay-kept"]
    assert not chapter.xpath("//x:a[text()='gone' or text()='typo']", namespaces=XHTML)
    assert "[gone] and [typo]" not in "".join(chapter.itertext())


def test_the_image_tag_is_audited_as_img(tmp_path: Path) -> None:
    svg = ("data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=")
    manifest = small_book(tmp_path, f'# Images\n\nOne <image src="/etc/hosts" alt="hosts"> and '
                                    f'<IMAGE src="../../outside.png">.\n\n'
                                    f'<p><image src="{svg}" alt="drawn"/></p>\n')
    (tmp_path.parent / "outside.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run_cli("build", "epub", "html", "--book", str(manifest),
                     "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("essay.md:3: warning: image") == 3  # two left out, one no alt
    assert result.stderr.count("left out") == 3
    assert "essay.md:5: warning" in result.stderr
    html = (tmp_path / "out" / "small.html").read_text("utf-8")
    archive = zipfile.ZipFile(tmp_path / "out" / "small.epub")
    assert not [n for n in archive.namelist() if "hosts" in n or "outside" in n]
    chapter = etree.tostring(chapter_xhtml(tmp_path / "out" / "small.epub"), encoding="unicode")
    for text in (html, chapter):
        assert "/etc/hosts" not in text and "outside.png" not in text
        assert "PHN2Zy" not in text


def test_links_to_local_files_are_left_out_with_a_warning(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# Local\n\nSee [passwords](/etc/passwd), "
                                    "[up](../../../x.pdf) and\n"
                                    '<a href="../secret.txt">raw</a>, but [the web]'
                                    "(https://example.org) stays.\n")
    result = run_cli("build", "pdf", "epub", "html", "--book", str(manifest),
                     "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("essay.md:3: warning") == 2
    assert "essay.md:4: warning: link to the local file '../secret.txt'" in result.stderr
    chapter = chapter_xhtml(tmp_path / "out" / "small.epub")
    assert chapter.xpath("//x:a/@href", namespaces=XHTML) == ["https://example.org"]
    html = (tmp_path / "out" / "small.html").read_text("utf-8")
    pdf = (tmp_path / "out" / "small.pdf").read_bytes()
    for text in (html, pdf.decode("latin-1")):
        assert "passwd" not in text and "x.pdf" not in text and "secret.txt" not in text
    assert b"file:" not in pdf


def test_no_output_is_written_over_a_file_the_book_reads(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# An essay named like an output\n\nText.\n", "small.html")
    essay = tmp_path / "essays" / "small.html"
    before = essay.read_bytes()
    result = run_cli("build", "all", "--book", str(manifest), "--out", str(tmp_path / "essays"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "would be written over" in result.stderr and "--out build" in result.stderr
    assert essay.read_bytes() == before
    assert not (tmp_path / "essays" / "small.pdf").exists()


SVG_ATTACKS = {
    "entity": '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/hosts">]>'
              '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
    "dtd": '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/'
           'DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>',
    "import": '<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(http://x/a.css);'
              '</style></svg>',
    "style-url": '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(/etc/x)"/></svg>',
    "fill-url": '<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(http://x/p#g)"/></svg>',
    "font-face": '<svg xmlns="http://www.w3.org/2000/svg"><style>@font-face{font-family:a;'
                 'src:url(../../f.ttf)}</style></svg>',
    "set-href": '<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName="href" '
                'to="http://x"/></a></svg>',
    "stylesheet-pi": '<?xml-stylesheet href="http://x/s.css"?><svg '
                     'xmlns="http://www.w3.org/2000/svg"/>',
    "image": '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
             '<image xlink:href="data:image/png;base64,iVBORw0KGgo="/></svg>',
}


def test_svg_files_may_draw_and_nothing_else(tmp_path: Path) -> None:
    lines = ["# Drawings", ""]
    for name in SVG_ATTACKS:
        lines += [f"![{name}](figures/{name}.svg)", ""]
    lines += ["![fine](figures/fine.svg)", ""]
    manifest = small_book(tmp_path, "\n".join(lines))
    figures = tmp_path / "essays" / "figures"
    figures.mkdir()
    for name, svg in SVG_ATTACKS.items():
        (figures / f"{name}.svg").write_text(svg, "utf-8")
    (figures / "fine.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><defs><linearGradient '
        'id="g"><stop offset="0"/></linearGradient></defs><rect width="10" height="10" '
        'fill="url(#g)"/><title>A square</title></svg>', "utf-8")
    result = run_cli("build", "epub", "html", "--book", str(manifest),
                     "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for number, name in enumerate(SVG_ATTACKS):
        assert f"essay.md:{3 + 2 * number}: warning: image 'figures/{name}.svg' left out" in \
            result.stderr, name
    archive = zipfile.ZipFile(tmp_path / "out" / "small.epub")
    assert [n for n in archive.namelist() if n.endswith(".svg")] == ["EPUB/images/essays/"
                                                                     "figures/fine.svg"]
    html = (tmp_path / "out" / "small.html").read_text("utf-8")
    assert html.count("<img") == 1


def test_names_that_look_like_chapbooks_own_ids_do_not_collide(
        tmp_path: Path, epubcheck: EpubCheck) -> None:
    essay = ("# Index\n\n## Title\n\nC and C++ and C# are languages.[^1] {^!!!} {^???}\n\n"
             "## B1\n\nText.\n\n## FN1\n\nMore text.\n\n## Notes\n\nThe essay's own notes.\n\n"
             "[^1]: A note.\n")
    manifest = small_book(tmp_path, essay, "index.md")
    text = manifest.read_text("utf-8").replace(
        "back_matter: []", "back_matter: [glossary, index]\nglossary: glossary.yml\n"
        "index: index.yml")
    manifest.write_text(text, "utf-8")
    (tmp_path / "glossary.yml").write_text(
        "terms:\n" + "".join(f"  - term: '{term}'\n    forms: ['{term}']\n"
                             f"    definition: The term {term}.\n"
                             for term in ("C", "C++", "C#", "Title")), "utf-8")
    (tmp_path / "index.yml").write_text("headings:\n  - heading: languages\n", "utf-8")
    result = run_cli("build", "epub", "html", "--book", str(manifest),
                     "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    epub = tmp_path / "out" / "small.epub"
    messages = epubcheck(epub)
    assert [(m["ID"], m["message"]) for m in messages
            if m["severity"] in ("FATAL", "ERROR", "WARNING")] == []
    archive = zipfile.ZipFile(epub)
    names = archive.namelist()
    assert len(names) == len(set(names)) and "EPUB/chapter-index.xhtml" in names
    for name in names:
        if name.endswith(".xhtml"):
            found = etree.fromstring(archive.read(name)).xpath("//@id")
            assert len(found) == len(set(found)), name
    html = etree.HTML((tmp_path / "out" / "small.html").read_bytes())
    found = html.xpath("//@id")
    assert len(found) == len(set(found))


@pytest.mark.parametrize(("line", "value", "message"), [
    ("date", '"20261124"', "is not a date"),
    ("date", '"2026-W48-2"', "is not a date"),
    ("title", '"A\\fB"', "U+000C"),
    ("title", '"A\\uFFFEB"', "U+FFFE"),
    ("author", '"Desk\\x07"', "U+0007"),
])
def test_metadata_an_epub_cannot_hold_is_an_error_at_its_line(
        tmp_path: Path, line: str, value: str, message: str) -> None:
    manifest = small_book(tmp_path, "# Text\n\nText.\n")
    text = manifest.read_text("utf-8")
    lines = text.splitlines()
    number = next(i for i, item in enumerate(lines) if item.strip().startswith(f"{line}:"))
    lines[number] = f"  {line}: {value}"
    manifest.write_text("\n".join(lines) + "\n", "utf-8")
    result = run_cli("build", "epub", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"book.yml:{number + 1}:" in result.stderr and message in result.stderr
    assert not (tmp_path / "out" / "small.epub").exists()


def test_raw_html_attributes_keep_only_values_they_can_take(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, '# Values\n\n<p dir="sideways">A paragraph.</p>\n\n'
                                    '<table><tr><td colspan="1000000" rowspan="-1">cell</td>'
                                    '<td colspan="2">two</td></tr></table>\n')
    result = run_cli("build", "epub", "html", "pdf", "--book", str(manifest),
                     "--out", str(tmp_path / "out"), "--timeout", "120")
    assert result.returncode == 0, result.stderr
    assert 'dir="sideways" on <p> removed' in result.stderr
    assert 'colspan="1000000" on <td> removed' in result.stderr
    chapter = etree.tostring(chapter_xhtml(tmp_path / "out" / "small.epub"), encoding="unicode")
    assert "sideways" not in chapter and "1000000" not in chapter and "-1" not in chapter
    assert 'colspan="2"' in chapter


def test_build_and_check_name_an_image_without_alt_text_at_its_line(tmp_path: Path) -> None:
    manifest = small_book(tmp_path, "# Pictures\n\nA paragraph\nwith ![](dot.svg) inside.\n")
    (tmp_path / "essays" / "dot.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 2"><circle r="1"/></svg>')
    build = run_cli("build", "pdf", "--book", str(manifest), "--out", str(tmp_path / "out"))
    check = run_cli("check", "--book", str(manifest))
    expected = "essay.md:4: warning: image 'dot.svg' has no alt text"
    assert expected in build.stderr and expected in check.stdout
    assert build.stderr.count("[image-alt]") == 1
    assert "no required alt description" not in build.stderr and "book.yml" not in build.stderr


def test_links_and_references_to_headings_in_other_scripts_resolve(tmp_path: Path) -> None:
    """A heading's id is ASCII, so "Бухара и торговля" had the id `…-section` and "Iğdır" `igdr`:
    a link written as Pandoc and GitHub spell the heading (`#бухара-и-торговля`) went nowhere,
    and the warning showed it percent-encoded."""
    from .test_untrusted import small_book as book_of

    first = ("# Cities\n\n## Бухара и торговля\n\nText.\n\n## Οι αγορές και οι συντεχνίες\n\n"
             "Text.\n\n## Iğdır and İznik\n\nText.\n\n"
             "See [the markets](#οι-αγορές-και-οι-συντεχνίες).\n")
    second = ("# More\n\nSee [Bukhara](01-cities.md#бухара-и-торговля), @sec:οι-αγορές-και-οι-"
              "συντεχνίες, [Iğdır](01-cities.md#iğdır-and-i̇znik) and "
              "[nowhere](01-cities.md#самарканд).\n")
    manifest = book_of(tmp_path / "book", {"01-cities.md": first, "02-more.md": second})
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "'01-cities.md#самарканд' goes nowhere" in warnings[0], warnings
    page = lxml_html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    headings = {h.text_content().strip(): h.get("id") for h in page.xpath("//h3[@id]")}
    hrefs = {a.text_content(): a.get("href") for a in page.xpath("//a[@href]")}
    assert hrefs["Bukhara"] == "#" + headings["Бухара и торговля"]
    assert hrefs["the markets"] == "#" + headings["Οι αγορές και οι συντεχνίες"]
    assert hrefs["Iğdır"] == "#" + headings["Iğdır and İznik"] == "#cities-igdir-and-iznik"
    assert any(href == "#" + headings["Οι αγορές και οι συντεχνίες"] and text != "the markets"
               for text, href in hrefs.items())  # the @sec: reference


def test_the_typographer_makes_dashes_and_ellipses_and_nothing_else(tmp_path: Path) -> None:
    """markdown-it's replacements also turned "(c)" and "(r)" into © and ®, "+-" into ±, two
    dots into an ellipsis and "????" into "???": an enumeration "(a), (b), (c)" lost its
    third item, and "I(r)\\,dr" in a formula read "I®,dr". Pandoc makes dashes and ellipses
    alone."""
    essay = ("# Marks\n\nItems (a), (b), (c) and (r) (tm), a +- b, e.g.. what???? yes,, "
             "1914--1918, word---word and so...\n")
    manifest = small_book(tmp_path, essay)
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    [paragraph] = lxml_html.fromstring((tmp_path / "out" / "small.html").read_bytes()).xpath(
        "//p[starts-with(normalize-space(), 'Items')]")
    assert paragraph.text_content().strip() == (
        "Items (a), (b), (c) and (r) (tm), a +- b, e.g.. what???? yes,, 1914–1918, word—word "
        "and so…")


def test_pandoc_heading_attributes_name_the_heading_and_never_print(tmp_path: Path) -> None:
    """`## A machine for light {#sec:machine}` printed its braces in the heading, the contents,
    the bookmarks and the running heads, and its id took them in ("…-sec-machine"), so neither
    @sec:machine nor a link to #sec:machine resolved."""
    essay = ("# The Lens {#lens-title}\n\n## A machine for light {#sec:machine .lead}\n\nText."
             "\n\n## Epilogue {.unnumbered}\n\nText.\n\n## Odd {#odd width=3}\n\nSee "
             "@sec:machine, [the machine](#sec:machine) and [odd](#odd).\n")
    manifest = small_book(tmp_path, essay)
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "essay.md:11: warning: the heading's attribute 'width=3' " \
        "is not used" in warnings[0], warnings
    page = lxml_html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    assert "{" not in "".join(page.xpath("//body//text()[not(ancestor::script)]"))
    headings = {h.text_content().strip(): h for h in page.xpath("//h3[@id]")}
    assert set(headings) == {"A machine for light", "Epilogue", "Odd"}
    assert headings["A machine for light"].get("id") == "essay-machine"
    assert "lead" in headings["A machine for light"].get("class", "")
    assert headings["Odd"].get("id") == "essay-odd"
    hrefs = {a.text_content(): a.get("href") for a in page.xpath("//a[@href]")}
    assert hrefs["the machine"] == "#essay-machine" and hrefs["odd"] == "#essay-odd"
    assert len(page.xpath("//a[@href='#essay-machine']")) == 2  # the link, and @sec:machine


PANDOC_MARKDOWN = """# Pandoc

The keeper wrote ~~lamp~~ light, H~2~O and the 3^rd^ order, in [small capitals]{.smallcaps}
and [auf Deutsch]{lang=de}.

Lens
:   A glass that bends light.

    Its second paragraph.

::: {.note lang=fr}
Une note, *en français*.

::: warning
A warning inside.
:::
:::

The flash is $I(r) = I_0 e^{-r}$ bright, and costs $5 or $10.

\\newpage

+------+------+
| Grid | Tab  |
+======+======+
"""


def test_pandoc_markdown_a_migrant_brings_is_read_or_warned_of(
        tmp_path: Path, epubcheck: EpubCheck) -> None:
    """Strikethrough, sub- and superscripts, definition lists, bracketed spans and fenced divs
    printed as typed (`~~lamp~~`, `:::`, `[text]{.smallcaps}`), or a definition's second
    paragraph became a code block; math, `\\\\newpage` and grid tables printed with no word."""
    manifest = small_book(tmp_path, PANDOC_MARKDOWN)
    result = run_cli("build", "html", "epub", "--book", str(manifest),
                     "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    warnings = [line.split(": warning: ")[1] for line in result.stderr.splitlines()
                if ": warning: " in line]
    lines = [int(line.split("essay.md:")[1].split(":")[0]) for line in result.stderr.splitlines()
             if ": warning: " in line]
    assert lines == [19, 21, 23], warnings
    assert "math" in warnings[0] and "newpage" in warnings[1] and "grid table" in warnings[2]
    page = lxml_html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    [main] = page.xpath("//main")
    [math] = main.xpath(".//span[@class='math inline']")
    assert math.text == "I(r) = I_0 e^{-r}"  # as typed: chapbook sets no formulas
    math.drop_tree()
    text = main.text_content()
    assert "~" not in text and "^" not in text and ":::" not in text and "{." not in text
    assert main.xpath(".//s")[0].text == "lamp"
    assert main.xpath(".//sub")[0].text == "2" and main.xpath(".//sup")[0].text == "rd"
    assert main.xpath(".//span[@class='smallcaps']")[0].text == "small capitals"
    assert main.xpath(".//span[@lang='de']")[0].text == "auf Deutsch"
    assert [dt.text_content() for dt in main.xpath(".//dl/dt")] == ["Lens"]
    assert len(main.xpath(".//dl/dd/p")) == 2 and not main.xpath(".//dd//pre")
    [note] = main.xpath(".//div[contains(@class, 'note')]")
    assert note.get("lang") == "fr" and note.xpath(".//div[@class='warning']")
    assert "costs $5 or $10" in " ".join(text.split())
    assert epubcheck(tmp_path / "out" / "small.epub") == []


def test_an_image_whose_path_has_a_space_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """`![…](figures/coast map 1850.png)` is no image to CommonMark: its Markdown was printed
    as typed, and the only word was a reference to its figure that went nowhere."""
    manifest = small_book(tmp_path, '# Maps\n\nText.\n\n![A coast](figures/coast map 1850.png '
                                    '"The coast")\n\nSee [the notes](my notes.md) and '
                                    "[a site](https://example.org/a b) and [ok](<a b.md>).\n")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    spaced = [line for line in result.stderr.splitlines() if "path has a space" in line]
    assert [line.split("essay.md:")[1].split(":")[0] for line in spaced] == ["5", "7"], spaced


def test_pandocs_front_matter_keys_say_where_chapbook_takes_them(tmp_path: Path) -> None:
    """`lang: fr` in an essay's front matter (Pandoc's key) was "not one chapbook reads", with no
    word of where a chapter's language is said."""
    manifest = small_book(tmp_path, "---\ntitle: Phares\nlang: fr\nbibliography: refs.bib\n---\n"
                                    "\nLe phare.\n")
    result = run_cli("check", "--book", str(manifest))
    assert "essay.md:3: warning: the front matter key 'lang' is not one chapbook reads" \
        in result.stdout and "`language:` under the chapter in book.yml" in result.stdout
    assert "essay.md:4: warning" in result.stdout and "`bibliography:` in book.yml" \
        in result.stdout


def test_attribute_blocks_and_link_checks_take_linear_time_on_hostile_lines(
        tmp_path: Path) -> None:
    """The attribute pattern could split `{#a#a#a… !}` in exponentially many ways: a heading of
    73 characters held `chapbook check` for 53 s, and one of 80 would pass the 15-minute limit;
    the check for a path with a space was cubic (12.6 s on 4 KB). Each line here, harmless
    text, would run for hours with those patterns; the build is given ten minutes."""
    hostile = "#a" * 40
    essay = (f"# Hostile\n\n## Section {{{hostile} !}}\n\n![A coast](c.png){{{hostile} !}}\n\n"
             f"::: {{{hostile} !}}\nText.\n:::\n\n## Keys {{{'x=y' * 40} !}}\n\n"
             f"See ](a{' ' * 3000}{'.ab “' * 600}.\n")
    manifest = small_book(tmp_path, essay)
    result = subprocess.run([sys.executable, "-m", "chapbook", "check", "--book", str(manifest)],
                            capture_output=True, text=True, timeout=600)
    assert "Traceback" not in result.stdout + result.stderr
    assert "0 errors" in result.stdout, result.stdout


def test_pandoc_classes_may_not_dress_an_essay_as_the_book(tmp_path: Path) -> None:
    """A fenced div, a span or a heading given one of the book's own classes (`endnotes`,
    `part-title`) was set as that part of the book: the print styles hid an "endnotes" div's
    text. Raw HTML's classes were checked; Pandoc's were not. An author's classes stay."""
    essay = ("# Classes\n\n::: endnotes\nThe div's words.\n:::\n\nWords [hidden]{.endnotes} "
             "and [small]{.smallcaps}.\n\n## A fake part {.part-title .lead}\n\nText.\n")
    manifest = small_book(tmp_path, essay)
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("is one of the book's own") == 3, result.stderr
    page = lxml_html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    [main] = page.xpath("//main")
    assert not main.xpath(".//*[contains(@class, 'endnotes') or contains(@class, 'part-title')]"
                          "[ancestor::div[@class='chapter-body']]")
    assert main.xpath(".//span[@class='smallcaps']") and main.xpath(".//h3[@class='lead']")


def test_an_options_double_hyphen_and_indented_colons_stay_as_typed(tmp_path: Path) -> None:
    """` --timeout` in prose became "–timeout" (markdown-it's rule, which this one replaced,
    turned `--` into a dash only between words or standing alone); and an indented `:::`
    (code) inside a fenced div closed it."""
    essay = ("# Dashes\n\nRun it with --timeout, from 1914--1918 -- or not.\n\n::: note\n"
             "Code:\n\n    :::\n\nStill in the note.\n:::\n")
    manifest = small_book(tmp_path, essay)
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    page = lxml_html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    [paragraph] = page.xpath("//p[starts-with(normalize-space(), 'Run it')]")
    assert paragraph.text_content() == "Run it with --timeout, from 1914–1918 – or not."
    [note] = page.xpath("//div[@class='note']")
    assert note.xpath(".//pre") and "Still in the note." in note.text_content()
    assert ":::" not in "".join(page.xpath("//main//p//text()"))
