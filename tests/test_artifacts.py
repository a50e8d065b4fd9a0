"""Running heads and folios are pagination artifacts in the tagged PDF (layout/compat.py's
_margins_as_artifacts): drawn inside /Artifact sequences, with no structure element of their own.
WeasyPrint 70 tagged them and left their structure elements out of the tree: content that
belongs nowhere, which PDF/UA-1 checkers flag."""

from __future__ import annotations

import io

import pikepdf
import pytest
from weasyprint import HTML

import chapbook.layout.compat  # noqa: F401  (WeasyPrint as chapbook patches it)

RUNNING_HEAD = """<html lang="en"><title>T</title><style>@page { size: A6;
@top-center { content: "Running head" } @bottom-center { content: counter(page) } }</style>
<main><h1>Title</h1>""" + "<p>Words in a paragraph, and then more words.</p>" * 60 + "</main>"


@pytest.fixture(scope="module")
def tagged() -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(HTML(string=RUNNING_HEAD).write_pdf(pdf_variant="pdf/ua-1")))


def _reachable(root: pikepdf.Object) -> set[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    waiting = [root]
    while waiting:
        node = waiting.pop()
        if isinstance(node, pikepdf.Array):
            waiting.extend(node)
        elif isinstance(node, pikepdf.Dictionary) and node.is_indirect \
                and node.objgen not in seen:
            seen.add(node.objgen)
            if "/K" in node:
                waiting.append(node.K)
    return seen


def test_running_heads_and_folios_are_drawn_as_pagination_artifacts(
        tagged: pikepdf.Pdf) -> None:
    assert len(tagged.pages) >= 3
    for page in tagged.pages:
        artifacts, text_in_artifacts, depth = 0, [], 0
        for operands, operator in pikepdf.parse_content_stream(page):
            name = str(operator)
            if name == "BDC" and str(operands[0]) == "/Artifact":
                assert operands[1].get("/Type") == pikepdf.Name.Pagination
                assert "/MCID" not in operands[1]
                artifacts += 1
                depth = 1
            elif name in ("BDC", "BMC") and depth:
                depth += 1
            elif name == "EMC" and depth:
                depth -= 1
            elif name == "TJ" and depth:
                text_in_artifacts.append(operands)
        assert artifacts >= 2  # the running head and the folio
        assert text_in_artifacts


def test_every_marked_sequence_belongs_to_the_structure_tree(tagged: pikepdf.Pdf) -> None:
    tree = tagged.Root.StructTreeRoot
    reachable = _reachable(tree.K)
    parents = pikepdf.NumberTree(tree.ParentTree)
    for page in tagged.pages:
        elements = parents[int(page.StructParents)]
        mcids = [int(operands[1].MCID) for operands, _ in
                 pikepdf.parse_content_stream(page, "BDC") if "/MCID" in operands[1]]
        assert mcids == list(range(len(elements)))
        assert all(element.objgen in reachable for element in elements)
    elements = [item for item in tagged.objects if isinstance(item, pikepdf.Dictionary)
                and item.get("/Type") == pikepdf.Name.StructElem]
    assert all(element.objgen in reachable for element in elements)
