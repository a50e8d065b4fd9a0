"""Every place chapbook reaches past WeasyPrint's public API, in one module, checked against the
versions it was written for (pyproject.toml pins WeasyPrint and pydyf to them). Moving either up
means reading these again: a test for each patch runs the real engine."""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import re
import sys
import weakref
from collections.abc import Iterator
from math import inf
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
import weasyprint  # noqa: E402
import weasyprint.layout.block  # noqa: E402
import weasyprint.layout.inline  # noqa: E402
import weasyprint.pdf  # noqa: E402
from weasyprint import Page  # noqa: E402
from weasyprint.formatting_structure import boxes  # noqa: E402

TESTED = {"weasyprint": "70.", "pydyf": "0.13."}
if not weasyprint.__version__.startswith(TESTED["weasyprint"]) or \
        not pydyf.__version__.startswith(TESTED["pydyf"]):
    raise ImportError(f"chapbook was written for WeasyPrint {TESTED['weasyprint']}x and pydyf "
                      f"{TESTED['pydyf']}x, not {weasyprint.__version__} and "
                      f"{pydyf.__version__}: reinstall chapbook to get the versions it pins")


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


def _next_line(original: Any, line: Any, resume_at: Any, context: Any, linebox: Any,
               position_y: float, bottom_space: float, containing_block: Any, *rest: Any,
               held: bool = False) -> tuple[Any, Any]:
    """The line after this one, laid out to see it (its hyphens held if `held`), with nothing it
    places kept."""
    indent, linebox.text_indent = linebox.text_indent, 0  # the next line has none
    shapes = list(context.excluded_shapes)
    was_held, _hyphens_held[0] = _hyphens_held[0], held
    try:
        return original(context, linebox, position_y + line.height, bottom_space, resume_at,  # type: ignore[no-any-return]
                        containing_block, [], [], *rest)
    finally:
        _hyphens_held[0] = was_held
        linebox.text_indent = indent
        context.excluded_shapes = shapes


def _leaves_a_short_last_line(original: Any, line: Any, resume_at: Any, *laying: Any) -> bool:
    """Whether the line after this hyphenated one would end the paragraph holding nothing but
    the rest of the word, under MIN_LAST_FRAGMENT letters."""
    if resume_at is None:
        return False
    after, after_resume = _next_line(original, line, resume_at, *laying)
    if after is None or after_resume is not None:
        return False
    text = "".join(box.text for box in after.descendants()
                   if isinstance(box, boxes.TextBox)).strip()
    return " " not in text and sum(c.isalpha() for c in text) < MIN_LAST_FRAGMENT


def _leaves_a_loose_line(original: Any, line: Any, resume_at: Any, *laying: Any) -> bool:
    """Whether the line after this one, which may not hyphenate (this one would be the last
    hyphenated line a run allows), would come out loose."""
    if resume_at is None:
        return False
    return _is_loose(*_next_line(original, line, resume_at, *laying, held=True))


def _line_layout(original: Any) -> Any:
    """Mends to WeasyPrint's line layout, one line at a time:
    - WeasyPrint lays a line's boxes out left to right from the indent and then moves a
      right-to-left line to the right edge, so the first line's `text-indent` lands at its end
      (the left) and an Arabic paragraph reads as not indented. Such a line is moved back by the
      indent, which puts the gap at its start, on the right.
    - WeasyPrint hyphenates every line that can be: a 60-chapter book had runs of up to five
      lines ending in a hyphen (a ladder, which a typesetter marks). After two, the next line
      is broken between words (CSS's hyphenate-limit-lines, which WeasyPrint lacks); nor is a
      word hyphenated when its end would be all of the paragraph's last line and shorter than
      MIN_LAST_FRAGMENT letters.
    - WeasyPrint breaks lines greedily and only ever stretches word spaces: a justified line
      that comes out loose is laid out again, allowed to shrink its spaces a little to take
      more of the text (_tighter); and the second hyphenated line of a run is broken between
      words instead when the line after it, which may not hyphenate, would come out loose.
    (All worth sending upstream.)"""
    def get_next_linebox(context: Any, linebox: Any, position_y: float, bottom_space: float,
                         skip_stack: Any, containing_block: Any, absolute_boxes: list[Any],
                         fixed_boxes: list[Any], *rest: Any) -> Any:
        indent = linebox.text_indent
        runs = _hyphen_runs.setdefault(linebox, {})
        before = runs.get(repr(skip_stack), 0) if skip_stack is not None else 0
        placed = (len(absolute_boxes), len(fixed_boxes), len(context.excluded_shapes))

        def lay(held: bool) -> tuple[Any, Any]:
            """The line laid out (again: what an earlier try placed is taken back)."""
            del absolute_boxes[placed[0]:], fixed_boxes[placed[1]:]
            _hyphens_held[0] = held
            return original(context, linebox, position_y, bottom_space,  # type: ignore[no-any-return]
                            skip_stack, containing_block, absolute_boxes, fixed_boxes, *rest)

        try:
            line, resume_at = lay(before >= MAX_HYPHENATED_LINES)
            laying = (context, linebox, position_y, bottom_space, containing_block, *rest)
            hyphenated = not _hyphens_held[0] and _ends_in_a_hyphen(line, auto_only=True)
            short = hyphenated and _leaves_a_short_last_line(original, line, resume_at, *laying)
            ahead = hyphenated and not short and before == MAX_HYPHENATED_LINES - 1 and \
                _leaves_a_loose_line(original, line, resume_at, *laying)
            if short or ahead:
                # the word goes down whole: no short last line, or the next line may hyphenate
                whole, whole_resume = lay(held=True)
                if ahead and _is_loose(whole, whole_resume) and not _is_loose(line, resume_at):
                    whole, whole_resume = lay(held=False)  # this one would be loose: keep it
                line, resume_at = whole, whole_resume
            if placed == (len(absolute_boxes), len(fixed_boxes),
                          len(context.excluded_shapes)) and _is_loose(line, resume_at):
                line, resume_at = _tighter(original, line, resume_at, context, linebox,
                                           position_y, bottom_space, skip_stack,
                                           containing_block, absolute_boxes, fixed_boxes,
                                           *rest)
        finally:
            _hyphens_held[0] = False
        if line is not None:
            runs[repr(resume_at)] = before + 1 if _ends_in_a_hyphen(line) else 0
            if indent and containing_block.style["direction"] == "rtl":
                line.translate(-indent, 0)
        return line, resume_at
    return get_next_linebox


# A justified line whose word spaces stretch past this (in ems, beyond the space itself, about
# 0.29 em in Charis SIL) is loose: about 0.8 em from word to word, which a typesetter marks.
LOOSE_STRETCH_EM = 0.5
# How much a word space may shrink (in ems) for the line to take more of the text instead, as
# TeX lets its spaces shrink by about a third.
MAX_SHRINK_EM = 0.09


def _spaces(line: Any) -> int:
    return weasyprint.layout.inline.count_expandable_spaces(line)  # type: ignore[no-any-return]


def _is_loose(line: Any, resume_at: Any) -> bool:
    """A justified line, not a paragraph's last, left to right, with its spaces stretched past
    LOOSE_STRETCH_EM."""
    if line is None or resume_at is None or line.style["text_align_all"] != "justify" \
            or line.style["direction"] != "ltr":
        return False
    stretched = [box.justification_spacing / box.style["font_size"]
                 for box in line.descendants()
                 if isinstance(box, boxes.TextBox) and box.style["font_size"]]
    return bool(stretched) and max(stretched) > LOOSE_STRETCH_EM


def _tighter(original: Any, line: Any, resume_at: Any, context: Any, linebox: Any,
             position_y: float, bottom_space: float, skip_stack: Any, containing_block: Any,
             absolute_boxes: list[Any], fixed_boxes: list[Any], *rest: Any) -> Any:
    """The loose line again, its measure widened by what its spaces may shrink and set flush
    left: if it then takes more of the text and fits the measure with spaces shrunk by no more
    than MAX_SHRINK_EM, it is justified to the measure with those tighter spaces (WeasyPrint's
    own justification, given a negative amount); else the loose line stands."""
    size = linebox.style["font_size"]
    allowance = _spaces(line) * MAX_SHRINK_EM * size
    measure = line.width  # the justified line fills the measure
    style = linebox.style
    containing_block.width += allowance
    style["text_align_all"] = "start"
    try:
        wider, wider_resume = original(context, linebox, position_y, bottom_space, skip_stack,
                                       containing_block, absolute_boxes, fixed_boxes, *rest)
    finally:
        containing_block.width -= allowance
        style["text_align_all"] = "justify"
    spaces = _spaces(wider) if wider is not None else 0
    if wider is None or wider_resume is None or not spaces or wider.width <= measure \
            or wider.width - measure > spaces * MAX_SHRINK_EM * size:
        return line, resume_at
    weasyprint.layout.inline.justify_line(context, wider, measure - wider.width)
    return wider, wider_resume


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


weasyprint.layout.inline.get_next_linebox = _line_layout(
    weasyprint.layout.inline.get_next_linebox)
weasyprint.layout.inline.split_first_line = _first_line(
    weasyprint.layout.inline.split_first_line)


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


weasyprint.layout.block.iter_line_boxes = _balanced(weasyprint.layout.inline.iter_line_boxes)


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
