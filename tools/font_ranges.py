"""The `unicode-range` of a face in styles/fonts.css: the code points its font maps, within
(--only) or outside (--without) some ranges, as CSS writes them. A range must never name a
code point the font lacks: WeasyPrint tells fontconfig the face has exactly those.

    python tools/font_ranges.py styles/fonts/CharisSIL-Regular.ttf --without 370-3FF,1F00-1FFF
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fontTools.ttLib import TTFont

from chapbook.codepoints import css_unicode_range, runs


def _parse(ranges: str) -> list[tuple[int, int]]:
    parsed = []
    for part in filter(None, ranges.split(",")):
        first, _, last = part.partition("-")
        parsed.append((int(first, 16), int(last or first, 16)))
    return parsed


def unicode_range(font: Path, only: str = "", without: str = "") -> str:
    kept, dropped = _parse(only), _parse(without)
    codes = runs(code for code in TTFont(font, lazy=True).getBestCmap()
                 if (not kept or any(a <= code <= b for a, b in kept))
                 and not any(a <= code <= b for a, b in dropped))
    return css_unicode_range(codes)


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("font", type=Path)
    arguments.add_argument("--only", default="", help="hex ranges to keep, e.g. AC00-D7A3")
    arguments.add_argument("--without", default="", help="hex ranges to leave out")
    options = arguments.parse_args()
    print(f"unicode-range: {unicode_range(options.font, options.only, options.without)};")
