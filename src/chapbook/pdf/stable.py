"""What keeps a PDF the same from build to build: its /ID, and the UUIDs WeasyPrint draws at
random for PDF/X-4."""

from __future__ import annotations

import hashlib
import re
import uuid


def pdf_identifier(identifier: str, edition: str) -> bytes:
    """A stable PDF /ID: the same book and edition give the same identifier."""
    return hashlib.sha256(f"{identifier} {edition}".encode()).hexdigest()[:32].encode()


def stable_ids(identifier: str, edition: str, data: bytes) -> bytes:
    """WeasyPrint gives PDF/X-4's XMP DocumentID a random UUID, and the second half of the file
    /ID; stable ones keep the build reproducible. Done on each piece as WeasyPrint wrote it: the
    XMP stream is uncompressed there and the UUID keeps its length, so the file's
    cross-reference offsets stay true."""
    stable = uuid.uuid5(uuid.NAMESPACE_URL, f"{identifier}#{edition}")
    data = re.sub(rb"xmp\.did:[0-9a-f-]{36}", f"xmp.did:{stable}".encode(), data)
    file_id = pdf_identifier(identifier, edition)
    return re.sub(rb"/ID \[\((" + file_id + rb")\) \([0-9a-f]{32}\)\]",
                  b"/ID [(" + file_id + b") (" + file_id + b")]", data)
