"""The reviewers' edition: the whole book as one Word document, to comment on and edit in Word.

pandoc writes it from the web edition's HTML (its HTML reader turns the book's note calls and
notes into real Word footnotes, its Word writer gives real Heading styles, tables, figures with
captions and a contents field). The HTML is first made plain for Word here: no screen-reader
duplicates, no note copies for the web's pop-ups, headings from Heading 1 down. The page size
and faces come from a reference document made for the book (python-docx), the metadata from
the manifest, and two custom properties let `chapbook import` find the chapters again."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from lxml import html as lxml_html

from chapbook.diagnostics import Diagnostics
from chapbook.languages import direction
from chapbook.model.book import Book
from chapbook.model.pages import Layouts
from chapbook.options import BuildOptions
from chapbook.outputs import write_atomic
from chapbook.pandoc import (
    CHAPTER_LEVEL_PROPERTY,
    CHAPTERS_PROPERTY,
    GENERATED_STYLE_PREFIX,
    pandoc,
)
from chapbook.read.manifest import page_size_mm
from chapbook.reproducible import build_time
from chapbook.templating import plain, render_book_html

TEXT_FACE, DISPLAY_FACE = "Charis SIL", "Inter"


def _styled(element: lxml_html.HtmlElement, style: str) -> None:
    """Wrap the element in a div whose paragraphs pandoc gives the Word style `style`."""
    wrapper = lxml_html.Element("div", {"data-custom-style": GENERATED_STYLE_PREFIX + style})
    element.addprevious(wrapper)
    wrapper.append(element)


def for_word(document: str, has_parts: bool) -> str:
    """The web edition's body and back matter as pandoc should read them for Word."""
    root = lxml_html.document_fromstring(document)
    for junk in root.xpath('//*[contains(concat(" ", @class, " "), " footnote ")]'
                           ' | //a[@role="doc-backlink"] | //p[@class="chapter-number"]'
                           ' | //style | //script | //a[@class="skip-link"]'):
        junk.drop_tree()  # (a note's copy for the web's pop-up: the endnote is the note)
    for hidden in root.xpath('//*[contains(concat(" ", @class, " "), " visually-hidden ")]'):
        if hidden.xpath('ancestor::*[contains(@class, "part-title")]'):
            hidden.drop_tag()  # "Part I: Title", as the PDF bookmark reads
        else:
            hidden.drop_tree()
    for title in root.xpath('//h3[@class="endnotes-title" or @class="references-title"]'):
        paragraph = lxml_html.Element("p")
        paragraph.text = title.text_content()
        title.addprevious(paragraph)
        title.drop_tree()
        _styled(paragraph, "Notes Heading")
    for item in root.xpath('//*[contains(@class, "key-points")]//li'):
        item.tag = "p"  # paragraphs of the generated style, not a list of Word's
        item.text = "• " + (item.text or "")
    for listing in root.xpath('//*[contains(@class, "key-points")]//ul'):
        listing.drop_tag()
    for kind, style in (("chapter-subtitle", "Subtitle"), ("chapter-authors", "Authors"),
                        ("chapter-abstract", "Abstract"), ("key-points", "Key Points"),
                        ("part-intro", "Part Introduction"), ("references", "References")):
        for element in root.xpath(f'//*[contains(concat(" ", @class, " "), " {kind} ")]'):
            _styled(element, style)
    for article in root.xpath("//article[@lang or @dir]"):
        # pandoc's HTML reader drops an article's attributes, a div's it keeps: a chapter in
        # another language is then in that language in Word, and right to left if it is so
        article.tag = "div"
        for name in [name for name in article.attrib if name not in ("lang", "dir")]:
            del article.attrib[name]
    if not has_parts:  # chapters are h2 under parts' h1: without parts, they are Heading 1
        for level in range(2, 7):
            for heading in root.xpath(f"//main//h{level}"):
                heading.tag = f"h{level - 1}"
    return lxml_html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")


def reference_docx(book: Book) -> bytes:
    """pandoc's own reference document, given the book's page size, margins and faces."""
    import docx
    from docx.shared import Mm, Pt

    default = pandoc(["--print-default-data-file", "reference.docx"], book.manifest.path)
    document = docx.Document(io.BytesIO(default))
    width, height = page_size_mm(book.manifest.page_size)
    for section in document.sections:
        section.page_width, section.page_height = Mm(width), Mm(height)
        margin = Mm(round(min(width, height) * 0.12))
        section.left_margin = section.right_margin = margin
        section.top_margin = section.bottom_margin = Mm(round(height * 0.09))
    for style in document.styles:
        name = getattr(style, "name", "") or ""
        font = getattr(style, "font", None)
        if font is None:
            continue
        if name in ("Normal", "Body Text", "First Paragraph", "Compact", "Footnote Text",
                    "Block Text", "Definition", "Definition Term"):
            font.name = TEXT_FACE
        elif name.startswith(("Heading", "Title", "Subtitle", "TOC Heading")):
            font.name = DISPLAY_FACE
    document.styles["Normal"].font.size = Pt(10.5)
    saved = io.BytesIO()
    document.save(saved)
    return saved.getvalue()


def build_docx(book: Book, options: BuildOptions, diagnostics: Diagnostics,
               layouts: Layouts) -> Path:
    meta = book.meta
    has_parts = any(part.has_opener for part in book.parts)
    source = for_word(render_book_html(book, body_flavour="web", sections=("body", "back")),
                      has_parts)
    properties = {
        "title": plain(meta.title), "subtitle": plain(meta.subtitle), "author": meta.author,
        "date": meta.date, "lang": meta.language, "description": meta.description,
        "dir": direction(meta.language),  # Word's right-to-left paragraphs for Arabic, Hebrew
        "subject": ", ".join(meta.subjects), "keywords": ", ".join(meta.keywords),
        CHAPTER_LEVEL_PROPERTY: "2" if has_parts else "1",
        CHAPTERS_PROPERTY: str(len(book.chapters)),
    }
    metadata = [argument for key, value in properties.items() if value
                for argument in ("--metadata", f"{key}={value}")]
    epoch = int(build_time(book.manifest.root, meta.date).timestamp())
    with tempfile.TemporaryDirectory(prefix="chapbook-docx-") as folder:
        reference = Path(folder) / "reference.docx"
        reference.write_bytes(reference_docx(book))
        written = pandoc(["--from", "html", "--to", "docx", "--toc",
                          "--toc-depth", str(1 + has_parts), "--reference-doc", str(reference),
                          *metadata, "--output", "-"],
                         book.manifest.path, stdin=source.encode("utf-8"), epoch=epoch)
    return write_atomic(options.out / f"{book.slug}.docx", written)
