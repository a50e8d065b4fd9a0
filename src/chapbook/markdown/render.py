"""Tokens to HTML: chapbook's render rules over markdown-it's renderer, then the sanitizer."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markupsafe import Markup, escape

from chapbook.markdown.rawhtml import clean, rewrite_html_images, to_xhtml
from chapbook.model.book import Chapter
from chapbook.model.essay import Footnote
from chapbook.words import DEFAULT_LANGUAGE, Words

WORD_JOINER = "\u2060"  # no line break on either side, and nothing drawn


def add_render_rules(md: MarkdownIt) -> None:
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("heading_close", _render_heading_close)
    md.add_render_rule("footnote_ref", _render_footnote_ref)
    md.add_render_rule("index_mark", lambda *args: "")
    md.add_render_rule("term_anchor_open", _render_term_anchor_open)
    md.add_render_rule("term_anchor_close", _render_term_anchor_close)
    md.add_render_rule("term_open", _render_term_open)
    md.add_render_rule("term_close", lambda *args: "</a>")
    md.add_render_rule("image", _render_image)
    md.add_render_rule("lang_open", lambda self, tokens, idx, options, env:
                       f'<span lang="{tokens[idx].meta["lang"]}">')
    md.add_render_rule("lang_close", lambda *args: "</span>")
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("text", _render_text)
    for kind in ("paragraph", "list_item", "th", "td"):
        md.add_render_rule(f"{kind}_open", _render_block_open)
        md.add_render_rule(f"{kind}_close", _render_block_close)
    md.add_render_rule("figure_open", _render_figure_open)
    md.add_render_rule("figure_close", _render_figure_close)
    md.add_render_rule("table_open", _render_table_open)
    md.add_render_rule("crossref", _render_crossref)
    md.add_render_rule("citation", _render_citation)
    md.add_render_rule("html_block", _render_html)
    md.add_render_rule("html_inline", _render_html)


# --- rendering -----------------------------------------------------------------------------

def render(tokens: Sequence[Token], env: dict[str, Any], flavour: str, heading_shift: int,
           page_breaks: dict[str, list[tuple[int, int]]] | None = None) -> str:
    """Clean HTML of tokens; `flavour` is "print", "web" or "epub" (XHTML); headings go
    `heading_shift` levels down. Every fragment passes the sanitizer's allow-list."""
    from chapbook.markdown.parser import parser  # parser() installs this module's rules

    md = parser()
    render_env = {**env, "flavour": flavour, "heading_shift": heading_shift}
    if page_breaks is not None:
        render_env["page_breaks"] = page_breaks
    html = clean(md.renderer.render(list(tokens), md.options, render_env))
    return to_xhtml(html) if flavour == "epub" else html


def render_note(note: Footnote, env: dict[str, Any], flavour: str, anchors: bool = True) -> str:
    """A note's HTML; `anchors=False` for a second copy of it, so that ids stay unique."""
    return render(note.tokens, {**env, "anchors": anchors}, flavour, 0)


def chapter_title(chapter: Chapter, flavour: str) -> Markup:
    """The title as set in the chapter opener, with its notes' calls; the plain `title`
    serves the contents, bookmarks and running heads. A title from book.yml has no notes."""
    essay = chapter.essay
    if chapter.title != essay.title or not essay.title_tokens:
        return escape(chapter.title)
    return Markup(render(essay.title_tokens, essay.env, flavour, 0).strip())


def chapter_body(chapter: Chapter, flavour: str, heading_shift: int,
                 page_breaks: dict[str, list[tuple[int, int]]] | None = None,
                 pages: Mapping[str, int] | None = None) -> Markup:
    """The chapter's HTML; `page_breaks` maps a block id to (words before, page number);
    `pages` (in print) each anchor's page, for references to pages (`{@fig:name p}`)."""
    essay = chapter.essay
    env = {**essay.env, "words": chapter.words}
    if pages is not None:
        env["pages"] = pages
    return Markup(render(essay.tokens, env, flavour, heading_shift, page_breaks))


def note_body(chapter: Chapter, note: Footnote, flavour: str, anchors: bool = True) -> Markup:
    return Markup(render_note(note, {**chapter.essay.env, "words": chapter.words}, flavour,
                              anchors))


# --- page-break markers: where the print edition's pages begin (printmap.PageStart) ---------

def pagebreak(number: int) -> str:
    return (f'<span epub:type="pagebreak" role="doc-pagebreak" id="page-{number}" '
            f'aria-label="{number}"></span>')


class _Breaks:
    """The page breaks still to place inside one open block, and its words so far."""

    def __init__(self, breaks: list[tuple[int, int]]) -> None:
        self.breaks = sorted(breaks)
        self.words = 0
        self.in_word = False

    def due(self) -> str:
        """The markers of breaks that come before the next word."""
        out = []
        while self.breaks and self.breaks[0][0] <= self.words:
            out.append(pagebreak(self.breaks.pop(0)[1]))
        return "".join(out)

    def rest(self) -> str:
        out = "".join(pagebreak(number) for _, number in self.breaks)
        self.breaks = []
        return out


def _open_breaks(token: Token, env: dict[str, Any]) -> str:
    """Entering a block: the page breaks that fall inside it, by words of its text before them.
    Blocks nest (a paragraph in a list item): the enclosing block's breaks that are due are
    placed before the inner one opens."""
    stack: list[_Breaks] = env.setdefault("_breaks", [])
    due = stack[-1].due() if stack else ""
    stack.append(_Breaks(env["page_breaks"].get(token.attrGet("id"), [])))
    return due


def _close_breaks(env: dict[str, Any]) -> str:
    """Leaving a block: its breaks not yet placed go at its end, so no marker is ever lost."""
    stack: list[_Breaks] = env.get("_breaks", [])
    return stack.pop().rest() if stack else ""


def _tracks_breaks(token: Token, env: dict[str, Any]) -> bool:
    return "page_breaks" in env and not token.hidden


def _render_block_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                       env: dict[str, Any]) -> str:
    due = _open_breaks(tokens[idx], env) if _tracks_breaks(tokens[idx], env) else ""
    return due + str(self.renderToken(tokens, idx, options, env))


def _render_block_close(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                        env: dict[str, Any]) -> str:
    rest = _close_breaks(env) if _tracks_breaks(tokens[idx], env) else ""
    return rest + str(self.renderToken(tokens, idx, options, env))


def _render_text(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                 env: dict[str, Any]) -> str:
    content = tokens[idx].content
    stack: list[_Breaks] = env.get("_breaks", [])
    if not stack:
        return escapeHtml(content)
    block = stack[-1]
    out = []
    for piece in re.split(r"(\s+)", content):
        if not piece:
            continue
        if piece.isspace():
            block.in_word = False
        elif not block.in_word:  # a new word: the breaks before it come first
            out.append(block.due())
            block.words += 1
            block.in_word = True
        out.append(escapeHtml(piece))
    return "".join(out)


def _render_image(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                  env: dict[str, Any]) -> str:
    token = tokens[idx]
    alt = escapeHtml(self.renderInlineAsText(token.children or [], options, env))
    if "image" not in token.meta:  # blocked by the audit, or never audited
        return f'<span class="missing-image">[{alt}]</span>' if alt else ""
    src = escapeHtml(env["images"].url(token.meta["image"], env.get("flavour", "print")))
    title = None if token.meta.get("figure") else token.attrGet("title")
    title_attribute = f' title="{escapeHtml(str(title))}"' if title else ""
    # Pandoc's `{width=60%}` (markdown/floats.py), in steps of 5%: a class of the styles
    width = f' class="image-width-{token.meta["width"]}"' if token.meta.get("width") else ""
    return f'<img src="{src}" alt="{alt}"{title_attribute}{width} />'


def _render_link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                      env: dict[str, Any]) -> str:
    """A link into the book (collect/links.py) written for this edition: a fragment in the
    one-file HTML and the PDF, the chapter's document in the EPUB."""
    token = tokens[idx]
    internal = token.meta.get("internal")
    if internal:
        chapter, anchor = internal
        document = f"{chapter}.xhtml" if env.get("flavour") == "epub" else ""
        token = token.copy()
        token.attrSet("href", f"{document}#{anchor}")
    return str(self.renderToken([token], 0, options, env))


def _render_figure_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                        env: dict[str, Any]) -> str:
    anchor = tokens[idx].meta.get("id")
    id_attribute = f' id="{anchor}"' if anchor else ""
    return f'<figure class="figure"{id_attribute}>\n'


def _float_label(meta: dict[str, Any]) -> str:
    """ "Figure 2.1 " or "Table 2.1 " before a caption, as numbered in collect/floats.py."""
    return f'<span class="float-label">{escapeHtml(meta["label"])}</span> ' \
        if meta.get("label") else ""


def _render_figure_close(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                         env: dict[str, Any]) -> str:
    """The caption under the image: its number, its text and, if given, its source, all kept
    on the figure's opening token (collect/floats.py numbers that one; an essay read back
    from the build cache has a closing token of its own)."""
    meta = next(token.meta for token in reversed(tokens[:idx]) if token.type == "figure_open")
    label = _float_label(meta)
    credit = f' <span class="figure-credit">{escapeHtml(meta["credit"])}</span>' \
        if meta.get("credit") else ""
    return f"<figcaption>{label}{escapeHtml(meta['caption'])}{credit}</figcaption>\n</figure>\n"


# A table of this many body rows or fewer is `short`: print.css keeps it on one page, as a
# typesetter moves five rows whole rather than split them two and three.
SHORT_TABLE_ROWS = 10


def _body_rows(tokens: Sequence[Token], idx: int) -> int:
    """The body rows of the table that opens at `idx`."""
    rows, depth, inside = 0, 0, False
    for token in tokens[idx:]:
        depth += token.nesting if token.type in ("table_open", "table_close") else 0
        if depth == 0:
            return rows
        inside = {"tbody_open": True, "tbody_close": False}.get(token.type, inside)
        rows += inside and depth == 1 and token.type == "tr_open"
    return rows


def _render_table_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                       env: dict[str, Any]) -> str:
    meta = tokens[idx].meta
    short = _body_rows(tokens, idx) <= SHORT_TABLE_ROWS
    if meta.get("kind") != "table":
        token, attributes = tokens[idx], dict(tokens[idx].attrs)
        if short:  # (the token may be rendered again, for another edition: left as it was)
            token.attrJoin("class", "short")
        try:
            return str(self.renderToken(tokens, idx, options, env))
        finally:
            token.attrs = attributes
    label = _float_label(meta)
    caption = self.renderInline(meta.get("caption_tokens", []), options, env).strip()
    anchor = f' id="{meta["id"]}"' if meta.get("id") else ""
    kind = "numbered short" if short else "numbered"
    return f'<table class="{kind}"{anchor}>\n<caption>{label}{caption}</caption>\n'


def _render_crossref(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                     env: dict[str, Any]) -> str:
    """A reference by the name of what it points at ("Figure 2.1", a heading's text, "Chapter
    3"), linked; one that points at nothing as typed (collect/floats.py warned)."""
    token = tokens[idx]
    if "target" not in token.meta:
        return escapeHtml(token.content)
    chapter, anchor, text = token.meta["target"]
    pages = env.get("pages")
    words = env.get("words") or Words(DEFAULT_LANGUAGE)
    if token.meta.get("page") and pages is not None:  # in print: the page it is on
        # before the layout has settled, a number as wide as most (paginate.py lays out again)
        text = words("page", number=pages.get(anchor, 88))
    elif token.meta.get("page"):  # an edition without pages: which way to look
        text = words(token.meta.get("where", "above"))
    document = f"{chapter}.xhtml" if env.get("flavour") == "epub" else ""
    kind = "crossref page-reference" if token.meta.get("page") else "crossref"
    return f'<a class="{kind}" href="{document}#{anchor}">{escapeHtml(text)}</a>'


def _render_citation(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                     env: dict[str, Any]) -> str:
    """A citation as the CSL style wrote it (collect/citations.py), each work linked to its
    entry in the reference list; a work not in the bibliography as its key and a question
    mark. `[@` never reaches a page."""
    meta = tokens[idx].meta
    pieces = meta.get("pieces") or [(None, f"{item['key']}?") for item in meta["items"]]
    linked = []
    for anchor, text in pieces:
        if anchor is None:
            linked.append(f'<span class="citation-missing">{escapeHtml(text)}</span>')
            continue
        chapter, _, _ = anchor.rpartition("--ref-")
        document = (f"{chapter}.xhtml" if chapter else "references.xhtml") \
            if env.get("flavour") == "epub" else ""
        linked.append(f'<a class="citation" href="{document}#{anchor}">{text}</a>')
    body = meta.get("delimiter", "; ").join(linked)
    if meta["mode"] in ("narrative", "author") and "pieces" in meta:
        return body
    return f"{meta.get('opening', '(')}{body}{meta.get('closing', ')')}"


def _render_html(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                 env: dict[str, Any]) -> str:
    token = tokens[idx]
    if "images" in env:
        return rewrite_html_images(token.content, token, env["images"], env.get("flavour", ""))
    return token.content


def _render_term_anchor_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                             env: dict[str, Any]) -> str:
    if not env.get("anchors", True):
        return ""
    return f'<span class="ix" id="{tokens[idx].meta["id"]}">'


def _render_term_anchor_close(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                              env: dict[str, Any]) -> str:
    return "</span>" if env.get("anchors", True) else ""


def _render_term_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                      env: dict[str, Any]) -> str:
    target = tokens[idx].meta["target"]
    if env.get("flavour") == "epub":
        return (f'<a class="term" epub:type="glossref" role="doc-glossref" '
                f'href="glossary.xhtml#{target}">')
    return f'<a class="term" href="#{target}">'


def _heading_tag(token: Token, env: dict[str, Any]) -> str:
    level = token.meta.get("level", int(token.tag[1])) + env.get("heading_shift", 0)
    return f"h{min(level, 6)}"


def _render_heading_open(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                         env: dict[str, Any]) -> str:
    token = tokens[idx]
    due = _open_breaks(token, env) if _tracks_breaks(token, env) else ""
    # (its class from Pandoc's `{.name}`, its language and direction from _mark_directions)
    extra = "".join(f' {name}="{token.attrGet(name)}"' for name in ("class", "lang", "dir")
                    if token.attrGet(name))
    return f'{due}<{_heading_tag(token, env)} id="{token.attrGet("id")}"{extra}>'


def _render_heading_close(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                          env: dict[str, Any]) -> str:
    # The matching opener is the nearest heading_open before this token.
    for back in range(idx - 1, -1, -1):
        if tokens[back].type == "heading_open":
            rest = _close_breaks(env) if _tracks_breaks(tokens[idx], env) else ""
            return f"{rest}</{_heading_tag(tokens[back], env)}>\n"
    return f"</{tokens[idx].tag}>\n"


def _note_blocks(tokens: Sequence[Token]) -> Iterator[tuple[str, Token]]:
    """A note's paragraphs, each with the marker of the list item it opens ("• ", "3. ")."""
    lists: list[list[int]] = []  # each open list: [next number], or [] for bullets
    marker = ""
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            lists.append([] if token.type == "bullet_list_open"
                         else [int(token.attrGet("start") or 1)])
        elif token.type in ("bullet_list_close", "ordered_list_close") and lists:
            lists.pop()
        elif token.type == "list_item_open" and lists:
            numbers = lists[-1]
            marker = f"{numbers[0]}.\u00a0" if numbers else "•\u00a0"
            if numbers:
                numbers[0] += 1
        elif token.type == "inline":
            yield marker, token
            marker = ""


def _render_footnote_ref(self: Any, tokens: Sequence[Token], idx: int, options: Any,
                         env: dict[str, Any]) -> str:
    """A note's call. A note cited again keeps its number: its later calls link to it (in print
    they are set as calls and the note is printed once, on the page of its first call)."""
    token = tokens[idx]
    note: Footnote = env["chapbook_notes"][token.meta["id"]]
    citation = token.meta.get("subId", 0) + 1
    ref_id = note.ref(citation)
    flavour = env.get("flavour", "print")
    # Two calls in a row would read as one number ("12"): a separator keeps them apart. Before
    # either, a word joiner: line breaking (Pango's, a browser's) may part a call from the word
    # or full stop it follows, and a line would open with it.
    before = next((token for token in reversed(tokens[:idx])
                   if not (token.type == "text" and not token.content)), None)
    separator = WORD_JOINER + ('<span class="note-separator">,</span>'
                               if before is not None and before.type == "footnote_ref" else "")
    if flavour == "epub":
        return (f'{separator}<a class="noteref" id="{ref_id}" href="#{note.id}" '
                f'epub:type="noteref" role="doc-noteref">{note.number}</a>')
    if citation > 1 or not env.get("anchors", True):
        return (f'{separator}<a class="noteref noteref-again" id="{ref_id}" href="#{note.id}" '
                f'role="doc-noteref">{note.number}</a>')
    # The book HTML carries the note twice: a link for the screen, and the note's text in
    # place, which the print stylesheet floats to the foot of the page (`float: footnote`).
    # The note's line ends are the source's: spaces here, or print keeps them as breaks. Its
    # paragraphs (a span cannot hold a <p>) are kept apart by a line break, and a list's items
    # keep their bullets and numbers.
    inline = "<br />".join(f"{marker}{render(t.children or [], env, flavour, 0)}"
                           .replace("\n", " ") for marker, t in _note_blocks(note.tokens))
    print_id = f' id="{note.id}"' if flavour == "print" else ""
    return (f'{separator}<a class="noteref" id="{ref_id}" href="#{note.id}" role="doc-noteref">'
            f'{note.number}</a><span class="footnote"{print_id}>{inline}</span>')
