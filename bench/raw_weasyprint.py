"""One raw WeasyPrint run on chapbook's final HTML, with chapbook's own stylesheets: the floor.
An optional third argument is the PDF variant (pdf/ua-1: the tagged floor)."""

from __future__ import annotations

import sys
from pathlib import Path

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

STYLES = Path(__file__).resolve().parents[1] / "styles"

if __name__ == "__main__":
    fonts = FontConfiguration()
    sheets = [CSS(filename=str(STYLES / "fonts.css"), font_config=fonts),
              CSS(string="@page { size: A5 }", font_config=fonts),
              CSS(filename=str(STYLES / "common.css"), font_config=fonts),
              CSS(filename=str(STYLES / "print.css"), font_config=fonts)]
    variant = sys.argv[3] if len(sys.argv) > 3 else None
    HTML(filename=sys.argv[1]).write_pdf(sys.argv[2], stylesheets=sheets, font_config=fonts,
                                         pdf_variant=variant)
