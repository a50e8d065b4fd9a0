"""A long book's PDF pieces combined into one with pikepdf: pages, the structure tree and its parent
tree (renumbered), named destinations and the bookmarks, so links between pieces, which WeasyPrint
writes as named destinations, resolve in the whole; each face's subsets merged into one program
(pdf/subsets.py)."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

import pikepdf

from chapbook.pdf.subsets import share_subsets

Bookmark = tuple[int, str, pikepdf.Object]  # level, title, destination


def save_pdf(pdf: pikepdf.Pdf) -> bytes:
    """The one way chapbook saves a PDF it changed: the same input gives the same bytes (the
    file /ID from the content), streams compressed, objects packed into object streams. A
    stream deflated already (as WeasyPrint writes each piece) is copied as it is, not inflated
    and deflated again."""
    output = io.BytesIO()
    pdf.save(output, deterministic_id=True, compress_streams=True,
             stream_decode_level=pikepdf.StreamDecodeLevel.none,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return output.getvalue()

def _outline_items(pdf: pikepdf.Pdf) -> list[pikepdf.OutlineItem]:
    """The outline's items in reading order (depth first), as WeasyPrint wrote them."""
    items: list[pikepdf.OutlineItem] = []

    def walk(children: list[pikepdf.OutlineItem]) -> None:
        for item in children:
            items.append(item)
            walk(item.children)

    with pdf.open_outline() as outline:
        walk(outline.root)
    return items


def _outline(pdf: pikepdf.Pdf, entries: list[Bookmark]) -> None:
    """The whole book's outline, nested again by bookmark level: a piece that begins inside a
    part has its chapters at the top of its own outline."""
    with pdf.open_outline() as outline:
        outline.root.clear()
        stack: list[tuple[int, list[pikepdf.OutlineItem]]] = [(0, outline.root)]
        for level, title, destination in entries:
            item = pikepdf.OutlineItem(title, destination)
            while stack[-1][0] >= level:
                stack.pop()
            stack[-1][1].append(item)
            stack.append((level, item.children))


def _share_fonts(pdf: pikepdf.Pdf) -> None:
    """Pieces that embed the same whole font file (the print edition) keep one copy of it."""
    seen: dict[bytes, pikepdf.Object] = {}
    for page in pdf.pages:
        for font in page.Resources.get("/Font", {}).values():
            for descendant in font.get("/DescendantFonts", [font]):
                descriptor = descendant.get("/FontDescriptor")
                if descriptor is None:
                    continue
                for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                    stream = descriptor.get(key)
                    if stream is None:
                        continue
                    digest = hashlib.sha256(stream.read_raw_bytes()).digest()
                    descriptor[key] = seen.setdefault(digest, stream)


def _copy(pdf: pikepdf.Pdf, value: pikepdf.Object) -> pikepdf.Object:
    """`value` from another PDF, its indirect objects copied (each once: pikepdf remembers)."""
    if isinstance(value, pikepdf.Object) and value.is_indirect:
        return pdf.copy_foreign(value)
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([_copy(pdf, item) for item in value])
    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({key: _copy(pdf, item) for key, item in value.items()})
    return value


def _drop_unresolved_links(pdf: pikepdf.Pdf, names: dict[str, pikepdf.Object]) -> list[str]:
    """What WeasyPrint does for one document, for the whole: a link to no anchor is removed."""
    missing: list[str] = []
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if annotations is None:
            continue
        kept = [a for a in annotations if str(a.get("/Dest", "")) in names or "/Dest" not in a]
        if len(kept) != len(annotations):
            missing += [str(a.Dest) for a in annotations if "/Dest" in a
                        and str(a.Dest) not in names]
            page.obj.Annots = pikepdf.Array(kept)
    return list(dict.fromkeys(missing))


@dataclass
class Combined:
    pdf: bytes
    missing_anchors: list[str]  # links to these were removed: no piece has the anchor
    page_count: int


def _whole(pdf: pikepdf.Pdf, piece: pikepdf.Pdf, value: pikepdf.Object) -> pikepdf.Object:
    """`value` of `piece` copied into `pdf` in one call, however many objects it holds (a copy
    object by object, in Python, took most of the time of combining a long book)."""
    if not value.is_indirect:
        value = piece.make_indirect(value)
    return pdf.copy_foreign(value)


def _flat(tree: pikepdf.Object, offset: int = 0) -> list[Any]:
    """A number tree's keys and values in order, as one /Nums array holds them; the keys moved
    on by `offset`."""
    return [item for key, value in pikepdf.NumberTree(tree).items()
            for item in (key + offset, value)]


class Combiner:
    """One PDF of pieces added in order, each as soon as it is written: a long book's pieces
    are combined while its index is still being laid out. The first piece gives the
    catalogue (metadata, language, viewer preferences, output intent); each piece comes with
    its bookmark levels in reading order. The parent tree and the named destinations are
    written again as one flat array each, as WeasyPrint writes them for one document."""

    def __init__(self, first: bytes, levels: list[int]) -> None:
        self.pdf = pdf = pikepdf.open(io.BytesIO(first))
        self.tree = pdf.Root.get("/StructTreeRoot")
        self.document = self.tree.K[0] if self.tree is not None else None
        self.parents = _flat(self.tree.ParentTree) if self.tree is not None else []
        self.next_key = max(self.parents[::2], default=-1) + 1
        self.names = dict(pikepdf.NameTree(pdf.Root.Names.Dests).items()) \
            if "/Names" in pdf.Root and "/Dests" in pdf.Root.Names else {}
        self.outline: list[Bookmark] = [(level, item.title, item.destination) for level, item
                                        in zip(levels, _outline_items(pdf), strict=True)]

    def add(self, data: bytes, levels: list[int]) -> None:
        pdf = self.pdf
        piece = pikepdf.open(io.BytesIO(data))
        first = len(pdf.pages)
        with warnings.catch_warnings():  # named destinations are carried over below
            warnings.simplefilter("ignore", pikepdf.exceptions.PageCopyWarning)
            pdf.pages.extend(piece.pages)
        piece_tree = piece.Root.get("/StructTreeRoot")
        if self.document is not None and piece_tree is not None:
            kids = piece_tree.K[0].K
            for kid in kids:  # so copying a kid does not copy the piece's tree with it
                del kid["/P"]
            for kid in _whole(pdf, piece, kids):
                kid.P = self.document
                self.document.K.append(kid)
            offset = self.next_key
            piece_parents = _flat(_whole(pdf, piece, piece_tree.ParentTree), offset)
            self.parents += piece_parents
            self.next_key = max([self.next_key, *(key + 1 for key in piece_parents[::2])])
            for page in pdf.pages[first:]:
                if "/StructParents" in page.obj:
                    page.obj.StructParents = int(page.obj.StructParents) + offset
                for annotation in page.obj.get("/Annots", []):
                    if "/StructParent" in annotation:
                        annotation.StructParent = int(annotation.StructParent) + offset
        if "/Names" in piece.Root and "/Dests" in piece.Root.Names:
            for name, destination in pikepdf.NameTree(
                    _whole(pdf, piece, piece.Root.Names.Dests)).items():
                self.names.setdefault(name, destination)
        self.outline += [(level, item.title, _copy(pdf, item.destination)) for level, item
                         in zip(levels, _outline_items(piece), strict=True)]

    def finish(self) -> Combined:
        pdf, names = self.pdf, self.names
        missing = _drop_unresolved_links(pdf, names)
        if self.tree is not None:
            self.tree.ParentTree = pdf.make_indirect(
                pikepdf.Dictionary(Nums=pikepdf.Array(self.parents)))
        if names:
            pdf.Root.Names = pikepdf.Dictionary(Dests=pdf.make_indirect(pikepdf.Dictionary(
                Names=pikepdf.Array([item for name in sorted(names)
                                     for item in (pikepdf.String(name), names[name])]))))
        _outline(pdf, self.outline)
        _share_fonts(pdf)
        share_subsets(pdf)
        return Combined(save_pdf(pdf), missing, len(pdf.pages))


def combine(pieces: list[bytes], levels: list[list[int]]) -> Combined:
    """One PDF of the pieces in order (Combiner), all written already."""
    combiner = Combiner(pieces[0], levels[0])
    for data, piece_levels in zip(pieces[1:], levels[1:], strict=True):
        combiner.add(data, piece_levels)
    return combiner.finish()
