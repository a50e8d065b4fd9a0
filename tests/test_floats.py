"""Numbered figures and tables, their lists, and cross-references (issue 13), read back from
the briefing book's editions, and from small books for the mistakes."""

from __future__ import annotations

import io
import re
from pathlib import Path

from lxml import etree, html
from pypdf import PdfReader

from .conftest import run_cli
from .test_epub import NS, linked, package
from .test_untrusted import small_book

SLUG = "nile-briefing"


def _text(element: etree._Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _name_of(target: etree._Element) -> str:
    """What a reference to this element should say: a figure's or table's number, a heading's
    text, a chapter's "Chapter n"."""
    labels = target.xpath(".//*[contains(@class, 'float-label')]")
    if labels:
        return _text(labels[0])
    if target.tag.endswith(("article", "section")):
        return _text(target.xpath(".//*[contains(@class, 'chapter-number')]")[0])
    return _text(target)


def test_every_reference_in_the_web_edition_names_what_it_links_to(briefing: Path) -> None:
    page = html.fromstring((briefing / f"{SLUG}.html").read_bytes())
    references = page.xpath("//a[@class='crossref']")
    assert len(references) >= 8
    kinds = set()
    for reference in references:
        [target] = page.xpath("//*[@id=$id]", id=reference.get("href")[1:])
        assert _text(reference) == _name_of(target), reference.get("href")
        kinds.add(target.tag)
    assert {"figure", "table", "h3", "article"} <= kinds  # every kind of target
    assert "@fig:" not in page.text_content() and "@sec:" not in page.text_content()
    # a link with no text to a chapter's file says which chapter
    [empty] = page.xpath("//article//a[@href='#dams' and not(@class)]")
    assert _text(empty) == "Chapter 2"


def test_every_reference_in_the_epub_names_what_it_links_to(briefing: Path) -> None:
    pairs = linked(briefing / f"{SLUG}.epub", "crossref")
    assert len(pairs) >= 8
    for reference, target in pairs:
        label = target.xpath(".//*[contains(@class, 'float-label')]")
        expected = _text(label[0]) if label else _text(target) \
            if not target.tag.endswith("section") else \
            _text(target.xpath(".//*[@class='chapter-number']", namespaces=NS)[0])
        assert _text(reference) == expected, reference.get("href")
    archive, _, _ = package(briefing / f"{SLUG}.epub")
    documents = {Path(name).name: etree.fromstring(archive.read(name))
                 for name in archive.namelist() if name.endswith(".xhtml")}
    dams = documents["dams.xhtml"]
    [figure] = dams.xpath("//x:figure", namespaces=NS)
    assert figure.xpath("x:img[@alt]", namespaces=NS)
    assert _text(figure.xpath("x:figcaption", namespaces=NS)[0]).startswith(
        "Figure 2.1 Inflow and release in a dry year Source:")
    [table] = dams.xpath("//x:table[x:caption]", namespaces=NS)
    assert _text(table.xpath("x:caption", namespaces=NS)[0]) == \
        "Table 2.1 Three drafts of a drought rule, as reported"
    assert table.xpath("x:thead/x:tr/x:th", namespaces=NS)  # the header row a reader repeats
    figures = documents["figures.xhtml"]
    assert figures.xpath("//x:section[@epub:type='loi']", namespaces=NS)
    assert [a.get("href") for a in figures.xpath("//x:a", namespaces=NS)] == \
        ["dams.xhtml#dams--fig-inflow"]


def test_print_references_and_lists_point_at_the_page_the_figure_is_on(briefing: Path) -> None:
    reader = PdfReader(briefing / f"{SLUG}.pdf")
    texts = [" ".join(page.extract_text().split()) for page in reader.pages]
    caption_page = next(number for number, text in enumerate(texts, 1)  # not the list's
                        if "Source: illustrative figures" in text)
    destinations = {name: reader.get_destination_page_number(d) + 1
                    for name, d in reader.named_destinations.items()}
    assert destinations["dams--fig-inflow"] == caption_page
    table_page = next(number for number, text in enumerate(texts, 1)
                      if "Table 2.1 Three drafts of a drought rule" in text and "Upstream" in text)
    assert destinations["dams--tbl-drafts"] == table_page
    # the list of figures and the list of tables give those pages
    figures = next(text for text in texts if text.lstrip().startswith("Figures"))
    assert figures.split("Inflow and release in a dry year")[1].strip(" .").split()[0] \
        == str(caption_page)
    tables = next(text for text in texts if text.lstrip().startswith("Tables"))
    assert tables.split("as reported")[1].strip(" .").split()[0] == str(table_page)
    # the links from the text go to those places
    targets = []
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            destination = annotation.get("/Dest") or (annotation.get("/A") or {}).get("/D")
            if destination is not None and not isinstance(destination, list):
                targets.append(str(destination))
    assert targets.count("dams--fig-inflow") >= 3  # summary, dams, and the list of figures


def test_a_reference_to_nothing_is_a_warning_at_its_line_and_stays_as_typed(
        tmp_path: Path) -> None:
    essay = "# A\n\n## Known\n\nSee @fig:nothing and @sec:nowhere, or mail ann@sec.example.\n"
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "essays/a.md:5: warning: '@fig:nothing' refers to nothing in the book; give the " \
        "figure `{#fig:name}` after its image" in result.stderr
    assert "essays/a.md:5: warning: '@sec:nowhere' refers to nothing" in result.stderr
    body = (tmp_path / "out" / "small.html").read_text("utf-8")
    assert "See @fig:nothing and @sec:nowhere, or mail ann@sec.example." in body
    check = run_cli("check", "--book", str(manifest))
    assert "a.md:5: warning: '@fig:nothing' refers to nothing" in check.stdout


def test_a_reference_to_nothing_suggests_a_name_from_this_book(tmp_path: Path) -> None:
    """Every `@sec:` warning gave "e.g. @sec:drought-rules", a heading of a test book of ours,
    where the link's warning names the heading meant."""
    essay = ("# A\n\n## Known Ground\n\nSee @sec:known-groud, @sec:elsewhere, @ch:bb and "
             "@ch:zzz.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay, "b.md": "# B\n\nText.\n"})
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "'@sec:known-groud' refers to nothing in the book; did you mean @sec:known-ground?" \
        in result.stderr
    assert "'@sec:elsewhere' refers to nothing in the book; use the slug of a `## ` heading, " \
        "e.g. @sec:known-ground" in result.stderr
    assert "'@ch:bb' refers to nothing in the book; did you mean @ch:b?" in result.stderr
    assert "'@ch:zzz' refers to nothing in the book; use an essay's file name" in result.stderr
    assert "drought-rules" not in result.stderr and "the-dams" not in result.stderr


def test_figures_can_be_numbered_through_the_book(tmp_path: Path) -> None:
    image = Path(__file__).parent / "roots" / "briefing" / "essays" / "figures" / "inflow.svg"
    essays = {name: f'# {name[0].upper()}\n\n![Lines](inflow.svg "Caption {name[0]}")\n'
              for name in ("a.md", "b.md")}
    manifest = small_book(tmp_path / "book", essays)
    (manifest.parent / "essays" / "inflow.svg").write_bytes(image.read_bytes())
    for numbering, labels in (("chapter", ["Figure 1.1", "Figure 2.1"]),
                              ("book", ["Figure 1", "Figure 2"])):
        manifest.write_text(manifest.read_text().split("figure_numbering")[0].rstrip("\n")
                            + f"\nfigure_numbering: {numbering}\n")
        out = tmp_path / numbering
        result = run_cli("build", "html", "--book", str(manifest), "--out", str(out))
        assert result.returncode == 0, result.stderr
        page = html.fromstring((out / "small.html").read_bytes())
        assert [_text(label) for label in page.xpath("//figcaption/span[@class='float-label']")] \
            == labels


def test_a_table_that_crosses_pages_repeats_its_header_row_on_each(built) -> None:
    """The ledger table of the field notes: every page from its first row's to its last row's
    carries the header row."""
    out, _ = built("field-notes")
    source = (Path(__file__).parent / "roots" / "field-notes" / "essays" / "03-ledgers.md")
    rows = [line for line in source.read_text("utf-8").splitlines() if line.startswith("| ")]
    first, last = (" ".join(cell.strip() for cell in row.strip("|").split("|"))
                   for row in (rows[1], rows[-1]))
    texts = [" ".join(page.extract_text().split())
             for page in PdfReader(out / "field-notes.pdf").pages]
    start = next(number for number, text in enumerate(texts, 1) if first in text)
    end = next(number for number, text in enumerate(texts, 1) if last in text)
    assert end > start, "the ledger table no longer crosses a page"
    header = " ".join(cell.strip() for cell in rows[0].strip("|").split("|"))
    assert all(header in texts[number - 1] for number in range(start, end + 1))


def test_print_page_references_give_the_page_their_target_is_on(briefing: Path) -> None:
    """`{@fig:inflow p}` in the summary comes before the figure (not known on a first pass);
    the others after or in another chapter."""
    reader = PdfReader(briefing / f"{SLUG}.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    destinations = {name: reader.get_destination_page_number(d) + 1
                    for name, d in reader.named_destinations.items()}
    for written, anchor in (("Figure 2.1 (p. ", "dams--fig-inflow"),
                            ("Appendix A (p. ", "a1-chronology"),
                            ("rules” (p. ", "dams-drought-rules")):
        found = re.search(re.escape(written) + r"(\d+)\)", text)
        assert found, written
        assert int(found[1]) == destinations[anchor], (written, anchor)


def test_without_pages_a_page_reference_says_which_way_to_look(briefing: Path) -> None:
    page = html.fromstring((briefing / f"{SLUG}.html").read_bytes())
    summary, data = page.get_element_by_id("summary"), page.get_element_by_id("data")
    assert "Figure 2.1 (below) shows why" in _text(summary)
    assert "“Drought rules” (above)" in _text(data)


def test_a_caption_keeps_its_number_when_its_essay_comes_from_the_cache(tmp_path: Path) -> None:
    """The second build reads the essays from the build cache: each caption still begins with
    its figure's number (the caption's closing token once shared the opening's data, which the
    cache does not keep shared, and the number was lost: "Inflow and release in a dry year")."""
    image = Path(__file__).parent / "roots" / "briefing" / "essays" / "figures" / "inflow.svg"
    essays = {"a.md": '# A\n\n![Lines](inflow.svg "Caption a"){#fig:a}\n\nSee @fig:a.\n'}
    manifest = small_book(tmp_path / "book", essays)
    (manifest.parent / "essays" / "inflow.svg").write_bytes(image.read_bytes())
    out = tmp_path / "out"
    captions = []
    for _ in range(2):
        result = run_cli("build", "html", "--book", str(manifest), "--out", str(out))
        assert result.returncode == 0, result.stderr
        page = html.fromstring((out / "small.html").read_bytes())
        captions.append([_text(caption) for caption in page.xpath("//figcaption")])
    assert captions[0] == ["Figure 1.1 Caption a"]
    assert captions[1] == captions[0]


def test_page_references_cost_one_layout_more_not_two() -> None:
    """A book that refers to pages is laid out once with the pages unknown, then once with
    them: that layout is the PDF's, and its pages are checked against the ones it was given (a
    third layout only if a reference moved its target). It was three: two to see the pages
    settle, then the PDF's. Not counted: what the first pass lays out from a guess at where the
    body opens while a fork measures the front matter, laid out again if the guess was wrong
    (test_front_length); the front matter is measured once, for both passes."""
    from unittest import mock

    from chapbook.build import load_book
    from chapbook.diagnostics import Diagnostics
    from chapbook.layout.paginate import Elsewhere, _Pagination, segments, typeset
    from chapbook.options import parallel_jobs

    from .conftest import ROOTS

    book = load_book(ROOTS / "briefing" / "book.yml", Diagnostics())
    from_a_guess: list[_Pagination] = []
    real_body = _Pagination.body

    def body(pagination: _Pagination, segment: object) -> None:
        if pagination.measuring is not None:
            from_a_guess.append(pagination)
        real_body(pagination, segment)  # type: ignore[arg-type]
    with mock.patch.object(_Pagination, "body", autospec=True, side_effect=body) as laid, \
            mock.patch("chapbook.layout.paginate.Elsewhere", autospec=True,
                       side_effect=Elsewhere) as measures:
        layout = typeset(book, Diagnostics())  # (short: one process, and the measure's fork)
    assert laid.call_count - len(from_a_guess) == 2 * len(segments(book))
    assert measures.call_count == (1 if parallel_jobs() else 0)  # (no fork on one core)
    assert layout.pdf is not None and layout.pages["dams--fig-inflow"] > 1


def test_a_book_that_refers_to_pages_comes_out_the_same_whatever_was_built_before(
        tmp_path: Path) -> None:
    """Some books can be set two ways that are both right: "p. 9" narrow enough to keep the
    target on page 9, "p. 10" wide enough to push it onto page 10. The PDF is the one a build
    from nothing makes, whatever the build before it found (a build that started from the
    pages the last one found settled on the other way: found by a review helper)."""
    import textwrap

    sentence = ("The basin states have argued about this for a long time, and the argument "
                "has a shape worth describing here. ")

    def write(folder: Path, letters: int) -> Path:
        (folder / "essays").mkdir(parents=True, exist_ok=True)
        body = "\n\n".join([sentence * 6] * 21)
        extra = " ".join(["word"] * 283) + " " + "x" * letters
        (folder / "essays" / "01.md").write_text(
            f"# One\n\n{body}\n\n{extra} as shown on {{@sec:target p}}.\n\n## Target\n\n"
            "A closing paragraph that follows the target heading, long enough to keep with it "
            "over a few lines of text at least.\n", "utf-8")
        (folder / "essays" / "02.md").write_text("# Two\n\nShort.\n", "utf-8")
        (folder / "book.yml").write_text(textwrap.dedent("""\
            slug: hy
            metadata:
              title: Hy
              author: A. N. Author
              language: en-GB
              identifier: urn:uuid:0c6f1d2a-8e4b-4c3d-9f7a-5b1e2d3c4a61
              date: "2026-11-30"
            page_size: A5
            openers: recto
            front_matter: [title]
            chapters:
              - file: essays/01.md
              - file: essays/02.md
            """), "utf-8")
        return folder / "book.yml"

    def built(manifest: Path, out: Path) -> bytes:
        result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(out),
                         env={"SOURCE_DATE_EPOCH": "1764547200"})
        assert result.returncode == 0, result.stderr
        return (out / "hy.pdf").read_bytes()

    built(write(tmp_path / "book", 5), tmp_path / "out")
    after_an_edit = built(write(tmp_path / "book", 6), tmp_path / "out")
    from_nothing = built(write(tmp_path / "fresh", 6), tmp_path / "fresh-out")
    assert after_an_edit == from_nothing


def test_the_first_pass_of_a_book_that_refers_to_pages_is_laid_out_by_the_workers(
        tmp_path: Path) -> None:
    """With nothing remembered, the pages for a book's references to pages come from a layout
    of the body on every core, as the PDF's (it was laid out in one process: 68 s of a
    200-chapter book's 145 s); the pages are those the one-process layout finds, and the PDF
    reads as the one laid out in one process."""
    from unittest import mock

    from chapbook.build import load_book
    from chapbook.diagnostics import Diagnostics
    from chapbook.layout.paginate import (
        PIECE_WORDS,
        READING,
        _anchor_pages_unreferenced,
        _Pagination,
        typeset,
    )

    words = " ".join(["word"] * 400)
    essays = {f"{name}.md": f"# Chapter {name}\n\n{words}\n\nSee {{@ch:{other} p}}.\n\n{words}\n"
              for name, other in zip("abcd", "dcba", strict=True)}
    book = load_book(small_book(tmp_path / "book", essays), Diagnostics())
    alone, alone_front = _anchor_pages_unreferenced(book, READING, 0, PIECE_WORDS, None, None)
    with mock.patch.object(_Pagination, "body", autospec=True,
                           side_effect=_Pagination.body) as body:
        shared, shared_front = _anchor_pages_unreferenced(book, READING, 1, PIECE_WORDS, None,
                                                          None)
    assert body.call_count == 0  # (the workers' calls are in their own processes)
    assert shared == alone and alone["d"] > alone["a"] > 1
    assert shared_front == alone_front > 0
    texts = []
    for jobs in (1, 0):
        pdf = typeset(book, Diagnostics(), jobs=jobs).pdf
        assert pdf is not None
        texts.append([page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages])
    assert texts[0] == texts[1]
    assert re.search(rf"See p\.\s*{alone['d']}\.", " ".join(texts[0]))


def test_the_first_pass_takes_the_pieces_no_edit_touched_from_the_cache(tmp_path: Path) -> None:
    """The first layout of a book that refers to pages sets every reference with stand-ins, so
    each piece's pages depend on its own HTML alone: a piece laid out in an earlier build's
    first pass, at the same first page, is taken from the build cache. After one essay of a
    four-chapter book changes, the first pass lays out its piece alone (every piece before),
    and the pages are those a first pass with nothing cached finds."""
    from unittest import mock

    from chapbook.build import load_book
    from chapbook.diagnostics import Diagnostics
    from chapbook.layout import paginate
    from chapbook.layout.paginate import PIECE_WORDS, READING, _anchor_pages_unreferenced

    words = " ".join(["word"] * 400)
    essays = {f"{name}.md": f"# Chapter {name}\n\n{words}\n\nSee {{@ch:{other} p}}.\n\n{words}\n"
              for name, other in zip("abcd", "dcba", strict=True)}
    manifest = small_book(tmp_path / "book", essays)
    cache = tmp_path / "cache"
    laid: list[str] = []
    original = paginate._Pagination.lay_out_piece

    def lay_out_piece(self, run, first_page):  # (in a forked worker: reported through a file)
        with (tmp_path / "laid").open("a") as note:
            note.write(" ".join(s.chapter.id for s in run if s.chapter) + "\n")
        return original(self, run, first_page)

    def first_pass() -> dict[str, int]:
        (tmp_path / "laid").write_text("")
        book = load_book(manifest, Diagnostics())
        with mock.patch.object(paginate._Pagination, "lay_out_piece", lay_out_piece):
            pages, _ = _anchor_pages_unreferenced(book, READING, 1, 800, None, cache)
        laid[:] = (tmp_path / "laid").read_text().split("\n")[:-1]
        return pages

    first_pass()
    assert sorted(laid) == ["a", "b", "c", "d"]
    essay = manifest.parent / "essays" / "c.md"
    essay.write_text(essay.read_text("utf-8") + "\nOne sentence more.\n", "utf-8")
    warm = first_pass()
    assert laid == ["c"]
    assert warm == _anchor_pages_unreferenced(load_book(manifest, Diagnostics()), READING, 1,
                                              800, None, None)[0]
    assert PIECE_WORDS > 800  # (the pieces here are chapters: 800 words each)


def test_the_anchors_referred_to_by_page_are_known_without_reading_an_essays_tokens(
        tmp_path: Path) -> None:
    """Whether the book refers to pages, and to which anchors, is decided in the collect phase
    from the essays' summaries: the PDF's build reads no essay's tokens for it, so an essay
    taken from the cache stays unread until it is laid out (it read all 200 essays of the
    benchmark's book before the layout workers started)."""
    import shutil

    from chapbook.build import read
    from chapbook.collect import collect
    from chapbook.diagnostics import Diagnostics
    from chapbook.layout.paginate import page_references
    from chapbook.markdown.tokens import inline_children
    from chapbook.options import BuildOptions

    from .conftest import ROOTS

    shutil.copytree(ROOTS / "briefing", tmp_path / "briefing")
    options = BuildOptions(tmp_path / "briefing" / "book.yml", tmp_path / "out", ("pdf",))
    read(options, Diagnostics())  # every essay parsed and kept in the cache
    book, found = read(options, Diagnostics())
    collect(book, found, Diagnostics())
    wanted = page_references(book)
    assert all(chapter._essay is None for chapter in book.chapters)  # no tokens read
    assert wanted == {token.meta["target"][1] for chapter in book.chapters
                      for tokens in (chapter.essay.tokens,
                                     *(note.tokens for note in chapter.footnotes))
                      for token, _ in inline_children(tokens, "crossref")
                      if token.meta.get("page") and "target" in token.meta}
    assert {"dams--fig-inflow", "a1-chronology"} <= wanted


def test_a_short_table_is_set_whole_on_one_page_with_its_caption(tmp_path: Path) -> None:
    """A caption set above its table goes to the next page with it, and so does a short table
    (a typesetter moves five rows whole rather than split them two and three): chapters that
    put a captioned table one line lower each, so that in some of them the page turns between
    the caption and the first row, or inside the table (a newcomer's book had "Table 10.1"
    alone at a page's foot, and a table of seven rows split three and four)."""
    row = "| {chapter}-{row} | {row}00 | a longer cell of text |"
    essays = {}
    for chapter in range(1, 25):
        filler = "\n\n".join(f"Line {n} of the filler that comes before the table." for n
                             in range(8 + chapter))
        rows = "\n".join(row.format(chapter=chapter, row=n) for n in range(1, 6))
        essays[f"{chapter:02}.md"] = (f"# Chapter {chapter}\n\n{filler}\n\n"
                                      f"| Key | Value | Note |\n|:--|--:|:--|\n{rows}\n\n"
                                      f"Table: The figures of chapter {chapter}\n\nAfter.\n")
    manifest = small_book(tmp_path / "book", essays)
    result = run_cli("build", "pdf", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    pages = [page.extract_text() for page in PdfReader(tmp_path / "out" / "small.pdf").pages]
    for chapter in range(1, 25):
        [captioned] = [n for n, text in enumerate(pages)
                       if re.search(rf"Table {chapter}\.1\s+The figures of chapter "
                                    rf"{chapter}(?:\n|$)", text)]
        for number in range(1, 6):
            assert f"{chapter}-{number} " in pages[captioned], \
                (chapter, number, pages[captioned][-200:])


def test_a_mistyped_page_reference_is_a_warning_and_not_printed_in_braces(
        tmp_path: Path) -> None:
    """`{@fig:lens q}` for `{@fig:lens p}` printed "{Figure 1.1 q}" with no word from check or
    build (a newcomer's book). It is a warning at its line naming both right forms, and the
    text gives the figure's number."""
    from PIL import Image

    essay = ("# A\n\n![The lens](lens.png){#fig:lens}\n\nThe rings in {@fig:lens q} bend the "
             "light, and so does {@fig:lens}.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    Image.new("RGB", (40, 40), "white").save(manifest.parent / "essays" / "lens.png")
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "essays/a.md:5: warning: '{@fig:lens q}' is not a page reference; write " \
        "`{@fig:lens p}` for the page its target is on, or `@fig:lens` for its number" \
        in result.stderr, result.stderr
    assert "essays/a.md:5: warning: '{@fig:lens}' is not a page reference" in result.stderr
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    text = _text(page.xpath("//div[@class='chapter-body']/p[contains(., 'rings')]")[0])
    assert text == "The rings in Figure 1.1 bend the light, and so does Figure 1.1.", text


def test_an_images_attributes_size_it_and_never_print(tmp_path: Path) -> None:
    """`{#fig:panorama width=100%}` after an image printed as text, and the figure was lost:
    no number, no caption, @fig:panorama unresolved. Pandoc's `width` sizes the image (a share
    of the measure, in steps of 5%, in a table's cell too), Quarto's `{#fig-coast}` and
    `@fig-coast` are a figure and a reference, and an attribute chapbook has no use for is a
    warning at its line."""
    image = Path(__file__).parent / "roots" / "briefing" / "essays" / "figures" / "inflow.svg"
    essay = ('# A\n\n![Wide](inflow.svg "The panorama"){#fig:panorama width=60%}\n\n'
             '![Coast](inflow.svg "The coast"){#fig-coast height=3cm}\n\n'
             "Inline ![small](inflow.svg){width=33%} here, ![wide](inflow.svg){.wide}.\n\n"
             "| Cell | Text |\n|---|---|\n| ![tiny](inflow.svg){width=10%} | words |\n\n"
             "See @fig:panorama and @fig-coast.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    (manifest.parent / "essays" / "inflow.svg").write_bytes(image.read_bytes())
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2 and "a.md:5: warning: the image's attribute 'height=3cm' is not " \
        "used" in warnings[0] and "a.md:7: warning: the image's attribute '.wide'" \
        in warnings[1], warnings
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    assert "{" not in "".join(page.xpath("//main//text()"))
    assert [_text(label) for label in page.xpath("//figcaption/span[@class='float-label']")] \
        == ["Figure 1.1", "Figure 1.2"]
    widths = [img.get("class") for img in page.xpath("//main//img")]
    assert widths == ["image-width-60", None, "image-width-35", None, "image-width-10"]
    see = _text(page.xpath("//p[starts-with(normalize-space(), 'See')]")[0])
    assert see == "See Figure 1.1 and Figure 1.2."


def test_a_table_caption_may_open_with_a_colon_as_pandoc_allows(tmp_path: Path) -> None:
    """Pandoc's `: Caption {#tbl-orders}` after a table printed as a paragraph of its own."""
    essay = ("# A\n\n| Ship | Year |\n|---|---|\n| Argo | 1820 |\n\n: Orders of the lights "
             "{#tbl-orders}\n\nSee @tbl-orders.\n")
    manifest = small_book(tmp_path / "book", {"a.md": essay})
    result = run_cli("build", "html", "--book", str(manifest), "--out", str(tmp_path / "out"))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    page = html.fromstring((tmp_path / "out" / "small.html").read_bytes())
    assert [_text(caption) for caption in page.xpath("//table/caption")] == \
        ["Table 1.1 Orders of the lights"]
    assert _text(page.xpath("//p[starts-with(normalize-space(), 'See')]")[0]) == "See Table 1.1."
