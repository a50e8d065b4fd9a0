"""One embedded font program per face in a PDF combined from pieces.

WeasyPrint embeds in each piece a subset of every face it uses, made with HarfBuzz keeping each
glyph's id (HB_SUBSET_FLAGS_RETAIN_GIDS), so every subset of a face numbers its glyphs as the
face does. The subsets of one face can then be merged into one program holding every glyph any
piece draws, at the same ids, and every piece's font pointed at it: the text, widths and
ToUnicode maps of each piece stay as they are, and the face is embedded once. A face whose
subsets cannot be merged safely (a CID-keyed CFF, private dictionaries that differ, a font
fontTools cannot read) keeps its subsets.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from typing import Any

import pikepdf
from fontTools.misc.loggingTools import CapturingLogHandler
from fontTools.ttLib import TTFont, TTLibError

_FONT_FILES = ("/FontFile2", "/FontFile3")


def _fonts(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every CIDFont (a Type 0 font's descendant) the pages use, once each."""
    seen: set[tuple[int, int]] = set()
    for page in pdf.pages:
        for font in page.obj.get("/Resources", {}).get("/Font", {}).values():
            for descendant in font.get("/DescendantFonts", []):
                if descendant.objgen not in seen and "/FontDescriptor" in descendant:
                    seen.add(descendant.objgen)
                    yield descendant


def glyph_ids(font: pikepdf.Dictionary) -> set[int]:
    """The glyphs a CIDFont draws: the CIDs its /W array gives widths to (WeasyPrint maps
    CIDs to glyph ids one to one, /CIDToGIDMap /Identity)."""
    ids: set[int] = set()
    widths = list(font.get("/W", []))
    index = 0
    while index + 1 < len(widths):
        first, then = int(widths[index]), widths[index + 1]
        if isinstance(then, pikepdf.Array):  # c [w1 w2 ...]
            ids.update(range(first, first + len(then)))
            index += 2
        else:  # c_first c_last w
            ids.update(range(first, int(then) + 1))
            index += 3
    return ids


def _mergeable(fonts: list[TTFont]) -> bool:
    if all("glyf" in font for font in fonts):
        return True
    if not all("CFF " in font for font in fonts):
        return False
    tops = [font["CFF "].cff.topDictIndex[0] for font in fonts]
    if any(hasattr(top, "FDArray") for top in tops):  # CID-keyed: glyphs tied to FDs
        return False
    widths = {(top.Private.defaultWidthX, top.Private.nominalWidthX) for top in tops}
    return len(widths) == 1  # a charstring's width is written against these


def merged(programs: list[bytes], drawn: list[set[int]]) -> bytes | None:
    """One font program with the glyphs each subset of `programs` draws (`drawn`: their ids),
    at their ids; None if they cannot be merged."""
    try:
        with CapturingLogHandler("fontTools", "WARNING"):
            fonts = [TTFont(io.BytesIO(data), recalcBBoxes=False, recalcTimestamp=False)
                     for data in programs]
            if not _mergeable(fonts):
                return None
            base = max(range(len(fonts)), key=lambda i: len(fonts[i].getGlyphOrder()))
            order = fonts[base].getGlyphOrder()
            has = set(drawn[base])
            for font, glyphs in zip(fonts, drawn, strict=True):
                if font is fonts[base]:
                    continue
                names = font.getGlyphOrder()
                for gid in sorted(glyphs - has):
                    if gid >= len(order) or gid >= len(names):
                        return None
                    _copy_glyph(font, names[gid], fonts[base], order[gid])
                has |= glyphs
            output = io.BytesIO()
            fonts[base].save(output)
            return output.getvalue()
    except (TTLibError, KeyError, AttributeError, AssertionError, ValueError, IndexError,
            TypeError):
        return None


def _copy_glyph(source: TTFont, name: str, target: TTFont, target_name: str) -> None:
    target["hmtx"][target_name] = source["hmtx"][name]
    if "glyf" in target:
        glyph: Any = source["glyf"][name]
        if glyph.isComposite():  # its components are in the source's subset: bring them
            # A component is named as the source names its glyph id, which the target may
            # name otherwise ('glyph00016' against 'acutecomb'): renamed to the target's name.
            glyph = copy.deepcopy(glyph)
            ids, names = source.getReverseGlyphMap(), target.getGlyphOrder()
            for component in glyph.components:
                component_name = names[ids[component.glyphName]]
                if target["glyf"][component_name].numberOfContours == 0:
                    _copy_glyph(source, component.glyphName, target, component_name)
                component.glyphName = component_name
        target["glyf"][target_name] = glyph
    else:
        target["CFF "].cff.topDictIndex[0].CharStrings[target_name] = \
            source["CFF "].cff.topDictIndex[0].CharStrings[name]


def share_subsets(pdf: pikepdf.Pdf) -> None:
    """Point every piece's subset of a face at one merged program (see the module's doc)."""
    faces: dict[tuple[str, str], dict[tuple[int, int], tuple[pikepdf.Object, set[int]]]] = {}
    users: dict[tuple[str, str], list[pikepdf.Dictionary]] = {}
    for font in _fonts(pdf):
        descriptor = font.FontDescriptor
        for key in _FONT_FILES:
            if key in descriptor:
                face = (str(descriptor.get("/FontName", "")).split("+", 1)[-1], key)
                stream = descriptor[key]
                _, ids = faces.setdefault(face, {}).setdefault(stream.objgen, (stream, set()))
                ids |= glyph_ids(font)
                users.setdefault(face, []).append(descriptor)
    for face, streams in faces.items():
        if len(streams) < 2:
            continue
        program = merged([stream.read_bytes() for stream, _ in streams.values()],
                         [ids for _, ids in streams.values()])
        if program is None:
            continue
        first = next(iter(streams.values()))[0]
        stream = pikepdf.Stream(pdf, program)
        if face[1] == "/FontFile2":
            stream.Length1 = len(program)
        elif "/Subtype" in first:
            stream.Subtype = first.Subtype
        for descriptor in users[face]:
            descriptor[face[1]] = stream
