"""layout/compat.py loads WeasyPrint without its library searches: the same C libraries must end
up loaded as when WeasyPrint loads them itself, and the standard library is left as it was."""

from __future__ import annotations

import subprocess
import sys

import pytest

# The shared libraries a process has mapped, by file name, after the import given.
PROBE = """
import ctypes.util, sys
searched = []
def search(name, real=ctypes.util.find_library):
    searched.append(name)
    return real(name)
ctypes.util.find_library = search
{import_}
libraries = sorted({{line.split()[-1].rsplit("/", 1)[-1] for line in open("/proc/self/maps")
                     if ".so" in line.split()[-1]}})
print(ctypes.util.find_library is search, len(searched))
print("\\n".join(libraries))
"""


def _loaded(import_: str) -> tuple[bool, int, list[str]]:
    """Whether find_library is as it was after the import, how often it ran, and the shared
    libraries loaded."""
    result = subprocess.run([sys.executable, "-c", PROBE.format(import_=import_)],
                            capture_output=True, text=True, timeout=120, check=True)
    first, *libraries = result.stdout.splitlines()
    restored, searches = first.split()
    return restored == "True", int(searches), libraries


@pytest.mark.skipif(sys.platform != "linux", reason="the quick load applies on Linux only")
def test_weasyprint_loads_the_same_libraries_without_searching_for_them() -> None:
    restored, quick_searches, quick = _loaded("import chapbook.layout.compat")
    _, usual_searches, usual = _loaded("import weasyprint")
    assert restored  # find_library is the standard library's again
    # WeasyPrint alone searches for most names it tries; chapbook only for an optional library
    # the loader did not find (HarfBuzz's vector library, absent from older HarfBuzz)
    assert usual_searches > 10 and quick_searches <= 2, (usual_searches, quick_searches)
    for library in ("libpango-1.0", "libharfbuzz.so", "libharfbuzz-subset", "libfontconfig",
                    "libgobject-2.0", "libpangoft2-1.0"):
        assert any(name.startswith(library) for name in usual), library
    weasyprints = ("libpango", "libharfbuzz", "libfontconfig", "libgobject", "libglib")
    assert [name for name in quick if name.startswith(weasyprints)] == \
        [name for name in usual if name.startswith(weasyprints)]


@pytest.mark.parametrize("direction", ["rtl", "ltr"])
def test_a_paragraphs_indent_stands_at_its_start_in_either_direction(direction: str) -> None:
    """The first line's indent is at the right of a right-to-left paragraph (WeasyPrint alone
    puts it at the left, its end) and at the left of a left-to-right one, justified or not."""
    import re

    import weasyprint

    import chapbook.layout.compat  # noqa: F401  (its patches apply on import)

    words = " ".join(["كلمة"] * 60 if direction == "rtl" else ["word"] * 60)
    html = (f'<html dir="{direction}"><style>@page {{ size: 400pt 600pt; margin: 50pt }}'
            "body { margin: 0 } p { margin: 0; text-indent: 40pt; font-size: 10pt }"
            ".j { text-align: justify }"
            f'</style><p class="j">FIRST {words}</p><p>SECOND {words}</p></html>')
    pdf = weasyprint.HTML(string=html).write_pdf()
    boxes = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True,
                           check=True).stdout.decode()
    for label in ("FIRST", "SECOND"):
        x_min, x_max = (float(v) for v in re.search(
            rf'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>{label}<', boxes).groups())
        if direction == "rtl":  # the paragraph's first word, at its start: the right
            assert 350 - x_max == pytest.approx(40, abs=4), (label, x_max)
        else:
            assert x_min - 50 == pytest.approx(40, abs=1), (label, x_min)


# Writes a small PDF in several faces with chapbook's C types, then with WeasyPrint's own ffi.
TYPES_PROBE = """
import re, sys
from chapbook.layout import compat
import weasyprint, weasyprint.pdf.fonts
from weasyprint.text.ffi import ffi
compat.parse_c_types()
parsed = set(ffi._parsed_types)
html = weasyprint.HTML(string='<p style="font-family: serif">Words in a serif face, 0123.</p>'
                       '<p style="font-family: sans-serif"><b>Bold</b> and <i>italic</i>.</p>')
sized = re.compile(r"hb_codepoint_t\\[\\d+\\]")
ours = html.render().write_pdf()
print(sorted(key for key in ffi._parsed_types if key not in parsed))
weasyprint.pdf.fonts.ffi = ffi
theirs = html.render().write_pdf()
print(sum(1 for key in ffi._parsed_types if sized.fullmatch(key)))
print(ours == theirs)
"""


def test_weasyprint_writes_a_pdf_without_parsing_a_c_type_chapbook_has_not() -> None:
    """Every C type WeasyPrint names as it lays out and writes a PDF is parsed once, before the
    layout workers are forked (compat.parse_c_types), and its font subsets' arrays, whose
    types name their lengths, are made from one type: each new length parsed cffi's
    declarations again (3-15 ms each, in every worker). The PDF is the one WeasyPrint writes
    with its own ffi, which parses an array type for each length."""
    result = subprocess.run([sys.executable, "-c", TYPES_PROBE], capture_output=True,
                            text=True, timeout=120, check=True)
    new_types, sized_types, same = result.stdout.splitlines()
    assert new_types == "[]"
    assert int(sized_types) >= 2  # (so the comparison below is with arrays of named lengths)
    assert same == "True"


# Parses a page of markup with WeasyPrint's HTML parser after chapbook's import, counting the
# parser's regular expressions; then again with the parser's own cache, for the tree it makes.
PARSER_PROBE = """
import re, types
from xml.etree import ElementTree
from chapbook.layout import compat
import tinyhtml5, tinyhtml5.inputstream as stream
compiled = []
shim = types.SimpleNamespace(**{name: getattr(re, name) for name in dir(re)})
shim.compile = lambda pattern, *rest: compiled.append(pattern) or re.compile(pattern, *rest)
stream.re = compat.re = shim  # (compat makes the patterns for it)
entry = ('<li class="index-entry" id="e{n}"><span class="index-term">term {n}</span>, '
         '<a class="locator" href="#c-{n}" title="page {n}">{n}</a> &amp; more\\n')
html = '<!DOCTYPE html><html lang="en"><body><ul>' + ''.join(
    entry.format(n=n) for n in range(300)) + '</ul><p>A <i>closing</i> line.</p></body></html>'
ours = ElementTree.tostring(tinyhtml5.parse(html))
print(len(compiled), len(set(compiled)))
stream.characters_until_regex = {}
print(ours == ElementTree.tostring(tinyhtml5.parse(html)))
"""


def test_weasyprints_html_parser_makes_each_character_class_once_and_the_same_tree() -> None:
    """tinyhtml5 (2.1.0) keeps each character class it scans for under a key its own lookup
    never finds, so it built the class's pattern again at every scan: half the time of parsing
    a long book's HTML (3.2 s of a 200-chapter book's, 1.6 s with compat's cache)."""
    result = subprocess.run([sys.executable, "-c", PARSER_PROBE], capture_output=True,
                            text=True, timeout=120, check=True)
    counts, same = result.stdout.splitlines()
    made, distinct = map(int, counts.split())
    assert 0 < made == distinct
    assert same == "True"


# Lays out a page with list markers, a footnote and generated content twice, counting the
# pseudo-elements' styles made: with chapbook's patch, then with WeasyPrint's own StyleFor.
PSEUDO_PROBE = """
import weasyprint, weasyprint.css as css
from chapbook.layout import compat
made = []
set_computed_styles = css.StyleFor.set_computed_styles
def counted(self, element, parent, root=None, pseudo_type=None, **named):
    if pseudo_type and not isinstance(element, tuple):  # (a page's are made apart)
        made.append(pseudo_type)
    return set_computed_styles(self, element, parent, root, pseudo_type, **named)
css.StyleFor.set_computed_styles = counted
html = weasyprint.HTML(string=(
    '<style>@page { size: 300pt 400pt } .note { float: footnote } li::marker { color: red }'
    ' p.starred::after { content: " *" } ol { list-style: upper-roman }</style>'
    '<ol><li>One</li><li>Two</li></ol><p>Text<span class="note">A note.</span> more.</p>'
    + '<p class="starred">A paragraph with <em>words</em> and <a href="#x">a link</a>.</p>' * 40))
ours = html.render().write_pdf()
print(len(made), sorted(set(made)))
made.clear()
css.StyleFor.__init__, css.StyleFor.__call__ = compat._raw_style_init, compat._raw_style_for
theirs = html.render().write_pdf()
print(len(made))
print(ours == theirs)
"""


def test_a_pseudo_elements_style_is_made_only_when_the_box_builder_asks_for_it() -> None:
    """WeasyPrint's user-agent stylesheet gives every element six pseudo-elements (`::marker`,
    `::footnote-call`, `::note-call`...) whose styles StyleFor made at once, though only a list
    item's marker, a note's call and marker and generated content are ever asked for: seven
    styles an element (70,000 for a 200-chapter book's index). Made when asked for, the page
    is written byte for byte as before, with the markers, the footnote and the content."""
    result = subprocess.run([sys.executable, "-c", PSEUDO_PROBE], capture_output=True,
                            text=True, timeout=120, check=True)
    first, eagerly, same = result.stdout.splitlines()
    lazily, kinds = first.split(" ", 1)
    assert kinds == "['after', 'footnote-call', 'footnote-marker', 'marker']"
    assert 40 < int(lazily) < 60  # 40 contents, 2 markers, a note's call and marker
    assert int(eagerly) > 6 * 120  # six for each of 120 elements and more, and the contents
    assert same == "True"
