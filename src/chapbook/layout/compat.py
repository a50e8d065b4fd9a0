"""Every place chapbook reaches past WeasyPrint's public API, in one module, checked against the
versions it was written for (pyproject.toml pins WeasyPrint and pydyf to them). Moving either up
means reading these again: a test for each patch runs the real engine."""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import re
import sys
from collections.abc import Iterator
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



# --- WeasyPrint's line layout: a right-to-left paragraph's indent at its start ------------------

def _indent_at_start(original: Any) -> Any:
    """WeasyPrint lays a line's boxes out left to right from the indent and then moves a
    right-to-left line to the right edge, so the first line's `text-indent` lands at its end
    (the left) and an Arabic paragraph reads as not indented at all. The first line of such a
    paragraph is moved back by the indent, which puts the gap at its start, on the right.
    (Worth sending upstream: offset a right-to-left line from the right edge by the indent.)"""
    def get_next_linebox(context: Any, linebox: Any, position_y: float, bottom_space: float,
                         skip_stack: Any, containing_block: Any, *rest: Any) -> Any:
        indent = linebox.text_indent
        line, resume_at = original(context, linebox, position_y, bottom_space, skip_stack,
                                   containing_block, *rest)
        if line is not None and indent and containing_block.style["direction"] == "rtl":
            line.translate(-indent, 0)
        return line, resume_at
    return get_next_linebox


weasyprint.layout.inline.get_next_linebox = _indent_at_start(
    weasyprint.layout.inline.get_next_linebox)


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
