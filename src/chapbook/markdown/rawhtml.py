"""Untrusted essays: what raw HTML and which resources may reach an output.

Two layers. `audit` walks an essay's tokens before anything is rendered: it reports every
dangerous element, attribute or URL with the essay and line, resolves images to files inside the
book's folder and blocks the rest. `clean` then passes every rendered fragment through nh3
(ammonia) with an allow-list, so nothing outside it survives whatever the audit missed. The PDF
engine's URL fetcher is the third wall (typeset.ConfinedFetcher).
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Callable
from functools import cache
from html import escape as html_escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from xml.sax.saxutils import escape as xml_escape

import nh3
from lxml import etree
from lxml import html as lxml_html
from markdown_it.token import Token

from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError
from chapbook.markdown.rawtags import Tag, read_tags, rewrite, splice, start_tag
from chapbook.markdown.tokens import children_with_lines
from chapbook.schema import NONCHARACTERS

IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}
LINK_SCHEMES = {"http", "https", "mailto"}
DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "form", "input", "button", "select",
                  "textarea", "link", "meta", "base", "style", "frame", "frameset", "applet",
                  "audio", "video", "source", "track", "svg", "math", "template", "portal",
                  "title", "xmp", "noembed", "noframes", "noscript", "plaintext"}
ALLOWED_TAGS = {
    "a", "abbr", "aside", "b", "bdi", "blockquote", "br", "caption", "cite", "code",
    "col", "colgroup", "dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "samp", "section", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "lang", "dir", "title", "role", "aria-label", "aria-labelledby",
          "aria-describedby", "aria-hidden", "epub:type"},
    "a": {"href"}, "img": {"src", "alt", "width", "height"}, "ol": {"start", "reversed"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"}, "time": {"datetime"},
    "q": {"cite"}, "blockquote": {"cite"},
}
MAX_TABLE_COLUMNS = 60
MAX_HTML_DEPTH = 40
MAX_TABLE_CELLS = 20_000  # in one essay's raw HTML: far past any real table, short of a hang
MAX_IMAGE_BYTES = 64 * 1024 * 1024
# Elements whose end tag HTML lets an author leave out: they close themselves, so they do not
# deepen the nesting.
_SELF_CLOSING = {"br", "img", "hr", "wbr", "col", "p", "li", "td", "th", "tr", "dt", "dd",
                 "thead", "tbody", "tfoot", "colgroup", "option", "rt", "rp", "source", "area",
                 "input", "meta", "link", "base", "param", "track", "embed"}


class ImageResolver:
    """Where an approved image file goes in each edition."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def url(self, relative: str, flavour: str) -> str:
        if flavour == "epub":
            return f"images/{relative}"
        if flavour == "web":
            path = self.root / relative
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        return relative  # print: relative to the book's folder, WeasyPrint's base URL


def _line(token: Token, parent: Token | None = None) -> int | None:
    source = token if token.map else parent
    return source.map[0] + 1 if source is not None and source.map else None


def _scheme(url: str) -> str:
    return urlparse(url.strip()).scheme.lower()


def resolve_image(src: str, essay: Path, root: Path) -> tuple[str | None, str]:
    """(path relative to the book's folder, "") for a usable image, else (None, why not)."""
    src = src.strip()
    if not src:
        return None, "it has no address"
    scheme = _scheme(src)
    if scheme in ("http", "https", "ftp") or src.startswith("//"):
        return None, "chapbook fetches nothing from the network; save it in the book's folder"
    if scheme:
        return None, f"'{scheme}:' addresses are not allowed for images; use a file in the book"
    try:
        target = (essay.parent / unquote(urlparse(src).path)).resolve()
    except (ValueError, OSError, RuntimeError):  # a NUL byte (%00), a link that loops
        return None, "it is not a usable file name (a NUL byte, or a link that loops)"
    if not target.is_relative_to(root.resolve()):
        return None, "it is outside the book's folder (or a link that points outside it)"
    if target.suffix.lower() not in IMAGE_TYPES:
        return None, f"'{target.suffix}' is not an image type (PNG, JPEG, GIF, SVG, WebP)"
    if not target.is_file():
        return None, "the file does not exist"
    if target.stat().st_size > MAX_IMAGE_BYTES:
        return None, (f"the file is larger than {MAX_IMAGE_BYTES // 1024 // 1024} MB; save a "
                      "smaller one (300 dpi at the printed size is enough)")
    problem = raster_problem(target)
    if problem:
        return None, problem
    if target.suffix.lower() == ".svg":
        problem = _svg_problem(target, root)
        if problem:
            return None, problem
    return target.relative_to(root.resolve()).as_posix(), ""


# The format each raster suffix promises, as Pillow names it. An image whose content is
# another format, or damaged, would be declared with a media type its content belies (EPUBCheck
# OPF-029, PKG-021); one of more than MAX_IMAGE_PIXELS is a decompression bomb.
RASTER_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}
MAX_IMAGE_PIXELS = 100_000_000


def raster_problem(path: Path) -> str | None:
    """Why a raster image cannot be used, read from its content (not its name), or None."""
    from PIL import Image

    expected = RASTER_FORMATS.get(path.suffix.lower())
    if expected is None:  # SVG: parsed and checked whole
        return None
    try:
        with Image.open(path) as image:
            found, (width, height) = image.format, image.size
            if width * height > MAX_IMAGE_PIXELS:
                return (f"it is {width:,} × {height:,} pixels, more than "
                        f"{MAX_IMAGE_PIXELS // 1_000_000} million; save a smaller one")
            image.verify()
    except Exception:  # Pillow raises many kinds for a file it cannot read
        return (f"its content is not a readable {expected} image (a file renamed, or "
                "damaged); save it again")
    if found != expected:
        return f"its content is {found}, not {expected}; give it the right extension"
    return None


# What a drawing may hold: shapes, text, paint servers and their plumbing. Everything else
# (scripts, foreign content, images, fonts, links, animation, styles' imports) is refused.
SVG_ELEMENTS = {
    "svg", "g", "defs", "symbol", "use", "title", "desc", "metadata", "path", "rect", "circle",
    "ellipse", "line", "polyline", "polygon", "text", "tspan", "textPath", "linearGradient",
    "radialGradient", "stop", "pattern", "clipPath", "mask", "marker", "filter", "style",
    "feBlend", "feColorMatrix", "feComponentTransfer", "feComposite", "feFlood",
    "feGaussianBlur", "feMerge", "feMergeNode", "feMorphology", "feOffset", "feFuncA",
    "feFuncR", "feFuncG", "feFuncB", "feDropShadow", "switch",
}
_LOCAL_URL = re.compile(r"url\(\s*(['\"]?)#[^)]*\1\s*\)", re.IGNORECASE)
MAX_SVG_BYTES = 5 * 1024 * 1024


def _outside_reference(value: str) -> bool:
    """A url(…) or @import in a value that points anywhere but into the drawing itself."""
    lowered = value.lower()
    return "@import" in lowered or "url(" in _LOCAL_URL.sub("", lowered) \
        or "image-set(" in lowered or "src(" in lowered


def _svg_problem(path: Path, root: Path) -> str:
    """An SVG is a document: it may draw, and nothing else. Parsed with entities, DTDs and the
    network off; its elements allow-listed; every reference must stay inside the drawing."""
    try:
        if path.stat().st_size > MAX_SVG_BYTES:
            return f"the SVG is larger than {MAX_SVG_BYTES // 1024 // 1024} MB"
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                 dtd_validation=False, huge_tree=False)
        tree = etree.parse(str(path), parser)
    except (etree.XMLSyntaxError, OSError):
        return "the SVG file is not well-formed XML"
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return "the SVG has a DOCTYPE (entities or a DTD); remove it"
    for node in tree.getroot().itersiblings(preceding=True):
        if isinstance(node, etree._ProcessingInstruction):
            return f"the SVG has a processing instruction <?{node.target}?>; remove it"
    for element in tree.iter():
        if isinstance(element, etree._ProcessingInstruction):
            return f"the SVG has a processing instruction <?{element.target}?>; remove it"
        if isinstance(element, etree._Entity):
            return "the SVG uses an entity; write the text out"
        if not isinstance(element.tag, str):
            continue  # a comment
        tag = etree.QName(element).localname
        if tag not in SVG_ELEMENTS:
            return f"the SVG contains <{tag}>, which a drawing in a book may not hold"
        if tag == "style" and _outside_reference(element.text or ""):
            return "the SVG's styles refer to something outside it"
        for name, value in element.attrib.items():
            local = etree.QName(name).localname
            if local == "href" and not value.startswith("#"):
                return f"the SVG refers to '{value[:60]}'; embed what it shows instead"
            if local.startswith("on"):
                return "the SVG has event handlers"
            if _outside_reference(value):
                return f"the SVG's {local} refers to something outside it"
    return ""


class Images:
    """The images an essay uses, and every image it looked for with what was found (a file
    used, or why not): a kept parse is used again only while each is found the same way
    (cache.thaw), so an image put right after a build is used by the next."""

    def __init__(self, essay: Path, root: Path) -> None:
        self.essay, self.root = essay, root
        self.used: list[str] = []
        self.looked_up: list[list[str | None]] = []  # [src, relative path or None, why not]

    def resolve(self, src: str) -> tuple[str | None, str]:
        relative, why = resolve_image(src, self.essay, self.root)
        self.looked_up.append([src, relative, why])
        if relative is not None:
            self.used.append(relative)
        return relative, why


def found_the_same(looked_up: object, essay: Path, root: Path) -> bool:
    """Whether every image an essay looked for (Images.looked_up, read back from the cache) is
    found as it was then."""
    return isinstance(looked_up, list) and all(
        isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
        and list(resolve_image(item[0], essay, root)) == item[1:] for item in looked_up)


def audit(tokens: list[Token], essay: Path, root: Path, diagnostics: Diagnostics) -> Images:
    """Report and neutralise what an essay must not bring in; return the images it uses."""
    images = Images(essay, root)
    depth_reported = False
    bounds = RawHtmlBounds(essay)
    raw_ids: set[str] = set()

    def check_image(token: Token, src: str, line: int | None) -> None:
        relative, why = images.resolve(src)
        if relative is None:
            diagnostics.warn("blocked-resource", f"image '{src}' left out: {why}", essay, line)
            token.meta["blocked"] = True
        else:
            token.meta["image"] = relative

    for token in tokens:
        if token.type == "table_open":
            _check_table(token, tokens, essay, diagnostics)
        if token.type == "html_block":
            token.content = _as_parsed(token.content)
            _audit_html(token, token.content, _line(token), essay, root, diagnostics, images)
            token.content = _raw_ids_once(token.content, raw_ids, essay, _line(token),
                                          diagnostics)
            tags = read_tags(token.content)
            if not depth_reported and _html_depth(tags)[0] > MAX_HTML_DEPTH:
                diagnostics.warn("nesting", f"raw HTML nested over {MAX_HTML_DEPTH} levels deep "
                                 "is left out", essay, _line(token))
                token.content, tags = "", []
                depth_reported = True
            bounds.read(tags, _line(token))
        children = token.children or []
        lines = [line for _, line in children_with_lines(token, _line(token) or 1)]
        for position, child in enumerate(children):
            line = lines[position] if token.map else None
            if child.type == "image":
                check_image(child, child.attrGet("src") or "", line)
            elif child.type == "link_open":
                href = child.attrGet("href") or ""
                if _scheme(href) and _scheme(href) not in LINK_SCHEMES:
                    diagnostics.warn("blocked-link", f"link to '{href[:60]}' removed: only http, "
                                     "https and mailto links are kept", essay, line)
                    _unlink(children, position)
            elif child.type == "html_inline":
                child.content = _as_parsed(child.content)
                _audit_html(child, child.content, line, essay, root, diagnostics, images)
                child.content = _raw_ids_once(child.content, raw_ids, essay, line, diagnostics)
                bounds.read(read_tags(child.content), line)
    return images


def _as_parsed(fragment: str) -> str:
    """Raw HTML as the sanitizer's HTML5 parser will read it: `<image>` is `<img>` there, so it
    is `<img>` for the audit and the image rewriter too, and cannot slip past them."""
    def renamed(tag: Tag) -> str | None:
        if tag.name != "image":
            return None
        return "</img" + tag.text[7:] if tag.closing else "<img" + tag.text[6:]
    return rewrite(fragment, renamed) if "image" in fragment.lower() else fragment


# Elements whose content an HTML parser reads as text up to their end tag: an unclosed <title>
# or <script> in one block turned the rest of the chapter into escaped text (or removed it).
# Whole pairs go with their content; a tag left alone goes by itself.
_RAW_TEXT = frozenset({"script", "style", "title", "textarea", "xmp", "iframe", "noembed",
                       "noframes", "noscript", "template"})


def _raw_ids_once(fragment: str, seen: set[str], essay: Path, line: int | None,
                  diagnostics: Diagnostics) -> str:
    """Raw HTML with each id used once in its essay (a second `id="x"` is invalid XHTML),
    without the classes the book's own templates and styles use (`class="part-title"` in an
    essay made a PDF bookmark), without links to the names of chapbook's own EPUB documents and
    without elements read as raw text; the audit reported each."""
    tags = read_tags(fragment)
    replacements: list[tuple[int, int, str]] = []
    position = 0
    for index, tag in enumerate(tags):
        if tag.start < position:
            continue  # inside a raw-text pair already taken out
        if tag.name in _RAW_TEXT or tag.name == "plaintext":
            end = next((later.end for later in tags[index + 1:]
                        if later.closing and later.name == tag.name), tag.end) \
                if not tag.closing and tag.name != "plaintext" else tag.end
            replacements.append((tag.start, end, ""))
            position = end
            continue
        attributes = [(name, value) for name, value in
                      (_kept_attribute(name, value, seen, essay, line, diagnostics)
                       for name, value in tag.attributes) if name]
        if len(attributes) != len(tag.attributes) or attributes != list(tag.attributes):
            replacements.append((tag.start, tag.end,
                                 start_tag(tag.name, attributes, tag.self_closing)))
        position = tag.end
    return splice(fragment, replacements)


def _kept_attribute(name: str, value: str | None, seen: set[str], essay: Path,
                    line: int | None, diagnostics: Diagnostics) -> tuple[str, str | None]:
    """The attribute as raw HTML may keep it, or ("", None) where it goes."""
    if name == "id" and value is not None:
        if value in seen:
            diagnostics.warn("duplicate-id", f"id '{value[:40]}' is used twice in the essay; "
                             "the second is removed", essay, line)
            return "", None
        seen.add(value)
    elif name == "class" and value is not None:
        return name, " ".join(word for word in value.split() if word not in book_classes())
    elif name == "href" and value is not None and _BOOK_DOCUMENT.match(value.strip()):
        return "", None
    return name, value


# Classes the styles give a look for authors to use, as Pandoc's Markdown does (markdown/pandoc.py):
# `[text]{.smallcaps}`, `::: note`. No part of the book wears them.
AUTHOR_CLASSES = frozenset({"smallcaps", "underline", "note", "warning", "tip", "important",
                            "caution", "math"})


@cache
def book_classes() -> frozenset[str]:
    """Every class the book's templates and stylesheets use, but AUTHOR_CLASSES: an essay may
    not borrow them. Read from the files, so a class added to a template is covered at once."""
    from chapbook.resources import styles_dir, templates_dir

    names: set[str] = set()
    for sheet in styles_dir().glob("*.css"):
        names |= set(re.findall(r"\.(-?[_a-zA-Z][\w-]*)", re.sub(
            r"url\([^)]*\)|/\*.*?\*/", "", sheet.read_text("utf-8"), flags=re.DOTALL)))
    for template in templates_dir().rglob("*"):
        if template.is_file():
            for value in re.findall(r"""class=["']([^"']*)["']""", template.read_text("utf-8")):
                names |= {name for name in re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", value).split()
                          if re.fullmatch(r"[\w-]+", name)}
    return frozenset(names - AUTHOR_CLASSES)


def _unlink(children: list[Token], position: int) -> None:
    """The link goes and its text stays: both of its tokens render as nothing."""
    children[position].hidden = True
    children[position].attrSet("href", "")
    closing = next((c for c in children[position + 1:] if c.type == "link_close"), None)
    if closing is not None:
        closing.hidden = True


def _check_table(opening: Token, tokens: list[Token], essay: Path,
                 diagnostics: Diagnostics) -> None:
    start = tokens.index(opening)
    columns = 0
    for token in tokens[start:]:
        if token.type == "th_open":
            columns += 1
        if token.type == "tr_close":
            break
    if columns > MAX_TABLE_COLUMNS:
        raise BookError(f"a table with {columns} columns cannot be set on a page",
                        essay, _line(opening),
                        hint=f"split it into tables of at most {MAX_TABLE_COLUMNS} columns")


def _html_depth(tags: list[Tag], depth: int = 0) -> tuple[int, int]:
    """(the deepest nesting, the depth at the end) of raw HTML's tags entered at `depth`."""
    deepest = depth
    for tag in tags:
        if tag.name in _SELF_CLOSING or tag.self_closing:
            continue
        depth = max(0, depth - 1) if tag.closing else depth + 1
        deepest = max(deepest, depth)
    return deepest, depth


class RawHtmlBounds:
    """The raw HTML of a whole essay, read in order across its blocks and lines: the layout
    nests `<div>`s opened in one block and closed in another (150 of them overflow its
    recursion), and a table's cells may each stand on their own line."""

    def __init__(self, essay: Path) -> None:
        self.essay = essay
        self.depth = 0
        self.cells = 0
        self.row_cells = 0

    def read(self, tags: list[Tag], line: int | None) -> None:
        """The tags of one fragment, at its line."""
        deepest, self.depth = _html_depth(tags, self.depth)
        if deepest > MAX_HTML_DEPTH:
            raise BookError(f"raw HTML is nested over {MAX_HTML_DEPTH} levels deep here, "
                            "counting the blocks above it", self.essay, line,
                            hint="close the elements opened above (</div>, </span>…), or "
                                 "flatten the nesting")
        for tag in tags:
            name = tag.name
            if tag.closing:
                continue
            if name == "tr":
                self.row_cells = 0
            elif name in ("td", "th"):
                self.cells += 1
                self.row_cells += 1
                if self.row_cells > MAX_TABLE_COLUMNS:
                    raise BookError(f"a table row with more than {MAX_TABLE_COLUMNS} cells "
                                    "cannot be set on a page", self.essay, line,
                                    hint=f"split it into tables of at most "
                                         f"{MAX_TABLE_COLUMNS} columns")
                if self.cells > MAX_TABLE_CELLS:
                    raise BookError(f"more than {MAX_TABLE_CELLS:,} table cells in one "
                                    "essay's raw HTML", self.essay, line,
                                    hint="split the tables, or the essay, into smaller ones")


def _audit_html(token: Token, fragment: str, line: int | None, essay: Path, root: Path,
                diagnostics: Diagnostics, images: Images) -> None:
    """Name each thing in raw HTML that the sanitizer will remove, and approve its images."""
    try:
        elements = lxml_html.fragments_fromstring(fragment)
    except Exception:  # lxml raises even AssertionError on `<html>` alone; nh3 cleans it anyway
        return
    for top in elements:
        if not isinstance(top, lxml_html.HtmlElement):
            continue
        for element in top.iter():
            if not isinstance(element.tag, str):
                continue
            tag = element.tag.lower()
            if tag in DANGEROUS_TAGS:
                diagnostics.warn("unsafe-html", f"<{tag}> removed: raw HTML may not bring in "
                                 "scripts, frames, objects, forms, styles or links", essay, line)
                continue
            for name, value in element.attrib.items():
                lowered = name.lower()
                if lowered.startswith("on"):
                    diagnostics.warn("unsafe-html", f"event handler '{name}' on <{tag}> removed",
                                     essay, line)
                elif lowered == "style":
                    diagnostics.warn("unsafe-html", f"style attribute on <{tag}> removed: the "
                                     "look of the book lives in its stylesheets", essay, line)
                elif lowered == "class" and (own := [c for c in value.split()
                                                     if c in book_classes()]):
                    diagnostics.warn("unsafe-html", f"class '{own[0]}' on <{tag}> removed: it "
                                     "is one of the book's own", essay, line)
                elif not valid_value(lowered, value):
                    diagnostics.warn("unsafe-html", f"{name}=\"{value[:40]}\" on <{tag}> "
                                     "removed: not a value it can take", essay, line)
                elif lowered in ("href", "src", "xlink:href", "action", "formaction", "srcset"):
                    if tag == "img" and lowered == "src":
                        relative, why = images.resolve(value)
                        if relative is None:
                            diagnostics.warn("blocked-resource", f"image '{value[:80]}' left out: "
                                             f"{why}", essay, line)
                        else:
                            token.meta.setdefault("images", {})[value] = relative
                    elif _scheme(value) and _scheme(value) not in LINK_SCHEMES:
                        diagnostics.warn("blocked-link", f"'{value[:60]}' removed from <{tag}>",
                                         essay, line)
                    elif tag == "a" and lowered == "href" and _BOOK_DOCUMENT.match(value.strip()):
                        diagnostics.warn("blocked-link", f"link to '{value[:60]}' removed from "
                                         "<a>: that is a name inside chapbook's EPUB; link to "
                                         "a chapter in Markdown, [text](essay.md)", essay, line)
                    elif tag == "a" and lowered == "href" and not _kept_href(value):
                        diagnostics.warn("blocked-link", f"link to the local file "
                                         f"'{value[:60]}' removed from <a>: a reader has no "
                                         "such file; link to a chapter in Markdown, "
                                         "[text](essay.md), or to the web", essay, line)


def rewrite_html_images(fragment: str, token: Token, resolver: ImageResolver,
                        flavour: str) -> str:
    """Raw HTML with its approved images pointed at each edition's copy."""
    approved: dict[str, str] = token.meta.get("images", {})
    if "<img" not in fragment.lower():
        return fragment

    def replace(tag: Tag) -> str | None:
        if tag.name != "img" or tag.closing:
            return None
        src = tag.get("src")
        if src is not None and src in approved:
            url = resolver.url(approved[src], flavour)
            return start_tag("img", [(name, url if name == "src" else value)
                                     for name, value in tag.attributes], tag.self_closing)
        # not approved by the audit: the image gives way to its alt text
        alt = (tag.get("alt") or "").strip()
        return f'<span class="missing-image">[{html_escape(alt)}]</span>' if alt else ""
    return rewrite(fragment, replace)


def clean(html: str) -> str:
    """The allow-list, applied to every rendered fragment of an essay."""
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=LINK_SCHEMES | {"data"}, link_rel=None, strip_comments=True,
                     attribute_filter=_attribute_filter)


_BOOK_DOCUMENT = re.compile(r"^[a-z][a-z0-9-]*\.xhtml(#[\w.:-]*)?$")


def _kept_href(value: str) -> bool:
    """A link an edition can keep: to the web or mail, to a place in the book (`#id`), or to one
    of the EPUB's own documents, as chapbook writes links between chapters. Anything else is a
    path on the author's disk."""
    value = value.strip()
    return (_scheme(value) in LINK_SCHEMES or value.startswith("#")
            or bool(_BOOK_DOCUMENT.match(value)))


def _whole_number(low: int, high: int) -> Callable[[str], bool]:
    return lambda value: value.strip().isdigit() and low <= int(value) <= high


# Allow-listed attributes whose value has a form: anything else is dropped. A colspan of a
# million made the layout hang; `dir="sideways"` fails EPUBCheck.
ATTRIBUTE_VALUES: dict[str, Callable[[str], bool]] = {
    "dir": lambda value: value in ("ltr", "rtl", "auto"),
    "colspan": _whole_number(1, MAX_TABLE_COLUMNS),
    "rowspan": _whole_number(0, 1000),
    "start": lambda value: value.strip().lstrip("-").isdigit() and abs(int(value)) < 10**6,
    "width": _whole_number(1, 10000),
    "height": _whole_number(1, 10000),
    "scope": lambda value: value in ("row", "col", "rowgroup", "colgroup"),
    "reversed": lambda value: value in ("", "reversed"),
    "aria-hidden": lambda value: value in ("true", "false"),
    "lang": lambda value: bool(re.match(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8})*$", value)),
    # a date or time as HTML defines them: 2026, 2026-11, 2026-11-25, 14:30, or both with a zone
    "datetime": lambda value: bool(re.fullmatch(
        r"\d{4}(-\d{2}(-\d{2})?)?([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?"
        r"|\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?", value.strip())),
    # where a quotation comes from: a web address, never a file on the author's disk
    "cite": lambda value: _scheme(value) in ("http", "https"),
    "id": lambda value: bool(re.match(r"^[A-Za-z_][\w.-]*$", value)),
}


def valid_value(name: str, value: str) -> bool:
    check = ATTRIBUTE_VALUES.get(name)
    return check is None or check(value)


def _attribute_filter(tag: str, name: str, value: str) -> str | None:
    if tag == "a" and name == "href" and not _kept_href(value):
        return None
    if not valid_value(name, value):
        return None
    lowered = value.strip().lower()
    if tag == "img" and name == "src":
        # only the book's own files (relative) or the images we embedded ourselves
        return value if not _scheme(value) or lowered.startswith("data:image/") else None
    if lowered.startswith("data:"):
        return None
    return value


_NOT_XML = re.compile(f"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[{NONCHARACTERS}]")


# Elements that hold only phrasing content (text and inline elements), and the inline elements
# themselves. Raw HTML may put a <blockquote> in a <span> or an <li> outside a list; browsers
# cope, but XHTML forbids it (EPUBCheck RSC-005), so such an element becomes a <span>.
_PHRASING = {"a", "abbr", "b", "bdi", "cite", "code", "data", "del", "dfn", "em", "i", "img",
             "ins", "kbd", "mark", "q", "ruby", "rt", "rp", "s", "samp", "small", "span",
             "strong", "sub", "sup", "time", "u", "var", "br", "wbr"}
_PHRASING_ONLY = (_PHRASING - {"img", "br", "wbr"}) | {"p", "h1", "h2", "h3", "h4", "h5", "h6",
                                                      "pre", "dt", "caption", "figcaption"}
_PARENTS = {"li": {"ul", "ol", "menu"}, "dt": {"dl", "div"}, "dd": {"dl", "div"},
            "figcaption": {"figure"}, "caption": {"table"}, "rt": {"ruby"}, "rp": {"ruby"}}


def _fit_content_models(root: Any) -> None:
    for empty in list(root.iter("wbr", "br", "img", "hr")):
        _let_out(empty)  # the HTML parser wraps what follows a void element it does not know
    for element in list(root.iter()):
        if element is root or not isinstance(element.tag, str):
            continue
        parent = element.getparent()
        tag = element.tag
        inside_phrasing = any(isinstance(a.tag, str) and a.tag in _PHRASING_ONLY
                              for a in element.iterancestors())
        misplaced = tag in _PARENTS and (parent is None or parent.tag not in _PARENTS[tag])
        nested_link = tag == "a" and any(a.tag == "a" for a in element.iterancestors())
        if (inside_phrasing and tag not in _PHRASING) or misplaced or nested_link:
            element.tag = "span"
            for name in [n for n in element.attrib if n not in ("id", "class", "lang", "dir",
                                                               "title", "role")]:
                del element.attrib[name]


def _let_out(element: Any) -> None:
    """Move what a void element was made to hold (its text, its children) out after it."""
    children = list(element)
    if not (element.text or children):
        return
    parent = element.getparent()
    at = parent.index(element)
    if children:
        children[-1].tail = (children[-1].tail or "") + (element.tail or "")
        element.tail = element.text
    else:
        element.tail = (element.text or "") + (element.tail or "")
    element.text = None
    for offset, child in enumerate(children, 1):
        parent.insert(at + offset, child)


def to_xhtml(html: str) -> str:
    """An HTML fragment re-serialised as well-formed XHTML for the EPUB."""
    if not html.strip():
        return html
    # Characters XML cannot hold (a raw HTML entity such as &#xFFFF; makes one) are dropped.
    wrapper = lxml_html.fragment_fromstring(_NOT_XML.sub("", html), create_parent="div")
    _fit_content_models(wrapper)
    parts = [xml_escape(wrapper.text)] if wrapper.text else []  # the text before any element
    for child in wrapper:
        parts.append(etree.tostring(child, method="xml", encoding="unicode"))
    text = "".join(parts)
    return text.replace(' xmlns:html="http://www.w3.org/1999/xhtml"', "")

