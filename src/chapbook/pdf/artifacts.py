"""Running heads and folios as artifacts in the tagged PDF.

WeasyPrint 70 tags the content of margin boxes (running heads, folios) but leaves their structure
elements out of the structure tree ("only allowed in PDF 2.0", says its source), which PDF/UA-1
checkers flag as tagged content that belongs nowhere. Here, with pikepdf, every marked-content
sequence whose structure element is unreachable from the tree's root becomes a pagination
artifact, and the parent tree forgets it, so assistive technology neither reads nor misses it.
"""

from __future__ import annotations

import io

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


def mark_artifacts(data: bytes) -> bytes:
    pdf = pikepdf.open(io.BytesIO(data))
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None or "/ParentTree" not in tree:
        return data
    reachable = _reachable(tree.get("/K"))
    parents = pikepdf.NumberTree(tree.ParentTree)
    artifact = pikepdf.Dictionary(Type=pikepdf.Name.Pagination)
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
        instructions = []
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) == "BDC" and len(operands) == 2 \
                    and isinstance(operands[1], pikepdf.Dictionary) \
                    and int(operands[1].get("/MCID", -1)) in orphans:
                operands = [pikepdf.Name.Artifact, artifact]
            instructions.append(pikepdf.ContentStreamInstruction(operands, operator))
        page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
        for mcid in orphans:
            elements[mcid] = None  # an artifact has no structure parent
    return save_pdf(pdf)
