"""A PDF combined from pieces embeds each face once (pdf/subsets.py): every piece's subset of a
face, made by WeasyPrint with the face's glyph ids, is merged into one program that draws every
glyph any piece draws."""

from __future__ import annotations

import io
from unittest import mock

import pikepdf
import pytest
from fontTools.ttLib import TTFont

from chapbook.diagnostics import Diagnostics
from chapbook.pdf import combine
from chapbook.pdf.subsets import glyph_ids

from .conftest import ROOTS, typeset_pieces

FIELD_NOTES = ROOTS / "field-notes" / "book.yml"


def _faces(data: bytes) -> dict[str, list[tuple[bytes, set[int]]]]:
    """Each face's embedded programs (one per distinct stream), each with the glyph ids the
    fonts using it draw."""
    pdf = pikepdf.open(io.BytesIO(data))
    found: dict[str, dict[tuple[int, int], tuple[bytes, set[int]]]] = {}
    for page in pdf.pages:
        for font in page.obj.Resources.get("/Font", {}).values():
            for descendant in font.get("/DescendantFonts", []):
                descriptor = descendant.FontDescriptor
                stream = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
                face = str(descriptor.FontName).split("+", 1)[-1]
                _, ids = found.setdefault(face, {}).setdefault(
                    stream.objgen, (stream.read_bytes(), set()))
                ids |= glyph_ids(descendant)
    return {face: list(streams.values()) for face, streams in found.items()}


def _outlines(program: bytes, ids: set[int]) -> dict[int, bool]:
    """For each glyph id, whether the program holds an outline for it."""
    font = TTFont(io.BytesIO(program))
    order = font.getGlyphOrder()
    if "glyf" in font:
        return {gid: font["glyf"][order[gid]].numberOfContours != 0 for gid in ids}
    strings = font["CFF "].cff.topDictIndex[0].CharStrings
    drawn = {}
    for gid in ids:
        charstring = strings[order[gid]]
        charstring.decompile()
        drawn[gid] = any(op in charstring.program for op in ("rmoveto", "hmoveto", "vmoveto"))
    return drawn


@pytest.fixture(scope="module")
def merged_and_not() -> tuple[bytes, bytes]:
    merged, _ = typeset_pieces(FIELD_NOTES, Diagnostics(), piece_words=400, jobs=1)
    with mock.patch.object(combine, "share_subsets", lambda pdf: None):
        separate, _ = typeset_pieces(FIELD_NOTES, Diagnostics(), piece_words=400, jobs=1)
    return merged, separate


def test_each_face_is_embedded_once(merged_and_not: tuple[bytes, bytes]) -> None:
    merged, separate = merged_and_not
    assert any(len(programs) > 2 for programs in _faces(separate).values())
    assert {face: len(programs) for face, programs in _faces(merged).items()} == \
        {face: 1 for face in _faces(separate)}
    assert len(merged) < 0.8 * len(separate)


def test_every_glyph_a_piece_draws_is_drawn_by_the_merged_program(
        merged_and_not: tuple[bytes, bytes]) -> None:
    merged, separate = merged_and_not
    faces = _faces(merged)
    checked = 0
    for face, programs in _faces(separate).items():
        ((program, ids),) = faces[face]
        whole = _outlines(program, ids)
        for piece_program, piece_ids in programs:
            for gid, drawn in _outlines(piece_program, piece_ids).items():
                assert whole[gid] == drawn, (face, gid)
                checked += drawn
    assert checked > 500


def test_a_composite_glyph_is_merged_whatever_its_components_are_named() -> None:
    """Two pieces' subsets of a face may name one glyph id differently (one kept the face's
    glyph names, the other did not: 'acutecomb' against 'uni0301'). An accented letter drawn
    from its components, merged from one into the other, names its components as the program
    it joins does; it named them as the one it left, and the face was embedded once per piece
    (Charis SIL nine times in field-notes laid out in small pieces)."""
    from fontTools import subset

    from chapbook.pdf.subsets import merged
    from chapbook.resources import styles_dir

    face = TTFont(styles_dir() / "fonts" / "CharisSIL-Regular.ttf")
    cmap, ids = face.getBestCmap(), face.getReverseGlyphMap()

    def subset_of(text: str, names: bool) -> bytes:
        options = subset.Options(retain_gids=True, glyph_names=names, notdef_outline=True)
        font = TTFont(styles_dir() / "fonts" / "CharisSIL-Regular.ttf")
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        output = io.BytesIO()
        font.save(output)
        return output.getvalue()

    accented = ids[cmap[ord("á")]]
    components = [ids[component.glyphName] for component in face["glyf"][cmap[ord("á")]].components]
    program = merged([subset_of("á", names=False), subset_of("bḍ", names=True)],
                     [{accented}, {ids[cmap[ord("b")]], ids[cmap[ord("ḍ")]]}])
    assert program is not None
    font = TTFont(io.BytesIO(program))
    glyph = font["glyf"][font.getGlyphOrder()[accented]]
    assert glyph.isComposite()
    assert [font.getGlyphID(component.glyphName) for component in glyph.components] == components
    assert all(font["glyf"][font.getGlyphOrder()[gid]].numberOfContours > 0 for gid in components)
