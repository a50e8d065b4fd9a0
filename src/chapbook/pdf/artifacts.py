"""Running heads and folios as artifacts in the tagged PDF.

WeasyPrint 70 tags the content of margin boxes (running heads, folios) but leaves their structure
elements out of the structure tree ("only allowed in PDF 2.0", says its source), which PDF/UA-1
checkers flag as tagged content that belongs nowhere. Here, with pikepdf, every marked-content
sequence whose structure element is unreachable from the tree's root becomes a pagination
artifact, and the parent tree forgets it, so assistive technology neither reads nor misses it.
"""

from __future__ import annotations

import io
import re

import pikepdf

from chapbook.pdf import save_pdf


def _reachable(root: pikepdf.Object) -> set[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
            continue
        if not isinstance(node, pikepdf.Dictionary) or not node.is_indirect:
            continue
        if node.objgen in seen:
            continue
        seen.add(node.objgen)
        kids = node.get("/K")
        if kids is not None:
            stack.append(kids)
    return seen


# A marked-content sequence with its MCID as WeasyPrint writes one (pydyf: "/P\n<</MCID 3>>\nBDC")
_MARKED = re.compile(rb"/[A-Za-z0-9]+\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")
_ARTIFACT = b"/Artifact <</Type /Pagination>> BDC"


def _rewritten_fast(page: pikepdf.Page, orphans: set[int]) -> bytes | None:
    """The page's content with the orphans' sequences made artifacts, by replacing their
    opening operators in the stream's bytes, without parsing and writing every instruction
    again in Python (a page of the index has thousands); None if the stream is not as
    WeasyPrint writes it: the sequences the bytes show must be those pikepdf's parser finds."""
    contents = page.obj.get("/Contents")
    if not isinstance(contents, pikepdf.Stream):
        return None
    data = contents.read_bytes()
    parsed = [int(operands[1].get("/MCID", -1)) for operands, _
              in pikepdf.parse_content_stream(page, "BDC")
              if len(operands) == 2 and isinstance(operands[1], pikepdf.Dictionary)]
    matches = list(_MARKED.finditer(data))
    if [int(match.group(1)) for match in matches] != parsed:
        return None
    out, at = [], 0
    for match in matches:
        if int(match.group(1)) in orphans:
            out += [data[at:match.start()], _ARTIFACT]
            at = match.end()
    return b"".join([*out, data[at:]])


def _rewritten(page: pikepdf.Page, orphans: set[int]) -> bytes:
    """As _rewritten_fast(), instruction by instruction, for a stream of any other shape."""
    artifact = pikepdf.Dictionary(Type=pikepdf.Name.Pagination)
    instructions = []
    for operands, operator in pikepdf.parse_content_stream(page):
        if str(operator) == "BDC" and len(operands) == 2 \
                and isinstance(operands[1], pikepdf.Dictionary) \
                and int(operands[1].get("/MCID", -1)) in orphans:
            operands = [pikepdf.Name.Artifact, artifact]
        instructions.append(pikepdf.ContentStreamInstruction(operands, operator))
    return pikepdf.unparse_content_stream(instructions)


def mark_artifacts(data: bytes) -> bytes:
    """`data` with its orphans made artifacts, saved by save_pdf (always: its streams may have
    been written without deflating, for it to deflate)."""
    pdf = pikepdf.open(io.BytesIO(data))
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None or "/ParentTree" not in tree:
        return save_pdf(pdf)
    reachable = _reachable(tree.get("/K"))
    parents = pikepdf.NumberTree(tree.ParentTree)
    for page in pdf.pages:
        key = page.obj.get("/StructParents")
        if key is None or int(key) not in parents:
            continue
        elements = parents[int(key)]
        orphans = {mcid for mcid, element in enumerate(elements)
                   if isinstance(element, pikepdf.Dictionary) and element.is_indirect
                   and element.objgen not in reachable}
        if not orphans:
            continue
        content = _rewritten_fast(page, orphans)
        page.Contents = pdf.make_stream(content if content is not None
                                        else _rewritten(page, orphans))
        for mcid in orphans:
            elements[mcid] = None  # an artifact has no structure parent
    return save_pdf(pdf)
