"""Imposition for the foldable booklet: A5 pages two to a side on A4 landscape sheets, in the order
that folds into the booklet when printed duplex (flip on the short edge).

The book is cut into signatures: a few sheets folded together, one inside the other. A short
book is one signature (saddle-stitched); a longer one is several, which the binder folds one by
one, gathers in print order and sews or glues at the spine. In a signature of n pages (the last
one padded to a multiple of four with blank pages at its end, which is the book's end: never
inside a chapter), sheet i carries pages n-2i and 2i+1 on its front and 2i+2 and n-2i-1 on its
back. A right-to-left book binds on the right, so each side's two pages change places.

The sheets are drawn from the reading PDF's own pages (each becomes a form XObject, its fonts
and images shared, not copied), so the booklet is about the size of the reading PDF.
"""

from __future__ import annotations

import io

import pikepdf

MM = 72 / 25.4
# The paper a page size is printed two-up on, landscape, in mm: A5 on A4, A6 on A5, B5 on B4.
SHEETS = {(148, 210): (297, 210), (105, 148): (210, 148), (176, 250): (353, 250)}
# The most sheets one signature is folded from when nobody says: a saddle stitcher takes a
# booklet of up to 16 sheets (64 pages); a longer book goes in signatures of at most 8.
SADDLE_STITCH_SHEETS = 16
SIGNATURE_SHEETS = 8


def signatures(pages: int, sheets: int | None = None) -> list[tuple[int, int]]:
    """(first page, sheets) of each signature, in binding order. `sheets`: sheets in each (the
    last one takes what is left); None: one signature for a short book, else signatures of
    at most SIGNATURE_SHEETS, as even as they can be."""
    total = max(1, -(-pages // 4))
    if sheets is None:
        if total <= SADDLE_STITCH_SHEETS:
            sizes = [total]
        else:
            count = -(-total // SIGNATURE_SHEETS)
            sizes = [total // count + (1 if i < total % count else 0) for i in range(count)]
    else:
        sizes = [sheets] * (total // sheets) + ([total % sheets] if total % sheets else [])
    starts = [4 * sum(sizes[:i]) for i in range(len(sizes))]
    return list(zip(starts, sizes, strict=True))


def imposition(pages: int, sheets: int | None = None) -> list[tuple[int | None, int | None]]:
    """(left, right) 0-based page indexes of each sheet side in print order; None is blank."""
    sides = []
    for first, count in signatures(pages, sheets):
        padded = 4 * count

        def page(index: int, first: int = first) -> int | None:
            return first + index if first + index < pages else None

        for sheet in range(count):
            sides.append((page(padded - 1 - 2 * sheet), page(2 * sheet)))
            sides.append((page(2 * sheet + 1), page(padded - 2 - 2 * sheet)))
    return sides


def _sheet_in_signature(pages: int, sheets: int | None) -> list[int]:
    """For each sheet side of imposition(), the index of its sheet within its signature (the
    outermost is 0): creep grows towards a signature's centre."""
    return [sheet for _, count in signatures(pages, sheets)
            for sheet in range(count) for _ in (0, 1)]


def impose(pdf: bytes, creep_mm: float = 0.0, right_to_left: bool = False,
           sheets: int | None = None) -> bytes:
    """Two pages a side. `creep_mm` shifts each sheet's pages by that much more than the sheet
    outside it in its signature: positive away from the spine, negative towards it (paper
    thickness makes inner sheets stand out at the fore-edge once folded). `sheets`: sheets per
    signature (see signatures())."""
    with pikepdf.open(io.BytesIO(pdf)) as reading, pikepdf.new() as booklet:
        first = reading.pages[0].mediabox
        width, height = float(first[2]) - float(first[0]), float(first[3]) - float(first[1])
        sheet = SHEETS.get((round(width / MM), round(height / MM)))
        sheet_width = sheet[0] * MM if sheet else 2 * width
        sheet_height = sheet[1] * MM if sheet else height
        spine = sheet_width / 2  # the pair is centred on the sheet, the fold on the spine
        top = (sheet_height - height) / 2
        forms: dict[int, pikepdf.Object] = {}

        def form(index: int) -> pikepdf.Object:
            if index not in forms:
                forms[index] = booklet.copy_foreign(reading.pages[index].as_form_xobject())
            return forms[index]

        count = len(reading.pages)
        places = _sheet_in_signature(count, sheets)
        for (left, right), inside in zip(imposition(count, sheets), places, strict=True):
            if right_to_left:
                left, right = right, left
            shift = creep_mm * MM * inside
            side = booklet.add_blank_page(page_size=(sheet_width, sheet_height))
            drawing = []
            for index, x in ((left, spine - width - shift), (right, spine + shift)):
                if index is not None:
                    # named after the page, not by pikepdf's random default: reproducible
                    name = side.add_resource(form(index), pikepdf.Name.XObject,
                                             pikepdf.Name(f"/Page{index + 1}"))
                    drawing.append(f"q 1 0 0 1 {x:.4f} {top:.4f} cm {name} Do Q")
            side.contents_add(booklet.make_stream("\n".join(drawing).encode("ascii")))
        for key in ("/Title", "/Author", "/Subject", "/Keywords", "/CreationDate", "/ModDate"):
            if key in reading.docinfo:
                booklet.docinfo[key] = reading.docinfo[key]
        buffer = io.BytesIO()
        booklet.save(buffer, compress_streams=True, deterministic_id=True,
                     object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buffer.getvalue()
