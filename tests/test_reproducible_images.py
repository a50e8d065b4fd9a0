"""Issue 10, item 8: a book with images built in two different folders gives byte-identical PDFs.

WeasyPrint names a raster image after the md5 of its absolute URL, so the folder a book was built
in used to leak into the image's name in the PDF, and through it into the file's /ID."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pikepdf
from PIL import Image

SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 160" width="300" height="160">
  <title>Two ports and a route</title>
  <rect width="300" height="160" fill="#f4f1ea"/>
  <line x1="40" y1="40" x2="250" y2="120" stroke="#1d3557" stroke-width="8"/>
  <circle cx="40" cy="40" r="8" fill="#e63946"/>
  <circle cx="250" cy="120" r="8" fill="#e63946"/>
</svg>
"""

MANIFEST = """slug: pictures
metadata:
  title: A Book with Pictures
  author: The Test Desk
  language: en-GB
  identifier: urn:uuid:0c7e3f52-4a8b-4d7e-8f61-3b2a1c0d9e88
  date: "2026-05-01"
page_size: A5
parts:
  - title: Figures
    chapters:
      - file: essays/figures.md
back_matter: []
"""

ESSAY = """# Figures

A chart of the traffic:

![Bars rising from left to right](images/traffic.png "Traffic by decade")

And a map of the route:

![Two red ports joined by a thick blue line](images/route.svg)

The end.
"""


def write_book(folder: Path) -> Path:
    (folder / "essays" / "images").mkdir(parents=True)
    (folder / "book.yml").write_text(MANIFEST, encoding="utf-8")
    (folder / "essays" / "figures.md").write_text(ESSAY, encoding="utf-8")
    image = Image.new("RGB", (60, 40), "#f4f1ea")
    for bar in range(5):
        image.paste("#1d3557", (4 + bar * 11, 36 - bar * 7, 12 + bar * 11, 38))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    (folder / "essays" / "images" / "traffic.png").write_bytes(buffer.getvalue())
    (folder / "essays" / "images" / "route.svg").write_text(SVG, encoding="utf-8")
    return folder / "book.yml"


def test_a_book_with_images_builds_byte_identical_pdfs_in_two_folders(tmp_path: Path) -> None:
    outputs = []
    # Folders of different depths and name lengths, so no path can hide in a fixed-width field.
    for place in ("one/book", "a-much/longer/second/place/for/the-book"):
        manifest = write_book(tmp_path / place)
        out = tmp_path / place / "out"
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
        subprocess.run([sys.executable, "-m", "chapbook", "build", "pdf", "print", "booklet",
                        "--quiet", "--book", str(manifest), "--out", str(out)],
                       check=True, env=env, timeout=300)
        outputs.append(out)
    for name in ("pictures.pdf", "pictures-print.pdf", "pictures-booklet.pdf"):
        first, second = ((out / name).read_bytes() for out in outputs)
        assert first == second, name

    # The PNG really is in the PDF, as an image XObject (the SVG is drawn as vector groups).
    with pikepdf.open(outputs[0] / "pictures.pdf") as pdf:
        images = [name for page in pdf.pages
                  for name, xobject in page.Resources.get("/XObject", {}).items()
                  if xobject.get("/Subtype") == "/Image"]
        assert images
    for out in outputs:
        assert str(tmp_path).encode() not in (out / "pictures.pdf").read_bytes()
