"""PDF post-processing with pikepdf, after WeasyPrint has written: combining a long
book's pieces, marking pagination artifacts, imposing the booklet, stable ids."""

from __future__ import annotations

import io

import pikepdf


def save_pdf(pdf: pikepdf.Pdf) -> bytes:
    """The one way chapbook saves a PDF it changed: the same input gives the same bytes (the
    file /ID from the content), streams compressed, objects packed into object streams."""
    output = io.BytesIO()
    pdf.save(output, deterministic_id=True, compress_streams=True,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return output.getvalue()
