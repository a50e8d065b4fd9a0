"""A book's shape (issue 13): a book without parts, unnumbered chapters, lettered appendices,
chapters opening on the next page (`openers: any`) and sections in the contents
(`toc_depth: 2`), read back from the briefing book's PDF, EPUB and HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree, html
from pypdf import PdfReader

from .conftest import EpubCheck
from .test_epub import NS, package

SLUG = "nile-briefing"


@pytest.fixture(scope="module")
def pages(briefing: Path) -> list[str]:
    """The PDF's pages' text, the first page as item 0."""
    return [page.extract_text() for page in PdfReader(briefing / f"{SLUG}.pdf").pages]


def _opening(pages: list[str], title: str) -> int:
    """The number of the page a chapter opens on: the first page whose text begins with its
    title, or its label and title (running heads are on other pages than openers)."""
    for number, text in enumerate(pages, 1):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if title in lines[:3]:
            return number
    raise AssertionError(f"no page opens with {title!r}")


def _contents(pages: list[str]) -> dict[str, int]:
    """The contents page's entries: title → page number, read across its dot leaders."""
    contents = next(text for text in pages if text.lstrip().startswith("Contents"))
    entries = {}
    for line in contents.splitlines()[1:]:
        found = re.match(r"^(?:[0-9A-Z]\s+)?(.+?)[\s.]*?\s(\d+)$", line.strip())
        if found:
            entries[found[1].rstrip(" .")] = int(found[2])
    return entries


def test_a_book_without_parts_has_no_part_openers(briefing: Path, pages: list[str]) -> None:
    assert not any(re.search(r"^\s*PART\b", text, re.M) for text in pages)
    outline = PdfReader(briefing / f"{SLUG}.pdf").outline
    assert not any(isinstance(item, list) for item in outline), "bookmarks nested in others"
    titles = [item.title for item in outline]
    assert titles[:5] == ["Contents", "Figures", "Tables", "Foreword", "Summary"]
    assert "Chronology of the Agreements" in titles and titles[-1] == "Index"
    archive, _, _ = package(briefing / f"{SLUG}.epub")
    assert not any(name.startswith("EPUB/part-") for name in archive.namelist())


def test_unnumbered_chapters_and_lettered_appendices_are_labelled_in_every_edition(
        briefing: Path, pages: list[str]) -> None:
    labels = {title: pages[_opening(pages, title) - 1].splitlines()[0].strip()
              for title in ("Foreword", "What the Treaties Say", "Chronology of the Agreements",
                            "A Note on Methods")}
    assert labels["Foreword"] == "Foreword"  # no "Chapter" line above it
    assert labels["What the Treaties Say"] == "CHAPTER 1"  # the first numbered one
    assert labels["Chronology of the Agreements"] == "APPENDIX A"
    assert labels["A Note on Methods"] == "APPENDIX B"
    archive, _, _ = package(briefing / f"{SLUG}.epub")
    nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
    chapters = [" ".join("".join(a.itertext()).split()) for a in
                nav.xpath("//x:nav[@epub:type='toc']/x:ol/x:li/x:a", namespaces=NS)]
    assert chapters[:2] == ["Foreword", "Summary"]
    assert chapters[2] == "1. What the Treaties Say"
    assert "A. Chronology of the Agreements" in chapters
    appendix = etree.fromstring(archive.read("EPUB/a1-chronology.xhtml"))
    assert appendix.xpath("//x:section[@epub:type='appendix' and @role='doc-appendix']",
                          namespaces=NS)
    page = html.fromstring((briefing / f"{SLUG}.html").read_bytes())
    numbers = [" ".join(p.text_content().split()) for p in
               page.xpath("//article[contains(@class, 'chapter')]//p[@class='chapter-number']")]
    assert numbers == ["Chapter 1", "Chapter 2", "Chapter 3", "Appendix A", "Appendix B"]


def test_openers_any_leaves_no_blank_page_in_the_body(pages: list[str]) -> None:
    body = pages[_opening(pages, "Foreword") - 1:]
    blank = [number for number, text in enumerate(body, _opening(pages, "Foreword"))
             if not text.strip()]
    assert blank == []
    versos = [title for title in ("Summary", "What the Treaties Say", "Dams in a Dry Year",
                                  "Sharing the Flow Record", "Chronology of the Agreements",
                                  "A Note on Methods") if _opening(pages, title) % 2 == 0]
    assert versos, "no chapter opened on a left-hand page"


def test_the_contents_list_sections_with_the_pages_they_are_on(pages: list[str]) -> None:
    contents = _contents(pages)
    sections = ["The colonial agreements", "What follows for a negotiator", "Drought rules",
                "Why this comes before allocation", "What we could not measure"]
    for section in sections:
        assert section in contents, (section, contents)
        page = pages[contents[section] - 1]
        assert section in [line.strip() for line in page.splitlines()], \
            f"{section!r} is listed on page {contents[section]} but is not there"
    assert contents["Foreword"] == _opening(pages, "Foreword")
    assert contents["A Note on Methods"] == _opening(pages, "A Note on Methods")


def test_the_epub_navigation_nests_sections_under_their_chapters(briefing: Path) -> None:
    archive, _, _ = package(briefing / f"{SLUG}.epub")
    nav = etree.fromstring(archive.read("EPUB/nav.xhtml"))
    [chapter] = nav.xpath("//x:li[x:a[contains(., 'Dams in a Dry Year')]]", namespaces=NS)
    links = chapter.xpath("x:ol/x:li/x:a/@href", namespaces=NS)
    titles = [a.text for a in chapter.xpath("x:ol/x:li/x:a", namespaces=NS)]
    assert titles == ["How a reservoir fills", "Drought rules", "Hydropower and the grid"]
    for href in links:
        document, anchor = href.split("#")
        assert etree.fromstring(archive.read(f"EPUB/{document}")).xpath(
            "//*[@id=$id]", id=anchor), href


def test_index_locators_name_unnumbered_chapters_and_appendices(briefing: Path) -> None:
    archive, _, _ = package(briefing / f"{SLUG}.epub")
    index = etree.fromstring(archive.read("EPUB/index.xhtml"))
    labels = {" ".join(a.itertext()).strip() for a in index.xpath("//x:a", namespaces=NS)}
    assert "Summary" in labels  # "filling schedules" in the unnumbered summary
    assert "B" in labels  # "flow record" in appendix B, before its first section
    assert "3.1" in labels  # and in chapter 3, section 1


def test_the_briefing_passes_epubcheck(briefing: Path, epubcheck: EpubCheck) -> None:
    assert epubcheck(briefing / f"{SLUG}.epub") == []


def test_contributors_are_listed_once_with_their_chapters_and_pages(
        briefing: Path, pages: list[str]) -> None:
    page = next(text for text in pages if text.lstrip().startswith("Contributors")
                and ". . ." not in text)  # not the contents' second page
    flat = " ".join(page.split())
    assert "ORCID 0000-0002-1825-0097" in flat
    web = html.fromstring((briefing / f"{SLUG}.html").read_bytes())
    assert [name.text for name in web.xpath("//dt[@class='contributor-name']")] == \
        ["Amina Haddad", "Tomas Berhane", "Lena Okafor"]
    assert "The Basin Policy Unit, Khartoum" in flat  # her fuller entry, not the bare name
    for title in ("Foreword", "What the Treaties Say", "Sharing the Flow Record"):
        assert f"{title} (p. {_opening(pages, title)})" in flat, title
    assert "Lena Okafor Data Commons for Rivers Sharing the Flow Record" in flat
    archive, opf, _ = package(briefing / f"{SLUG}.epub")
    assert opf.xpath("//dc:contributor/text()", namespaces=NS) == \
        ["Amina Haddad", "Tomas Berhane", "Lena Okafor"]
    contributors = etree.fromstring(archive.read("EPUB/contributors.xhtml"))
    assert contributors.xpath("//x:section[@epub:type='contributors']", namespaces=NS)
    author = PdfReader(briefing / f"{SLUG}.pdf").metadata.author
    assert all(name in author for name in ("The Basin Policy Unit", "Amina Haddad",
                                           "Tomas Berhane", "Lena Okafor"))


def test_bylines_subtitles_from_the_manifest_and_author_running_heads(
        briefing: Path, pages: list[str]) -> None:
    opening = _opening(pages, "Sharing the Flow Record")
    text = pages[opening - 1]
    assert "A first step the ministers can take" in text  # `subtitle:` in book.yml
    assert "Amina Haddad and Lena Okafor" in text  # `authors:` in book.yml over the essay's
    contents = next(p for p in pages if p.lstrip().startswith("Contents"))
    assert "Amina Haddad and Tomas Berhane" in contents
    # `running_head: author`: a right-hand page inside "Dams in a Dry Year" shows its author
    dams = _opening(pages, "Dams in a Dry Year")
    inside = next(n for n in range(dams + 1, dams + 4) if n % 2 == 1)
    assert "Tomas Berhane" in [line.strip() for line in pages[inside - 1].splitlines()]


def test_a_chapters_entry_in_the_contents_is_never_parted_from_its_first_section(
        tmp_path: Path) -> None:
    """`toc_depth: 2`: a chapter's line in the contents goes over the page with its first
    section, never left as a page's last line (a newcomer's book had "21 The Keeper's Log …
    229" at the foot of p. 11, its sections on p. 12). Chapters of no, one and two sections,
    so that the contents' pages turn at every kind of place."""
    from .conftest import run_cli
    from .test_untrusted import small_book

    essays = {f"{n:02}.md": f"# Chapter {n}\n\nText.\n\n" + "".join(
        f"## Section {n}{letter}\n\nMore text.\n\n" for letter in "ab"[:n % 3])
        for n in range(1, 61)}
    manifest = small_book(tmp_path / "book", essays)
    manifest.write_text(manifest.read_text() + "toc_depth: 2\n")
    result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    pages = [page.extract_text() for page in PdfReader(tmp_path / "out" / "small.pdf").pages]
    contents = [text for text in pages if ". . . ." in text]  # (leaders: the contents alone)
    assert len(contents) >= 3, pages[:8]
    for text in contents:
        lines = [line for line in text.splitlines() if ". . . ." in line]
        last = re.match(r"(\d+)\s+Chapter \1\b", lines[-1].strip())
        assert not (last and int(last[1]) % 3), lines[-3:]  # a chapter with sections, alone
