"""Every place chapbook reaches past WeasyPrint's public API, in one module, checked against the
versions it was written for (pyproject.toml pins WeasyPrint, pydyf and tinyhtml5 to them). Moving
any of them up means reading these again: a test for each patch runs the real engine."""

from __future__ import annotations

import contextlib
import copy
import ctypes.util
import io
import re
import sys
import weakref
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from math import inf
from pathlib import Path
from typing import Any

# --- loading WeasyPrint's libraries without a dozen searches ---------------------------------

_OPTIONAL_LIBRARIES = {"harfbuzz_subset": "harfbuzz-subset", "harfbuzz_vector": "harfbuzz-vector"}


def _load_weasyprint() -> None:
    """WeasyPrint (text/ffi.py) tries each C library under several names; cffi hands every name
    the loader refuses to ctypes.util.find_library, which on Linux runs ldconfig, gcc and ld for
    each: 22 searches, a third of a second of every build. Every library's list also holds its
    Linux soname ('libpango-1.0.so.0'), which the loader finds itself, as find_library would.
    So on Linux the searches answer "not found" while WeasyPrint loads; should a library then
    be missing that a search finds, WeasyPrint is loaded again the usual way. (Worth sending
    upstream: try the platform's own names first.)"""
    if sys.platform != "linux" or "weasyprint.text.ffi" in sys.modules:
        return
    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its advice, should loading fail
            import weasyprint.text.ffi as ffi
    except OSError:
        ffi = None
    finally:
        ctypes.util.find_library = search
    # the optional ones (HarfBuzz's subsetter and vector drawing) may be truly absent
    if ffi is not None and all(getattr(ffi, name) is not None or search(library) is None
                               for name, library in _OPTIONAL_LIBRARIES.items()):
        return
    for name in [name for name in sys.modules if name.split(".")[0] == "weasyprint"]:
        del sys.modules[name]


_load_weasyprint()

import pydyf  # noqa: E402
import tinyhtml5.inputstream  # noqa: E402
import weasyprint  # noqa: E402
import weasyprint.css  # noqa: E402
import weasyprint.draw  # noqa: E402
import weasyprint.layout  # noqa: E402
import weasyprint.layout.block  # noqa: E402
import weasyprint.layout.inline  # noqa: E402
import weasyprint.pdf  # noqa: E402
import weasyprint.pdf.fonts  # noqa: E402
import weasyprint.pdf.tags  # noqa: E402
import weasyprint.text.ffi  # noqa: E402
from weasyprint import Page  # noqa: E402
from weasyprint.formatting_structure import boxes  # noqa: E402
from weasyprint.layout.background import layout_box_backgrounds  # noqa: E402

TESTED = {"weasyprint": "70.", "pydyf": "0.13."}
if not weasyprint.__version__.startswith(TESTED["weasyprint"]) or \
        not pydyf.__version__.startswith(TESTED["pydyf"]):
    raise ImportError(f"chapbook was written for WeasyPrint {TESTED['weasyprint']}x and pydyf "
                      f"{TESTED['pydyf']}x, not {weasyprint.__version__} and "
                      f"{pydyf.__version__}: reinstall chapbook to get the versions it pins")


# --- the folder a font configuration writes its faces into ----------------------------------

def font_folder(fonts: Any) -> Path | None:
    """The folder of TMPDIR that WeasyPrint writes `fonts`' faces into, once it has made it."""
    folder = getattr(fonts, "_folder", None)
    return Path(folder) if folder else None


def remove_font_folder(fonts: Any) -> None:
    """Remove that folder (18 MB for the shipped fonts). WeasyPrint removes it only in
    FontConfiguration.__del__, which a process ending with os._exit (a watched build,
    watcher.py) never runs."""
    import shutil

    folder = font_folder(fonts)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        fonts._folder = None


# --- cffi: each C type WeasyPrint names parsed once, before the layout workers are forked ------

# cffi parses a type named in a string (ffi.new('PangoRectangle *')) the first time a process
# names it, with every declaration of WeasyPrint's C libraries around it: 3-15 ms each.
# The types WeasyPrint names as it lays out and writes (text/line_break.py, text/fonts.py,
# pdf/fonts.py):
_C_TYPES = ("char[]", "char[4]", "unsigned int *", "FcChar8 **", "FcResult *",
            "PangoFcFontMap *", "PangoRectangle *", "PangoLogAttr[]", "hb_tag_t[100]",
            "hb_codepoint_t[]")
_SIZED_ARRAY = re.compile(r"(\w+)\[(\d+)\]")


def parse_c_types() -> None:
    """Parse the C types WeasyPrint names now, in the process the layout workers are forked
    from: each worker would otherwise parse them all again."""
    for name in _C_TYPES:
        weasyprint.text.ffi.ffi.typeof(name)


class _ArraysOfOneType:
    """WeasyPrint's ffi for its font subsets, whose arrays name their lengths in their types
    ('hb_codepoint_t[35]', a new type to parse for each length, in each piece of a long book):
    such an array, given its items, is made as the same type without a length."""

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ffi, name)

    def new(self, cdecl: str, init: Any = None) -> Any:
        sized = _SIZED_ARRAY.fullmatch(cdecl)
        if sized is not None and init is not None and len(init) == int(sized[2]):
            return self._ffi.new(f"{sized[1]}[]", init)
        return self._ffi.new(cdecl, init)


weasyprint.pdf.fonts.ffi = _ArraysOfOneType(weasyprint.pdf.fonts.ffi)


# --- tinyhtml5 (WeasyPrint's HTML parser): each character class made once ------------------

class _CharacterClasses(dict[tuple[Any, bool], "re.Pattern[str]"]):
    """tinyhtml5's cache of the patterns it scans text with ('every character up to `<`, `&`
    or NUL'), filled on a lookup that misses. Its own code stores each pattern under the
    pattern itself (`characters = cache[(characters, opposite)] = regex` assigns `characters`
    first), so no lookup ever found one and every scan built its pattern again: half the time
    of parsing a long book's HTML. (Worth sending upstream.)"""

    def __missing__(self, key: tuple[Any, bool]) -> re.Pattern[str]:
        characters, opposite = key
        escaped = "".join(f"\\x{ord(character):02x}" for character in characters)
        pattern = self[key] = re.compile(f"[{'' if opposite else '^'}{escaped}]+")
        return pattern


tinyhtml5.inputstream.characters_until_regex = _CharacterClasses()


# --- WeasyPrint's cascade: a pseudo-element's style made when it is asked for ------------------

_raw_style_init = weasyprint.css.StyleFor.__init__
_raw_style_for = weasyprint.css.StyleFor.__call__


def _style_init(self: Any, *args: Any, **named: Any) -> None:
    """WeasyPrint's user-agent stylesheet gives every element six pseudo-elements (`::marker`,
    `::footnote-call`, `::note-call`...), and StyleFor made each one's computed style as it
    applied the stylesheets: seven styles an element, six never asked for but on a list item or
    a note (70,000 for a 200-chapter book's index of 11,500 elements). Each is made here when
    the box builder first asks for it, from the same cascaded values, parent and root.
    (Worth sending upstream.)"""
    waiting: dict[tuple[Any, str], tuple[dict[str, Any], dict[str, Any]]] = {}

    def set_computed_styles(element: Any, parent: Any, root: Any = None,
                            pseudo_type: str | None = None, **named: Any) -> None:
        if pseudo_type is None:
            _raw_set_computed_styles(self, element, parent, root, pseudo_type, **named)
            return
        cascaded = self._cascaded_styles.get((element, pseudo_type), {})
        waiting[element, pseudo_type] = cascaded, {"root": root, **named}
    _raw_set_computed_styles = weasyprint.css.StyleFor.set_computed_styles
    self.set_computed_styles = set_computed_styles
    try:
        _raw_style_init(self, *args, **named)
    finally:
        del self.set_computed_styles
    self._chapbook_waiting = waiting


def _style_for(self: Any, element: Any, pseudo_type: str | None = None) -> Any:
    waiting = getattr(self, "_chapbook_waiting", None)
    if pseudo_type is not None and waiting and (element, pseudo_type) in waiting:
        cascaded, named = waiting.pop((element, pseudo_type))
        self._cascaded_styles[element, pseudo_type] = cascaded
        try:
            self.set_computed_styles(element, parent=element, pseudo_type=pseudo_type, **named)
        finally:
            del self._cascaded_styles[element, pseudo_type]
    return _raw_style_for(self, element, pseudo_type)


weasyprint.css.StyleFor.__init__ = _style_init
weasyprint.css.StyleFor.__call__ = _style_for


# --- pydyf: page references in linear time ----------------------------------------------------

def _page_references(pdf: pydyf.PDF) -> tuple[bytes, ...]:
    kids = pdf.pages["Kids"]
    cached = pdf.__dict__.get("_chapbook_page_references")
    if cached is None or cached[0] != len(kids):
        cached = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
        pdf.__dict__["_chapbook_page_references"] = cached
    return cached[1]


# pydyf builds the tuple of every page's reference anew on each access, and WeasyPrint reads it
# once per structure element and per link: writing a tagged PDF grew with pages × elements
# (5 of 10 s for a 280-page book). The same tuple, kept until a page is added, writes the same
# bytes in linear time.
pydyf.PDF.page_references = property(_page_references)  # type: ignore[method-assign]


# --- WeasyPrint's link resolution: links into other pieces of a long book are kept ------------

def _every_link(pages: list[Page]) -> Iterator[tuple[list[Any], list[tuple[str, float, float]]]]:
    """WeasyPrint's resolve_links, but keeping internal links whose anchor is not among the
    pages written: it is in another piece, and combine() checks that it exists."""
    seen: set[str] = set()
    for page in pages:
        anchors = []
        for name, (x, y, _, _) in page.anchors.items():
            if name not in seen:
                seen.add(name)
                anchors.append((name, x, y))
        yield list(page.links), anchors


@contextlib.contextmanager
def links_across_pieces() -> Iterator[None]:
    original = weasyprint.pdf.resolve_links
    weasyprint.pdf.resolve_links = _every_link
    try:
        yield
    finally:
        weasyprint.pdf.resolve_links = original


# --- WeasyPrint's warnings, which chapbook turns into findings (layout/typesetter.py) ----------

# A glyph no font has: the character is the group.
MISSING_GLYPH = re.compile(
    r'^\.notdef glyph rendered for Unicode string unsupported by fonts: "(.)"', re.DOTALL)
# An image without alt text in a tagged PDF: collect/alttext.py has said so at the essay's line.
MISSING_ALT_TEXT = "has no required alt description"


# --- the laid-out page's box tree (WeasyPrint has no public accessor) ------------------------

def page_box(page: Page) -> boxes.PageBox:
    """The root box of a laid-out page, which layout/page_starts.py walks."""
    return page._page_box



# --- folios set again: a run of chapters laid out before its first page number is known -------

# Whether the layouts made now keep what it takes to set their margin boxes again (renumber).
_renumberable = [False]
_MARGINS = "_chapbook_margins"


def _recording_margins(original: Any) -> Any:
    def make_margin_boxes(context: Any, page: Any, state: Any) -> Any:
        if _renumberable[0]:
            setattr(page, _MARGINS, (context, state, context.current_page))
        return original(context, page, state)
    return make_margin_boxes


_make_margin_boxes = weasyprint.layout.make_margin_boxes
weasyprint.layout.make_margin_boxes = _recording_margins(_make_margin_boxes)


@contextlib.contextmanager
def renumberable() -> Iterator[None]:
    """Layouts made in this context can have their page numbers changed (renumber)."""
    _renumberable[0] = True
    try:
        yield
    finally:
        _renumberable[0] = False


def renumber(pages: list[Page], offset: int) -> None:
    """Move pages laid out in `renumberable()` by `offset` page numbers: their margin boxes
    (folios, running heads) are made again from the page state WeasyPrint made them from, with
    the page counter moved. Nothing else on a page depends on its number: a chapter opens on a
    recto whatever it is numbered (its side is set by `break-before`, not by the counter), and
    chapbook sets page references as text. Pages laid out otherwise are left as they are
    (the blank versos, which have no margin boxes)."""
    if not offset:
        return
    for page in pages:
        box = page_box(page)
        recorded = getattr(box, _MARGINS, None)
        if recorded is None:
            continue
        context, state, number = recorded
        moved = copy.deepcopy(state)
        moved[1]["page"] = [value + offset for value in moved[1].get("page", [0])]
        context.current_page = number
        margins = list(_make_margin_boxes(context, box, moved))
        for margin in margins:
            layout_box_backgrounds(box, margin, context.get_image_from_uri)
        box.children = (*(child for child in box.children
                          if not isinstance(child, boxes.MarginBox)), *margins)
        setattr(box, _MARGINS, (context, moved, number))


# --- WeasyPrint's line layout: indents at a line's start, no more than two hyphens in a row ----

# Most lines in a row that may end in a hyphen; the next one is broken between words.
MAX_HYPHENATED_LINES = 2
# Whether the line being laid out may hyphenate words itself (split_first_line reads it).
_hyphens_held = [False]
# For each paragraph's line box: how many lines in a row, ending where the key says (the
# position the next line resumes at), end in a hyphen. Laying a page out again asks for the same
# line again, from the same position, and gets the same answer.
_hyphen_runs: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


def _ends_in_a_hyphen(line: Any, auto_only: bool = False) -> bool:
    """Whether the line ends in a hyphen: one WeasyPrint added (`auto_only`), or any."""
    if line is None:
        return False
    texts = [box for box in line.descendants()
             if isinstance(box, boxes.TextBox) and box.text.strip()]
    if not texts:
        return False
    last = texts[-1]
    ends = (last.style["hyphenate_character"],) if auto_only \
        else (last.style["hyphenate_character"], "-", "\u00ad")
    return last.text.rstrip().endswith(ends)


# A paragraph may not end in a piece of a hyphenated word shorter than this ("individu- / als."),
# which a proofreader marks.
MIN_LAST_FRAGMENT = 5

# A justified line whose word spaces stretch past this (in ems, beyond the space itself, about
# 0.29 em in Charis SIL) is loose: about 0.8 em from word to word, which a typesetter marks.
LOOSE_STRETCH_EM = 0.5
# How much a word space may shrink (in ems) for the line to take more of the text instead, as
# TeX lets its spaces shrink by about a third.
MAX_SHRINK_EM = 0.09

# For each paragraph's line box, the next line, laid out ahead to judge the one before it, kept
# for when WeasyPrint asks for it: (where it resumes, its top, the measure, whether its hyphens
# are held) and the line with where the line after it resumes. Judging every line by the next
# one then costs no second layout of it.
_laid_ahead: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], Any, Any]] = \
    weakref.WeakKeyDictionary()

Laid = tuple[Any, Any]  # a line box (None past the paragraph's end) and where the next resumes


def _laid(original: Any, context: Any, linebox: Any, position_y: float, bottom_space: float,
          skip_stack: Any, containing_block: Any, absolute_boxes: list[Any],
          fixed_boxes: list[Any], rest: tuple[Any, ...], *, held: bool, indent: float,
          widen: float = 0.0) -> Laid:
    """One line as WeasyPrint lays it out, with its hyphens held if `held` and the paragraph's
    indent `indent`; with `widen`, in a measure that much wider (narrower if negative) and set
    flush left, for the caller to justify."""
    style = linebox.style
    saved_indent, linebox.text_indent = linebox.text_indent, indent
    was_held, _hyphens_held[0] = _hyphens_held[0], held
    align = style["text_align_all"]
    if widen:
        containing_block.width += widen
        style["text_align_all"] = "start"
    try:
        return original(context, linebox, position_y, bottom_space,  # type: ignore[no-any-return]
                        skip_stack, containing_block, absolute_boxes, fixed_boxes, *rest)
    finally:
        if widen:
            containing_block.width -= widen
            style["text_align_all"] = align
        _hyphens_held[0] = was_held
        linebox.text_indent = saved_indent


def _spaces(line: Any) -> int:
    return weasyprint.layout.inline.count_expandable_spaces(line)  # type: ignore[no-any-return]


def _text_boxes(line: Any) -> list[Any]:
    return [box for box in line.descendants() if isinstance(box, boxes.TextBox)]


def _is_loose(line: Any, resume_at: Any) -> bool:
    """A justified line, not a paragraph's last, left to right, with its spaces stretched past
    LOOSE_STRETCH_EM."""
    if line is None or resume_at is None or not _justifies(line):
        return False
    stretched = [box.justification_spacing / box.style["font_size"]
                 for box in _text_boxes(line) if box.style["font_size"]]
    return bool(stretched) and max(stretched) > LOOSE_STRETCH_EM


def _justifies(box: Any) -> bool:
    """Whether the box's lines are justified, left to right (the only ones judged loose)."""
    return box.style["text_align_all"] == "justify" and box.style["direction"] == "ltr"


def _is_short_last(line: Any, resume_at: Any) -> bool:
    """Whether the line ends the paragraph holding nothing but the end of a word, under
    MIN_LAST_FRAGMENT letters."""
    if line is None or resume_at is not None:
        return False
    text = "".join(box.text for box in _text_boxes(line)).strip()
    return " " not in text and sum(c.isalpha() for c in text) < MIN_LAST_FRAGMENT


def _tighter(lay: Any, context: Any, line: Any) -> Laid | None:
    """The line again, its measure widened by what its spaces may shrink and set flush left: if
    it then takes more of the text and fits the measure with spaces shrunk by no more than
    MAX_SHRINK_EM, it is justified to the measure with those tighter spaces (WeasyPrint's own
    justification, given a negative amount); else None. `lay(widen)` lays the line out."""
    size = line.style["font_size"]
    measure = line.width  # a justified line fills the measure
    wider, wider_resume = lay(_spaces(line) * MAX_SHRINK_EM * size)
    spaces = _spaces(wider) if wider is not None else 0
    if wider is None or wider_resume is None or not spaces or wider.width <= measure \
            or wider.width - measure > spaces * MAX_SHRINK_EM * size:
        return None
    weasyprint.layout.inline.justify_line(context, wider, measure - wider.width)
    return wider, wider_resume


def _natural_width(line: Any) -> float:
    """The line's width before justification stretched or shrank its spaces."""
    return line.width - sum(  # type: ignore[no-any-return]
        box.justification_spacing * _spaces(box) for box in _text_boxes(line))


def _stretch_em(line: Any) -> float:
    """How far the line's word spaces were stretched (shrunk if negative), in ems."""
    return max((box.justification_spacing for box in _text_boxes(line)),  # type: ignore[no-any-return]
               default=0.0) / line.style["font_size"]


def _shorter(lay: Any, context: Any, line: Any) -> Laid | None:
    """The line again with its last word, or the last piece of it, sent down to the next line,
    justified to the measure; None if nothing would go down. `lay(widen)` lays the line out."""
    measure, natural = line.width, _natural_width(line)
    shorter, shorter_resume = lay(natural - measure - 1)  # a little narrower than its text
    if shorter is None or shorter_resume is None or not _spaces(shorter) \
            or shorter.width >= natural:
        return None
    weasyprint.layout.inline.justify_line(context, shorter, measure - shorter.width)
    return shorter, shorter_resume


def _line_layout(original: Any) -> Any:
    """Mends to WeasyPrint's line layout, one line at a time:
    - WeasyPrint lays a line's boxes out left to right from the indent and then moves a
      right-to-left line to the right edge, so the first line's `text-indent` lands at its end
      (the left) and an Arabic paragraph reads as not indented. Such a line is moved back by the
      indent, which puts the gap at its start, on the right.
    - WeasyPrint hyphenates every line that can be: a 60-chapter book had runs of up to five
      lines ending in a hyphen (a ladder, which a typesetter marks). After two, the next line
      is broken between words (CSS's hyphenate-limit-lines, which WeasyPrint lacks; one that
      ends in a hyphen the author typed is left to _total_fit); nor is a
      word hyphenated when its end would be all of the paragraph's last line and shorter than
      MIN_LAST_FRAGMENT letters.
    - WeasyPrint breaks lines greedily and only ever stretches word spaces: a justified line
      that comes out loose is laid out again, allowed to shrink its spaces a little to take
      more of the text (_tighter). And each justified line is judged by the next one, laid out
      ahead: when that one would come out loose, this one is set another way (its hyphenated
      word sent down whole, its last word sent down, or more of the text taken in) if then
      neither is loose. Greedy breaking's worst lines are those a word too long for the line
      before them; a look-ahead of one line is the cheap part of a total-fit breaker's gain.
    (All worth sending upstream.)"""
    def get_next_linebox(context: Any, linebox: Any, position_y: float, bottom_space: float,
                         skip_stack: Any, containing_block: Any, absolute_boxes: list[Any],
                         fixed_boxes: list[Any], *rest: Any) -> Any:
        indent = linebox.text_indent
        runs = _hyphen_runs.setdefault(linebox, {})
        before = runs.get(repr(skip_stack), 0) if skip_stack is not None else 0
        held = before >= MAX_HYPHENATED_LINES
        placed = (len(absolute_boxes), len(fixed_boxes), len(context.excluded_shapes))

        def untouched() -> bool:
            """Whether the line placed nothing (no positioned box, no float): it may be laid out
            again freely."""
            return placed == (len(absolute_boxes), len(fixed_boxes),
                              len(context.excluded_shapes))

        def lay(held: bool, widen: float = 0.0) -> Laid:
            """The line laid out (again: what an earlier try placed is taken back)."""
            del absolute_boxes[placed[0]:], fixed_boxes[placed[1]:]
            return _laid(original, context, linebox, position_y, bottom_space, skip_stack,
                         containing_block, absolute_boxes, fixed_boxes, rest, held=held,
                         indent=indent, widen=widen)

        def ahead_key(line: Any, resume_at: Any) -> tuple[Any, ...]:
            count = before + 1 if _ends_in_a_hyphen(line) else 0
            return (repr(resume_at), line.position_y + line.height, containing_block.width,
                    count >= MAX_HYPHENATED_LINES)

        # the next line of each way of setting this one tried (each line kept, so no id is
        # reused), and whether it placed nothing
        following: dict[int, tuple[Any, Laid, bool]] = {}

        def after(line: Any, resume_at: Any) -> Laid:
            """The line after this one, laid out as WeasyPrint will ask for it (tightened if
            loose), with nothing it places kept."""
            if id(line) in following:
                return following[id(line)][1]
            _, top, _, held_next = ahead_key(line, resume_at)
            shapes, absolutes, fixeds = list(context.excluded_shapes), [], []

            def lay_next(widen: float = 0.0) -> Laid:
                return _laid(original, context, linebox, top, bottom_space, resume_at,
                             containing_block, absolutes, fixeds, (None, None),
                             held=held_next, indent=0, widen=widen)
            try:
                laid = lay_next()
                clean = not absolutes and not fixeds and \
                    len(context.excluded_shapes) == len(shapes)
                if clean and _is_loose(*laid):
                    laid = _tighter(lay_next, context, laid[0]) or laid
            finally:
                context.excluded_shapes = shapes
            following[id(line)] = line, laid, clean
            return laid

        def counted(line: Any, resume_at: Any) -> Laid:
            """The line returned: its hyphen counted, a right-to-left indent moved."""
            if line is not None:
                runs[repr(resume_at)] = before + 1 if _ends_in_a_hyphen(line) else 0
                if indent and containing_block.style["direction"] == "rtl":
                    line.translate(-indent, 0)
            return line, resume_at

        way = _planned_way(linebox, skip_stack, containing_block)
        if way is not None and untouched():
            line, resume_at = lay(way.held, way.widen)
            if way.widen and line is not None and resume_at is not None:
                weasyprint.layout.inline.justify_line(context, line, way.measure - line.width)
            return counted(line, resume_at)
        try:
            kept = _laid_ahead.pop(linebox, None)
            if kept is not None and kept[0] == (repr(skip_stack), position_y,
                                                containing_block.width, held) \
                    and not indent and not any(rest):
                line, resume_at = kept[1], kept[2]
            else:
                line, resume_at = lay(held)
            hyphenated = not held and _ends_in_a_hyphen(line, auto_only=True)
            if hyphenated and untouched() and _is_short_last(*after(line, resume_at)):
                line, resume_at = lay(held=True)  # the word goes down whole
            if untouched() and _is_loose(line, resume_at):
                line, resume_at = _tighter(lambda widen: lay(held, widen), context, line) \
                    or (line, resume_at)
            if untouched() and resume_at is not None and _justifies(linebox):
                line, resume_at = _judged_by_the_next(line, resume_at, lay, after, held,
                                                      context)
                _, laid_next, clean = following[id(line)]
                if clean:
                    _laid_ahead[linebox] = (ahead_key(line, resume_at), *laid_next)
        finally:
            _hyphens_held[0] = False
        return counted(line, resume_at)
    return get_next_linebox


def _judged_by_the_next(line: Any, resume_at: Any, lay: Any, after: Any, held: bool,
                        context: Any) -> Laid:
    """The line as laid out, unless the next would come out loose: then the first other way of
    setting it (its hyphenated word sent down whole, its last word sent down, more of the text
    taken in) that leaves neither loose and ends no paragraph on a short fragment."""
    if not _is_loose(*after(line, resume_at)):
        return line, resume_at
    tries = []
    if not held and _ends_in_a_hyphen(line, auto_only=True):
        tries.append(lambda: lay(True))
    tries.append(lambda: _shorter(lambda widen: lay(held, widen), context, line))
    tries.append(lambda: _tighter(lambda widen: lay(held, widen), context, line))
    for attempt in tries:
        other = attempt()
        if other is None or other[0] is None or repr(other[1]) == repr(resume_at) \
                or _is_loose(*other) or (held and _ends_in_a_hyphen(other[0])):
            continue
        laid_next = after(*other)
        if _is_loose(*laid_next) or \
                (_ends_in_a_hyphen(other[0], auto_only=True) and _is_short_last(*laid_next)):
            continue
        return other  # type: ignore[no-any-return]
    return line, resume_at


def _first_line(original: Any) -> Any:
    """Two mends to WeasyPrint's splitting of a run of text at the end of a line:
    - No word hyphenated on a line after MAX_HYPHENATED_LINES hyphenated ones (see above).
    - A run that fits but for its trailing space (text before a link or an index mark ends in
      one) was taken for one that does not fit at all, and WeasyPrint kept only its first
      word on the line: "encing / consistent geopolitical tensions …", or, justified, a line
      with word spaces 5.8 em wide in the bundled book. A trailing space is dropped at a line's
      end, so such a run is laid out whole; the line layout then finds that it fits without
      its space, as it does for a run that fits outright. (Worth sending upstream: measure the
      first line without its collapsible trailing spaces in split_first_line's step 2.)"""
    def split(text: str, style: Any, context: Any, max_width: float | None,
              justification_spacing: float, *rest: Any, **named: Any) -> Any:
        held = _hyphens_held[0] and style["hyphens"] == "auto"
        if held:
            style["hyphens"] = "manual"  # for this one call: the style is the paragraph's
        try:
            result = original(text, style, context, max_width, justification_spacing, *rest,
                              **named)
            if result[2] is not None and max_width is not None and max_width != inf \
                    and text.endswith(" ") and style["white_space"] in ("normal", "pre-line"):
                stripped = text.rstrip(" ")
                whole = original(stripped, style, context, max_width, justification_spacing,
                                 *rest, **named)
                if whole[2] is None and whole[3] <= max_width:
                    return original(text, style, context, inf, justification_spacing, *rest,
                                    **named)
            return result
        finally:
            if held:
                style["hyphens"] = "auto"
    return split


_raw_next_linebox = weasyprint.layout.inline.get_next_linebox
weasyprint.layout.inline.get_next_linebox = _line_layout(_raw_next_linebox)
weasyprint.layout.inline.split_first_line = _first_line(
    weasyprint.layout.inline.split_first_line)


# --- total fit: a paragraph that greedy breaking leaves loose is broken as a whole ----------

@dataclass(frozen=True)
class _Way:
    """How one line of a planned paragraph is set: its hyphens held or not, laid out in a
    measure `widen` wider (0: as WeasyPrint lays it; else set flush left) and justified to
    `measure`."""
    held: bool
    widen: float
    measure: float


# For each paragraph's line box: the measure it was judged in and, if greedy breaking left a
# line loose, the planned way of setting the line that starts at each position (by repr).
_plans: weakref.WeakKeyDictionary[Any, tuple[float, dict[str, _Way] | None]] = \
    weakref.WeakKeyDictionary()

# A paragraph longer than this (in lines) keeps its greedy breaks: the plan's search grows
# with it, and such a paragraph (a long quotation, a list set as one) is rare.
MAX_PLANNED_LINES = 80
# Demerits, after TeX's: a line ending in a hyphen, one breaking a rule (a loose line, a
# third hyphen in a row, a paragraph ending in a short fragment).
HYPHEN_DEMERITS = 50 ** 2
RULE_DEMERITS = 10 ** 8


def _planned_way(linebox: Any, skip_stack: Any, containing_block: Any) -> _Way | None:
    plan = _plans.get(linebox)
    if plan is None or plan[1] is None or plan[0] != containing_block.width:
        return None
    return plan[1].get(repr(skip_stack))


def _line_demerits(stretch_em: float, hyphenated: bool) -> float:
    """TeX's demerits for a line whose word spaces stretch by `stretch_em` (shrink if
    negative): (10 + badness)², badness 100 at the loose limit or the most shrink allowed."""
    if stretch_em > LOOSE_STRETCH_EM:
        return RULE_DEMERITS * (1 + stretch_em)
    ratio = stretch_em / LOOSE_STRETCH_EM if stretch_em >= 0 else -stretch_em / MAX_SHRINK_EM
    return (10 + 100 * abs(ratio) ** 3) ** 2 + (HYPHEN_DEMERITS if hyphenated else 0)


def _demerits(line: Any, resume_at: Any, count: int) -> tuple[float, int]:
    """A line's demerits, set after `count` lines in a row that end in a hyphen, and the count
    after it."""
    if resume_at is None:  # the last line: no stretch, but not a short fragment
        return (RULE_DEMERITS if count and _is_short_last(line, resume_at) else 0.0), 0
    hyphen = _ends_in_a_hyphen(line)
    demerits = _line_demerits(_stretch_em(line), hyphen)
    if hyphen and count >= MAX_HYPHENATED_LINES:
        demerits += RULE_DEMERITS
    return demerits, count + 1 if hyphen else 0


def _plan(context: Any, box: Any, position_y: float, bottom_space: float, skip_stack: Any,
          containing_block: Any, rest: tuple[Any, ...],
          ) -> dict[str, _Way] | None:
    """The ways of setting the paragraph's lines, from `skip_stack` on, with the least
    demerits (Knuth and Plass's total fit), trying for each line WeasyPrint's own break, its
    hyphenated word sent down whole, one or two pieces fewer, and more of the text taken in;
    None if the search runs past MAX_PLANNED_LINES.

    A way no better on its own than the best found so far for its line is not followed
    further (exact: demerits are never negative), and each line's ways are laid out once:
    searched this way, the 200-chapter book's planned paragraphs of 8-10 lines took 74-230
    line layouts each, against 263-585 following every way (the plans had been a fifth of its
    body's layout time). (A search kept to the lines around the loose one, tried and undone,
    took 25-48, but set some paragraphs with more hyphens and a line more.)"""
    if skip_stack is None:
        weasyprint.layout.inline.resolve_one_percentage(box, "text_indent",
                                                        containing_block.width)
    first_indent = box.text_indent if skip_stack is None else 0
    start_count = _hyphen_runs.get(box, {}).get(repr(skip_stack), 0) \
        if skip_stack is not None else 0
    laid_ways: dict[tuple[str, bool, bool], list[tuple[_Way, Any, Any]]] = {}

    def lay(skip: Any, first: bool, held: bool, widen: float) -> Laid:
        return _laid(_raw_next_linebox, context, box, position_y, bottom_space, skip,
                     containing_block, [], [], rest if first else (None, None), held=held,
                     indent=first_indent if first else 0, widen=widen)

    def ways(skip: Any, first: bool, held: bool) -> list[tuple[_Way, Any, Any]]:
        """Each way of setting the line at `skip`: the way, the line and where the next
        resumes; laid out once, however many hyphens in a row lead to it."""
        key = (repr(skip), first, held)
        if key not in laid_ways:
            laid_ways[key] = list(_ways(skip, first, held))
        return laid_ways[key]

    def _ways(skip: Any, first: bool, held: bool) -> Iterator[tuple[_Way, Any, Any]]:
        greedy, resume = lay(skip, first, held, 0.0)
        if greedy is None or resume is None:
            yield _Way(held, 0.0, 0.0), greedy, resume
            return
        measure = greedy.width
        yield _Way(held, 0.0, measure), greedy, resume
        if not held and _ends_in_a_hyphen(greedy, auto_only=True):
            whole, whole_resume = lay(skip, first, True, 0.0)
            if whole is not None:
                yield _Way(True, 0.0, measure), whole, whole_resume
        widened: list[float] = []  # the measure each try below was laid out in

        def lay_widened(widen: float) -> Laid:
            widened.append(widen)
            return lay(skip, first, held, widen)
        shorter = _shorter(lay_widened, context, greedy)
        if shorter is not None:
            yield _Way(held, widened[-1], measure), *shorter
            shorter = _shorter(lay_widened, context, shorter[0])  # one piece fewer again
            if shorter is not None:
                yield _Way(held, widened[-1], measure), *shorter
        tighter = _tighter(lay_widened, context, greedy)
        if tighter is not None:
            yield _Way(held, widened[-1], measure), *tighter

    # (position, hyphens in a row) -> (demerits to the end, way, next position, next count)
    best: dict[tuple[str, int], tuple[float, _Way | None, Any, int]] = {}

    def cost(skip: Any, count: int, first: bool, depth: int) -> float:
        key = (repr(skip), count)
        if key in best:
            return best[key][0]
        if depth > MAX_PLANNED_LINES:
            raise _TooLong
        chosen: tuple[float, _Way | None, Any, int] = (inf, None, None, 0)
        for way, line, resume in ways(skip, first, count >= MAX_HYPHENATED_LINES):
            if line is None:  # past the paragraph's end
                chosen = (0.0, None, None, 0)
                break
            demerits, next_count = _demerits(line, resume, count)
            if demerits >= chosen[0]:  # worse already, whatever follows it
                continue
            if resume is not None:
                demerits += cost(resume, next_count, False, depth + 1)
            if demerits < chosen[0]:
                chosen = (demerits, way, resume, next_count)
        best[key] = chosen
        return chosen[0]

    try:
        cost(skip_stack, start_count, skip_stack is None, 0)
    except _TooLong:
        return None
    plan: dict[str, _Way] = {}
    key: tuple[str, int] = (repr(skip_stack), start_count)
    while key in best and best[key][1] is not None:
        _, way, resume, count = best[key]
        plan[key[0]] = way  # type: ignore[assignment]
        if resume is None:
            break
        key = (repr(resume), count)
    return plan


class _TooLong(Exception):
    """The paragraph is longer than MAX_PLANNED_LINES: it keeps its greedy breaks."""


def _needs_planning(lines: list[Laid]) -> bool:
    """Whether a line came out loose, or more than MAX_HYPHENATED_LINES in a row end in a
    hyphen (a third can end in one the author typed)."""
    run = 0
    for line, resume_at in lines:
        if _is_loose(line, resume_at):
            return True
        run = run + 1 if _ends_in_a_hyphen(line) else 0
        if run > MAX_HYPHENATED_LINES:
            return True
    return False


# The lines of the paragraphs last laid out whole (by id: the box, its measure, the left edge
# it was laid out at, its lines, and where they start if they may be used from there again): a
# page may break one, and its rest is then used on the next page as it was laid out, moved
# there, instead of being laid out again.
_kept_lines: dict[int, tuple[Any, float, float, list[Laid], str | None]] = {}
KEPT_PARAGRAPHS = 16  # a page's last paragraph, and the notes laid out after it
# Multi-column text (the index) is laid out twice a page, once to learn whether it fits and then
# in its columns, so its paragraphs are kept whole for the second time: two pages' worth.
KEPT_IN_COLUMNS = 1024


def _lines_kept(box: Any, skip_stack: Any, containing_block: Any,
                context: Any) -> tuple[list[Laid], float]:
    """The kept lines of the paragraph after the one that ends at `skip_stack` (or all of
    them, if they were kept from there: `--chapbook-keep-lines`), if it was laid out whole in
    this measure and no float on this page would shape its lines otherwise; and the left edge
    they were laid out at."""
    kept = _kept_lines.get(id(box))
    if kept is None or kept[0] is not box or kept[1] != containing_block.width \
            or context.excluded_shapes:
        return [], 0.0
    key = repr(skip_stack)
    lines: list[Laid] = []
    if key == kept[4]:
        lines = kept[3]
    elif skip_stack is not None:
        for number, (_, resume_at) in enumerate(kept[3]):
            if repr(resume_at) == key:
                lines = kept[3][number + 1:]
                break
    if kept[4] is not None:  # copies: lines kept in columns may stand in a column already
        lines = [(line.deepcopy() if line is not None else None, resume_at)
                 for line, resume_at in lines]
    return lines, kept[2]


def forget_kept_lines() -> None:
    """Let a laid-out document's kept lines go: they hold its boxes."""
    _kept_lines.clear()


def _keeps_lines(box: Any) -> bool:
    """`--chapbook-keep-lines: yes` (inherited): the box's lines, once laid out, are used again
    wherever the same paragraph is laid out from the same place in the same measure."""
    return any(getattr(token, "value", None) == "yes"
               for token in box.style["__chapbook_keep_lines"])


def _kept_whole(original: Any, context: Any, box: Any, position_y: float, bottom_space: float,
                skip_stack: Any, containing_block: Any, absolute_boxes: list[Any],
                fixed_boxes: list[Any], rest: tuple[Any, ...]) -> Any:
    """The paragraph's lines laid out whole from `skip_stack` and kept (if nothing but the
    lines came of it: no float, positioned box or note), then given out one by one."""
    shapes, absolutes, fixeds = list(context.excluded_shapes), [], []
    notes = len(context.current_page_footnotes)
    left = box.position_x
    lines = list(original(context, box, position_y, bottom_space, skip_stack, containing_block,
                          absolutes, fixeds, *rest))
    if absolutes or fixeds or len(context.excluded_shapes) != len(shapes) \
            or len(context.current_page_footnotes) != notes:
        absolute_boxes += absolutes
        fixed_boxes += fixeds
    else:
        _kept_lines[id(box)] = (box, containing_block.width, left, lines, repr(skip_stack))
        while len(_kept_lines) > KEPT_IN_COLUMNS:
            del _kept_lines[next(iter(_kept_lines))]
    yield from lines


def _total_fit(original: Any) -> Any:
    """Knuth and Plass's total fit, for the justified paragraphs that need it: a paragraph is
    first laid out as WeasyPrint and the mends above set it, line by line; if a line comes
    out loose, or a third in a row ends in a hyphen, the paragraph's breaks are planned as a
    whole (_plan) and its lines laid out again to the plan. Most paragraphs need no plan, and
    their lines, laid out once, are used as they are, on the next page too if a page breaks
    the paragraph."""
    def iter_line_boxes(context: Any, box: Any, position_y: float, bottom_space: float,
                        skip_stack: Any, containing_block: Any, absolute_boxes: list[Any],
                        fixed_boxes: list[Any], *rest: Any) -> Any:
        known = _plans.get(box)
        if not _justifies(box) or (known is not None and known[0] == containing_block.width):
            laid, left = _lines_kept(box, skip_stack, containing_block, context)
            if laid:  # the rest of a paragraph a page broke, as laid out on the page before,
                # moved to this page's text block (a verso's margins are not a recto's)
                across, down = box.position_x - left, position_y - laid[0][0].position_y
                for line, resume_at in laid:
                    line.translate(across, down)
                    yield line, resume_at
                return
            if _keeps_lines(box) and not context.excluded_shapes:
                yield from _kept_whole(original, context, box, position_y, bottom_space,
                                       skip_stack, containing_block, absolute_boxes,
                                       fixed_boxes, rest)
                return
            yield from original(context, box, position_y, bottom_space, skip_stack,
                                containing_block, absolute_boxes, fixed_boxes, *rest)
            return
        shapes, absolutes, fixeds = list(context.excluded_shapes), [], []
        left = box.position_x
        lines = list(original(context, box, position_y, bottom_space, skip_stack,
                              containing_block, absolutes, fixeds, *rest))
        clean = not absolutes and not fixeds and len(context.excluded_shapes) == len(shapes)
        if clean and not _needs_planning(lines):
            _plans[box] = (containing_block.width, None)
            _kept_lines[id(box)] = (box, containing_block.width, left, lines, None)
            while len(_kept_lines) > KEPT_PARAGRAPHS:
                del _kept_lines[next(iter(_kept_lines))]
            yield from lines
            return
        context.excluded_shapes = shapes
        if clean:
            _plans[box] = (containing_block.width, _plan(
                context, box, position_y, bottom_space, skip_stack, containing_block, rest))
        yield from original(context, box, position_y, bottom_space, skip_stack,
                            containing_block, absolute_boxes, fixed_boxes, *rest)
    return iter_line_boxes


# --- display type balanced: `--chapbook-text-wrap: balance` --------------------------------

# How close the balanced measure comes to the narrowest that keeps the line count, in CSS px.
BALANCE_PRECISION = 1.0


def _balanced(original: Any) -> Any:
    """CSS's `text-wrap: balance`, which WeasyPrint lacks, for the boxes styled with the custom
    property `--chapbook-text-wrap: balance` (display type: titles, subtitles, openers): their
    lines are laid out in the narrowest measure that keeps their number, found by bisection,
    and set where the full measure would align them. A title of two lines then breaks near its
    middle, never leaving one word below ("... of the New / Constitution"). A paragraph that
    crosses a page is laid out as WeasyPrint lays it out."""
    def iter_line_boxes(context: Any, box: Any, position_y: float, bottom_space: float,
                        skip_stack: Any, containing_block: Any, absolute_boxes: list[Any],
                        fixed_boxes: list[Any], *rest: Any) -> Any:
        wrap = box.style["__chapbook_text_wrap"]  # a custom property's tokens ([] if unset)
        if skip_stack is not None or \
                not any(getattr(token, "value", None) == "balance" for token in wrap):
            yield from original(context, box, position_y, bottom_space, skip_stack,
                                containing_block, absolute_boxes, fixed_boxes, *rest)
            return
        full = containing_block.width

        def lines_at(width: float) -> list[Any]:
            shapes = list(context.excluded_shapes)
            containing_block.width = width
            try:
                return list(original(context, box, position_y, bottom_space, None,
                                     containing_block, [], [], *rest))
            finally:
                containing_block.width = full
                context.excluded_shapes = shapes

        laid = lines_at(full)
        count = len(laid)
        if count < 2 or laid[-1][1] is not None:
            yield from original(context, box, position_y, bottom_space, skip_stack,
                                containing_block, absolute_boxes, fixed_boxes, *rest)
            return
        narrow, wide = full / count, full  # the narrowest keeping `count` lines is in between
        while wide - narrow > BALANCE_PRECISION:
            middle = (narrow + wide) / 2
            if len(lines_at(middle)) == count:
                wide = middle
            else:
                narrow = middle
        containing_block.width = wide
        try:
            lines = list(original(context, box, position_y, bottom_space, None,
                                  containing_block, absolute_boxes, fixed_boxes, *rest))
        finally:
            containing_block.width = full
        rtl = box.style["direction"] == "rtl"
        align = box.style["text_align_all"]
        shift = {"center": 0.5, "right": 1.0, "left": 0.0,
                 "end": 0.0 if rtl else 1.0}.get(align, 1.0 if rtl else 0.0)
        for line, resume_at in lines:
            line.translate((full - wide) * shift, 0)
            yield line, resume_at
    return iter_line_boxes


weasyprint.layout.block.iter_line_boxes = _balanced(
    _total_fit(weasyprint.layout.inline.iter_line_boxes))


# --- WeasyPrint's leaders: clear of the title, never fewer than three dots ---------------------

# The least space between a title's last character and its leader's first dot, in ems.
LEADER_GAP_EM = 0.3


def _leader_and_its_box(box: Any) -> tuple[Any, Any]:
    """The first leader box in the line, and the box holding it."""
    for child in getattr(box, "children", ()):
        if getattr(child, "is_leader", False):
            return child, box
        if isinstance(child, boxes.ParentBox):
            found = _leader_and_its_box(child)
            if found[0] is not None:
                return found
    return None, None


def _leaders(original: Any) -> Any:
    """WeasyPrint sets a leader's dots on a grid from the line's end and drops any that would
    start before the leader box, so the first dot may stand against the title ("Considered..
    . . .") and, on a full line, one dot may be all there is. The box holding the leader (the
    contents' ::after) reserves room for three dots with its left padding, so a title that
    leaves less wraps; here the grid is carried on into that padding, to LEADER_GAP_EM from the
    title. Right to left, all of it mirrored: the room is the right padding, and dots set within
    LEADER_GAP_EM of the title are taken away. (Worth sending upstream as a minimum leader
    length.)"""
    def handle_leader(context: Any, line: Any, containing_block: Any) -> None:
        leader, holder = _leader_and_its_box(line)
        pattern = leader.children[0] if leader is not None and leader.children else None
        original(context, line, containing_block)
        if pattern is None:
            return
        step = pattern.width
        if line.style["direction"] == "rtl":  # mirrored: the title on the right, its room too
            inside = {id(box) for box in holder.descendants()}
            title = [box.position_x for box in line.descendants()
                     if isinstance(box, boxes.TextBox) and id(box) not in inside
                     and box.text.strip()]
            if not title:
                return
            end = min(title) - LEADER_GAP_EM * holder.style["font_size"]
            kept = [dot for dot in leader.children if dot.position_x + dot.width <= end]
            x = max(dot.position_x for dot in kept) + step if kept else leader.position_x
            while holder.padding_right and x + step <= end:
                dot = pattern.copy()
                dot.position_x = x
                dot.position_y = pattern.position_y
                kept.append(dot)
                x += step
            leader.children = tuple(kept)
            return
        if not holder.padding_left:
            return
        # the grid's next step left of the leftmost dot set; with none, its last step that
        # ends before what follows the leader (the page number)
        if leader.children:
            x = min(dot.position_x for dot in leader.children) - step
        else:
            x = line.position_x + line.width - step
            while x + step > leader.position_x + leader.width:
                x -= step
        start = holder.position_x + holder.margin_left + holder.border_left_width \
            + LEADER_GAP_EM * holder.style["font_size"]
        added = []
        while x >= start:
            dot = pattern.copy()
            dot.position_x = x
            dot.position_y = pattern.position_y
            added.append(dot)
            x -= step
        leader.children = (*reversed(added), *leader.children)
    return handle_leader


weasyprint.layout.inline.handle_leader = _leaders(weasyprint.layout.inline.handle_leader)


# --- WeasyPrint's page breaking: a note kept with its call under `footnote-policy: line` ------

def _notes_stay_with_their_calls() -> None:
    """When a line overflows the page where its paragraph may not break (orphans, widows),
    WeasyPrint makes room by moving the page's last notes to the next page, whatever their
    `footnote-policy`: 33 notes of a 290-page book were printed a page after their call. A note
    whose policy is `line` now stays; the paragraph breaks before the line instead, as it
    would have without the notes. The loop is edited in WeasyPrint's own source (one line,
    checked) and compiled into its module, which calls it. (Worth sending upstream: honour
    footnote-policy in _linebox_layout's reporting loop.)"""
    import inspect
    import textwrap

    block = weasyprint.layout.block
    source = textwrap.dedent(inspect.getsource(block._linebox_layout))
    loop = "while report and context.current_page_footnotes:"
    kept = ("while report and context.current_page_footnotes and "
            "context.current_page_footnotes[-1].style['footnote_policy'] == 'auto':")
    if source.count(loop) != 1:
        raise ImportError("WeasyPrint's _linebox_layout is not the one layout/compat.py edits")
    exec(compile(source.replace(loop, kept), block.__file__, "exec"), block.__dict__)


_notes_stay_with_their_calls()


# --- deflating at zlib's default level -------------------------------------------------------

class _DeflatingAtTheDefaultLevel:
    """pydyf deflates every stream at zlib's level 9: on the bundled booklet's pages and fonts,
    0.08 s against 0.02 s at zlib's default level (6), for 2.5% fewer bytes. The default here;
    pydyf asks the module for `compressobj(level=9)` and `compress` and nothing else."""

    compress = staticmethod(zlib.compress)

    @staticmethod
    def compressobj(level: int = zlib.Z_DEFAULT_COMPRESSION) -> Any:
        return zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION)


pydyf.zlib = _DeflatingAtTheDefaultLevel  # type: ignore[attr-defined]


# --- the tagged PDF: each change of language declared -----------------------------------------

_LANGUAGES: list[str | None] = []  # each structure element's language being built, outermost first


def _declaring_languages(original: Any) -> Any:
    """WeasyPrint's structure tree says the document's language (the catalogue's /Lang) and no
    other, so a screen reader read an Arabic paragraph or a Greek word with the English voice;
    PDF/UA asks for every change of language to be declared (ISO 14289-1, 7.2). An element whose
    `lang` differs from the one around it now carries it as /Lang. The builder calls itself for
    each child box through the module, so this sees every box, innermost last. (Worth sending
    upstream: add /Lang in _build_box_tree.)"""
    from weasyprint.layout.absolute import AbsolutePlaceholder

    def build_box_tree(box: Any, parent: Any, *rest: Any) -> Iterator[Any]:
        source = box._box if isinstance(box, AbsolutePlaceholder) else box
        element = source.element
        around = _LANGUAGES[-1] if _LANGUAGES else None
        language = element.get("lang") if element is not None else None
        declared = (language is not None and language != around
                    and source.element_tag not in ("html", "body")
                    and not isinstance(source, boxes.PageBox))
        _LANGUAGES.append(language or around)
        try:
            for made in original(box, parent, *rest):
                if declared and made is not parent:
                    made["Lang"] = pydyf.String(language)
                yield made
        finally:
            _LANGUAGES.pop()
    return build_box_tree


weasyprint.pdf.tags._build_box_tree = _declaring_languages(weasyprint.pdf.tags._build_box_tree)


# --- the tagged PDF: running heads and folios are pagination artifacts -------------------------

# An artifact's properties: pagination (running heads, folios), as ISO 32000-1 14.8.2.2 names it
_PAGINATION = pydyf.Dictionary({"Type": "/Pagination"})


def _margins_as_artifacts(original: Any) -> Any:
    """WeasyPrint 70 tags the content of margin boxes (running heads, folios) and leaves their
    structure elements out of the structure tree ("only allowed in PDF 2.0", says its source),
    which PDF/UA-1 checkers flag as tagged content that belongs nowhere. A margin box is drawn
    here as one pagination artifact instead, its text untagged (the stream's tags are set aside
    while it is drawn), so assistive technology neither reads nor misses it. (Once done
    afterwards with pikepdf, which cost a reading of the whole PDF and 12 MiB.)"""
    def draw_stacking_context(stream: Any, stacking_context: Any) -> None:
        tags = getattr(stream, "_tags", None)
        if tags is None or not isinstance(stacking_context.box, boxes.MarginBox):
            return original(stream, stacking_context)
        pydyf.Stream.begin_marked_content(stream, "Artifact", _PAGINATION)
        stream._tags = None
        try:
            original(stream, stacking_context)
        finally:
            stream._tags = tags
            pydyf.Stream.end_marked_content(stream)
    return draw_stacking_context


def _margins_untagged(original: Any) -> Any:
    """The structure tree built without the margin boxes, whose content is an artifact
    (_margins_as_artifacts): WeasyPrint made orphaned structure elements of it."""
    def build_box_tree(box: Any, parent: Any, *rest: Any) -> Iterator[Any]:
        if isinstance(box, boxes.MarginBox):
            return iter(())
        return original(box, parent, *rest)
    return build_box_tree


weasyprint.draw.draw_stacking_context = _margins_as_artifacts(
    weasyprint.draw.draw_stacking_context)
weasyprint.pdf.tags._build_box_tree = _margins_untagged(weasyprint.pdf.tags._build_box_tree)
