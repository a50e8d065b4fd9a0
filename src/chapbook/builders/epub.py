"""The EPUB 3 edition: one XHTML document per chapter, rendered from templates/epub/, packaged
with EbookLib. Every document is written by our templates as is (plain EpubItems), so EbookLib
only zips and writes the package document and the NCX."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from ebooklib import epub

from chapbook.builders.cover import cover_png
from chapbook.cache import DocumentCache, cached_page_map
from chapbook.diagnostics import Diagnostics
from chapbook.fonts import font_face_css, needed_faces, subset_fonts
from chapbook.languages import direction
from chapbook.model.book import Book, Chapter
from chapbook.model.pages import Layouts
from chapbook.options import BuildOptions
from chapbook.outputs import write_atomic
from chapbook.reproducible import build_time, normalise_epub
from chapbook.resources import styles_dir
from chapbook.templating import book_context, environment, plain, roman

XHTML = "application/xhtml+xml"


def _document(uid: str, name: str, template: str, context: dict[str, Any],
              properties: list[str] | None = None) -> epub.EpubItem:
    marks = context.get("doc_starts", {}).get(uid, [])
    content = environment().get_template(f"epub/{template}").render({**context,
                                                                      "doc_marks": marks})
    item = epub.EpubItem(uid=uid, file_name=name, media_type=XHTML,
                         content=content.encode("utf-8"))
    item.properties = properties or []
    return item


def _kept_document(kept: DocumentCache | None, uid: str, template: str,
                   given: dict[str, Any], shown: tuple[Any, ...],
                   properties: list[str] | None = None) -> epub.EpubItem:
    """A document kept rendered (build/.cache/documents) under a key of all its template is
    given: `shown` holds every value of `given` and what stands behind it. Only `given` is
    passed, so the template cannot read past the key (StrictUndefined)."""
    key = hashlib.sha256(repr((template, shown)).encode()).hexdigest()
    content = kept.load(key) if kept is not None else None
    if content is None:
        content = environment().get_template(f"epub/{template}").render(given).encode("utf-8")
        if kept is not None:
            kept.store(key, content)
    item = epub.EpubItem(uid=uid, file_name=f"{uid}.xhtml", media_type=XHTML, content=content)
    item.properties = properties or []
    return item


def _page(book: Book, context: dict[str, Any], uid: str) -> dict[str, Any]:
    """What every document's page is given: the book's metadata, direction and words, and the
    print edition's page breaks at its start."""
    return {"meta": book.meta, "direction": context["direction"], "word": book.words,
            "doc_marks": context["doc_starts"].get(uid, [])}


def _chapter_document(chapter: Chapter, book: Book, context: dict[str, Any],
                      kept: DocumentCache) -> epub.EpubItem:
    """A chapter's document, kept under the essay's parse (its key in the cache, and the images
    it found), what the collect phase decided about it, the chapter's own fields, its page
    breaks and its reference list."""
    given = {**_page(book, context, chapter.id), "chapter": chapter,
             "page_breaks": context["chapter_breaks"].get(chapter.id, {}),
             "chapter_references": book.references.get(chapter.id, [])}
    shown = (chapter.essay_key, book.changes.key(chapter.id), chapter.id, chapter.number,
             chapter.title, chapter.running_head, chapter.key_points, chapter.language,
             chapter.label, chapter.subtitle, chapter.authors, chapter.abstract, chapter.words,
             chapter.is_appendix, chapter.summary.image_lookups,
             *(value for name, value in given.items() if name != "chapter"))
    return _kept_document(kept if chapter.essay_key else None, chapter.id, "chapter.xhtml.j2",
                          given, shown)


def _terms_document(matter: str, book: Book, context: dict[str, Any],
                    kept: DocumentCache) -> epub.EpubItem:
    """The glossary's or the index's document, kept under its entries (each with every use of
    it), the chapters' names its locators give, and the print edition's page breaks."""
    found = getattr(book, matter)
    given = {**_page(book, context, matter), matter: found,
             "locating": context["locating"], "element_marks": context["element_marks"]}
    terms = found.entries if matter == "glossary" else found.headings  # (not used_ids, a set)
    shown = (terms, *(value for name, value in given.items() if name != matter))
    return _kept_document(kept, matter, f"{matter}.xhtml.j2", given, shown, [matter])


def _metadata(package: epub.EpubBook, book: Book, modified: datetime) -> None:
    meta = book.meta
    package.set_identifier(meta.identifier)
    package.set_title(plain(meta.title))
    package.set_language(meta.language)
    if direction(meta.language) == "rtl":  # the spine's page-progression-direction
        package.set_direction("rtl")
    package.add_author(meta.author)
    for number, (author, _) in enumerate(book.contributors(), 1):  # the chapters' authors
        package.add_metadata("DC", "contributor", author.name, {"id": f"contributor-{number}"})
    if meta.subtitle:
        package.add_metadata("DC", "title", meta.subtitle, {"id": "subtitle"})
        package.add_metadata(None, "meta", "subtitle",
                             {"refines": "#subtitle", "property": "title-type"})
    for name, value in (("publisher", meta.publisher), ("rights", meta.rights),
                        ("description", meta.description), ("date", meta.date)):
        if value:
            package.add_metadata("DC", name, value)
    for subject in dict.fromkeys([*meta.subjects, *meta.keywords]):
        package.add_metadata("DC", "subject", subject)
    _accessibility(package, book)


def _accessibility(package: epub.EpubBook, book: Book) -> None:
    """EPUB Accessibility 1.1 metadata (schema.org properties), true of what chapbook makes."""
    has_images = any(chapter.images for chapter in book.chapters)
    modes = ["textual", *(["visual"] if has_images else [])]
    features = ["structuralNavigation", "tableOfContents", "readingOrder",
                "displayTransformability", "unlocked", "printPageNumbers", "pageBreakMarkers",
                "pageNavigation"]
    if has_images:
        features.append("alternativeText")
    if book.has("index"):
        features.append("index")
    for mode in modes:
        package.add_metadata(None, "meta", mode, {"property": "schema:accessMode"})
    package.add_metadata(None, "meta", "textual", {"property": "schema:accessModeSufficient"})
    for feature in features:
        package.add_metadata(None, "meta", feature, {"property": "schema:accessibilityFeature"})
    package.add_metadata(None, "meta", "none", {"property": "schema:accessibilityHazard"})
    summary = ("Reflowable text with a navigable table of contents, headings in order, semantic "
               "structure marked with ARIA roles and epub:type"
               + (", a linked glossary and index" if book.has("index") else "")
               + (", and alternative text for every image" if has_images else "")
               + ". No hazards.")
    package.add_metadata(None, "meta", summary, {"property": "schema:accessibilitySummary"})
    package.add_metadata(None, "meta", "EPUB Accessibility 1.1 - WCAG 2.2 Level AA",
                         {"property": "dcterms:conformsTo"})
    # The page list follows the print edition, laid out from the same sources in the same build.
    package.add_metadata(None, "meta", f"{book.meta.identifier}#print-edition",
                         {"property": "pageBreakSource"})
    if book.meta.publisher:
        package.add_metadata(None, "meta", book.meta.publisher,
                             {"property": "a11y:certifiedBy"})


def print_page_map(book: Book, diagnostics: Diagnostics, layouts: Layouts,
                   options: BuildOptions) -> dict[str, Any]:
    """Where the print edition's pages begin, as template context: markers at the start of
    documents, inside chapter text, and before glossary and index entries, and the page list
    (laid out, if no PDF of this book was, as the PDF would be: `--jobs`, `--piece-words`)."""
    cache = options.cache
    doc_starts: dict[str, list[int]] = {}
    element_marks: dict[str, list[int]] = {}
    page_breaks: dict[str, dict[str, list[tuple[int, int]]]] = {}
    page_list: list[tuple[int, str]] = []
    page_map = cached_page_map(book, cache)
    if page_map is None:  # no PDF of this book built yet: lay it out, without writing it
        from chapbook.layout.paginate import typeset
        page_map = typeset(book, diagnostics, layouts=layouts, write=False, cache=cache,
                           jobs=options.jobs, piece_words=options.piece_words)
    for start in page_map.starts:
        if start.element is None:
            doc_starts.setdefault(start.document, []).append(start.number)
        elif start.document in ("contributors", "references", "glossary", "index"):
            element_marks.setdefault(start.element, []).append(start.number)
        else:
            page_breaks.setdefault(start.document, {}).setdefault(start.element, []).append(
                (start.words, start.number))
        page_list.append((start.number, f"{start.document}.xhtml#page-{start.number}"))
    return {"doc_starts": doc_starts, "element_marks": element_marks,
            "chapter_breaks": page_breaks, "page_list": page_list}


def _written(page_list: list[tuple[int, str]],
             documents: list[epub.EpubItem]) -> list[tuple[int, str]]:
    """The page list, less any page whose marker no document carries: a target that is not
    there is an error to every reading system (and should never happen; the tests see to it)."""
    markers = {f"{d.file_name}#{marker.decode()}" for d in documents
               for marker in re.findall(rb'id="(page-\d+)"', d.content)}
    return [(number, href) for number, href in page_list if href in markers]


def build_epub(book: Book, options: BuildOptions, diagnostics: Diagnostics,
               layouts: Layouts) -> Path:
    cache = options.cache
    context = {**book_context(book), **print_page_map(book, diagnostics, layouts, options)}
    modified = build_time(book.manifest.root, book.meta.date).replace(microsecond=0)
    package = epub.EpubBook()
    _metadata(package, book, modified)

    documents: list[epub.EpubItem] = []
    kept = DocumentCache(cache)
    toc: list[Any] = []
    if "cover" in book.manifest.front_matter:
        image = epub.EpubItem(uid="cover-image", file_name="images/cover.png",
                              media_type="image/png",
                              content=cover_png(book, diagnostics, cache, layouts.reading_pdf()))
        image.properties = ["cover-image"]
        package.add_item(image)
        documents.append(_document("cover", "cover.xhtml", "cover.xhtml.j2",
                                   {**context, "cover_href": "images/cover.png"}))
    for matter in ("title", "imprint"):
        if matter in book.manifest.front_matter:
            documents.append(_document(matter, f"{matter}.xhtml", f"{matter}.xhtml.j2", context))
    nav_position = len(documents)  # the navigation is written last, from what the others hold
    if "contributors" in context["front_matter"]:
        documents.append(_document("contributors", "contributors.xhtml",
                                   "contributors.xhtml.j2", context))
    for kind in ("figure", "table"):
        if book.has(f"{kind}s"):
            documents.append(_document(f"{kind}s", f"{kind}s.xhtml", "floats.xhtml.j2",
                                       {**context, "kind": kind,
                                        "heading": book.words(f"{kind}s")}))
    for part in book.parts:
        if part.has_opener:
            documents.append(_document(part.id, f"{part.id}.xhtml", "part.xhtml.j2",
                                       {**context, "part": part}))
        links = []
        for chapter in part.chapters:
            documents.append(_chapter_document(chapter, book, context, kept))
            links.append(epub.Link(f"{chapter.id}.xhtml", f"{chapter.label}. {chapter.title}"
                                   if chapter.label else chapter.title, chapter.id))
        if part.has_opener:
            toc.append((epub.Section(f"{book.words('part', number=roman(part.number))}: "
                                     f"{part.title}",
                                     f"{part.id}.xhtml"), links))
        else:
            toc += links
    for matter in ("contributors", "references"):  # in the order of the back matter
        if matter in context["back_matter"]:
            documents.append(_document(matter, f"{matter}.xhtml", f"{matter}.xhtml.j2",
                                       context))
            toc.append(epub.Link(f"{matter}.xhtml", book.words(matter), matter))
    for matter in ("glossary", "index"):
        if book.has(matter):
            documents.append(_terms_document(matter, book, context, kept))
            toc.append(epub.Link(f"{matter}.xhtml", book.words(matter), matter))
    nav = _document("nav", "nav.xhtml", "nav.xhtml.j2", context, ["nav"])
    documents.insert(nav_position, _document("nav", "nav.xhtml", "nav.xhtml.j2", {
        **context, "page_list": _written(context["page_list"], [*documents, nav])}, ["nav"]))
    for document in documents:
        package.add_item(document)
    if book.has("glossary"):
        keys = epub.EpubItem(uid="search-key-map", file_name="glossary-search-keys.xml",
                             media_type="application/vnd.epub.search-key-map+xml",
                             content=environment().get_template("epub/search-key-map.xml.j2")
                             .render(context).encode("utf-8"))
        keys.properties = ["search-key-map", "glossary"]
        package.add_item(keys)

    text = "".join(d.content.decode("utf-8") for d in documents)
    faces = needed_faces(text)
    for face, font in subset_fonts(faces, text, None, cache).items():
        media_type = "font/otf" if face.is_opentype_cff else "font/ttf"
        package.add_item(epub.EpubItem(
            uid=f"font-{face.file.stem}", file_name=f"styles/fonts/{face.file.name}",
            media_type=media_type, content=font))
    fonts_css = font_face_css(faces, lambda face: f'url("fonts/{face.file.name}")')
    package.add_item(epub.EpubItem(uid="css-fonts", file_name="styles/fonts.css",
                                   media_type="text/css", content=fonts_css.encode("utf-8")))
    images = dict.fromkeys(image for chapter in book.chapters for image in chapter.images)
    for number, image in enumerate(images, 1):
        kind = mimetypes.guess_type(image)[0] or "application/octet-stream"
        package.add_item(epub.EpubItem(uid=f"image-{number}", file_name=f"images/{image}",
                                       media_type=kind,
                                       content=(book.manifest.root / image).read_bytes()))
    for sheet in ("common.css", "epub.css"):
        package.add_item(epub.EpubItem(uid=f"css-{Path(sheet).stem}",
                                       file_name=f"styles/{sheet}", media_type="text/css",
                                       content=(styles_dir() / sheet).read_bytes()))
    kept.trim(len(book.chapters))
    package.toc = toc
    package.add_item(epub.EpubNcx())
    package.spine = documents

    buffer = io.BytesIO()
    # stored, not compressed: normalise_epub compresses every entry once, as it rewrites them
    epub.write_epub(buffer, package, {"mtime": modified, "epub3_pages": False,
                                      "raise_exceptions": True, "compresslevel": 0})
    return write_atomic(options.out / f"{book.slug}.epub",
                        normalise_epub(buffer.getvalue(), modified, book.meta.language))
