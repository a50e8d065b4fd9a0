"""Running heads and folios become pagination artifacts (pdf/artifacts.py): on the streams
WeasyPrint writes, by replacing their opening operators in place; on any other stream, by
rewriting it instruction by instruction. Both ways must mark the same sequences."""

from __future__ import annotations

import io

import pikepdf
import pytest
from weasyprint import HTML

from chapbook.pdf import artifacts

RUNNING_HEAD = """<style>@page { size: A6; @top-center { content: "Running head" }
@bottom-center { content: counter(page) } }</style>
<main><h1>Title</h1>""" + "<p>Words in a paragraph, and then more words.</p>" * 60 + "</main>"


@pytest.fixture(scope="module")
def tagged() -> bytes:
    """A tagged PDF as WeasyPrint writes one: its margin boxes' content is tied to nothing."""
    return HTML(string=RUNNING_HEAD).write_pdf(pdf_variant="pdf/ua-1")


def _instructions(data: bytes) -> list[list[tuple[list[str], str]]]:
    pdf = pikepdf.open(io.BytesIO(data))
    return [[([str(operand) for operand in operands], str(operator))
             for operands, operator in pikepdf.parse_content_stream(page)]
            for page in pdf.pages]


def _artifacts(data: bytes) -> int:
    return sum(1 for page in _instructions(data) for operands, operator in page
               if operator == "BDC" and operands[0] == "/Artifact")


def test_weasyprints_streams_take_the_fast_way_and_mark_what_the_slow_way_does(
        tagged: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast_pages: list[bool] = []
    fast = artifacts._rewritten_fast

    def recording(page: pikepdf.Page, orphans: set[int]) -> bytes | None:
        content = fast(page, orphans)
        fast_pages.append(content is not None)
        return content

    monkeypatch.setattr(artifacts, "_rewritten_fast", recording)
    marked = artifacts.mark_artifacts(tagged)
    assert len(fast_pages) >= 3 and all(fast_pages)  # every page with a running head
    monkeypatch.setattr(artifacts, "_rewritten_fast", lambda page, orphans: None)
    slowly = artifacts.mark_artifacts(tagged)
    assert _instructions(marked) == _instructions(slowly)
    assert _artifacts(marked) >= 2 * len(fast_pages)  # the head and the folio of each page


def test_a_stream_whose_bytes_mislead_is_rewritten_instruction_by_instruction() -> None:
    """Text that reads like a marked-content operator, in a string the bytes cannot tell from
    an operator: the fast way refuses the stream, and the orphan alone is marked."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    page = pdf.pages[0]
    page.Contents = pdf.make_stream(b"/Span <</MCID 0>> BDC BT (/P <</MCID 0>> BDC) Tj ET EMC "
                                    b"/P <</MCID 1>> BDC EMC")
    element = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.P))
    kept = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.P, K=0))
    pdf.Root.StructTreeRoot = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.StructTreeRoot, K=pikepdf.Array([kept]),
        ParentTree=pdf.make_indirect(pikepdf.Dictionary(
            Nums=pikepdf.Array([0, pikepdf.Array([kept, element])])))))
    page.obj.StructParents = 0
    assert artifacts._rewritten_fast(page, {1}) is None
    buffer = io.BytesIO()
    pdf.save(buffer)
    result = pikepdf.open(io.BytesIO(artifacts.mark_artifacts(buffer.getvalue())))
    marked = result.pages[0]
    sequences = [(str(operands[0]), str(operands[1].get("/Type", operands[1].get("/MCID"))))
                 for operands, _ in pikepdf.parse_content_stream(marked, "BDC")]
    assert sequences == [("/Span", "0"), ("/Artifact", "/Pagination")]
    shown = [bytes(operands[0]) for operands, _ in pikepdf.parse_content_stream(marked, "Tj")]
    assert shown == [b"/P <</MCID 0>> BDC"]  # the text untouched
