"""Imposition for the foldable booklet: A5 pages two to a side on A4 landscape sheets, in the order
that folds into the booklet when printed duplex (flip on the short edge) and saddle-stitched.

For n pages (padded to a multiple of four with blank pages at the end, where a binder puts them:
never inside a chapter), sheet i carries pages n-2i and 2i+1 on its front and 2i+2 and n-2i-1 on
its back. A right-to-left book binds on the right, so each side's two pages change places.
"""

from __future__ import annotations

import io

from pypdf import PageObject, PdfReader, PdfWriter, Transformation

MM = 72 / 25.4
# The paper a page size is printed two-up on, landscape, in mm: A5 on A4, A6 on A5, B5 on B4.
SHEETS = {(148, 210): (297, 210), (105, 148): (210, 148), (176, 250): (353, 250)}


def imposition(pages: int) -> list[tuple[int | None, int | None]]:
    """(left, right) 0-based page indexes of each sheet side in print order; None is blank."""
    padded = -(-pages // 4) * 4

    def page(index: int) -> int | None:
        return index if index < pages else None

    sides = []
    for sheet in range(padded // 4):
        sides.append((page(padded - 1 - 2 * sheet), page(2 * sheet)))
        sides.append((page(2 * sheet + 1), page(padded - 2 - 2 * sheet)))
    return sides


def impose(pdf: bytes, creep_mm: float = 0.0, right_to_left: bool = False) -> bytes:
    """Two pages a side. `creep_mm` shifts each sheet's pages by that much more than the sheet
    outside it: positive away from the spine, negative towards it (paper thickness makes inner
    sheets stand out at the fore-edge once folded)."""
    reader = PdfReader(io.BytesIO(pdf))
    width = float(reader.pages[0].mediabox.width)
    height = float(reader.pages[0].mediabox.height)
    sheet = SHEETS.get((round(width / MM), round(height / MM)))
    sheet_width = sheet[0] * MM if sheet else 2 * width
    sheet_height = sheet[1] * MM if sheet else height
    spine = sheet_width / 2  # the pair is centred on the sheet, the fold on the spine
    top = (sheet_height - height) / 2
    writer = PdfWriter()
    for number, (left, right) in enumerate(imposition(len(reader.pages))):
        if right_to_left:
            left, right = right, left
        shift = creep_mm * MM * (number // 2)
        side = PageObject.create_blank_page(width=sheet_width, height=sheet_height)
        if left is not None:
            side.merge_transformed_page(reader.pages[left], Transformation().translate(
                spine - width - shift, top))
        if right is not None:
            side.merge_transformed_page(reader.pages[right],
                                        Transformation().translate(spine + shift, top))
        writer.add_page(side)
    writer.add_metadata({k: v for k, v in (reader.metadata or {}).items()
                         if k in ("/Title", "/Author", "/Subject", "/Keywords", "/CreationDate",
                                  "/ModDate")})
    writer.compress_identical_objects()
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
