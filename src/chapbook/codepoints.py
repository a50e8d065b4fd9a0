"""Sets of code points as runs of consecutive ones: how a font's coverage is cached, a face's
`unicode-range` written and a character class of combining marks built."""

from __future__ import annotations

from collections.abc import Iterable


def runs(code_points: Iterable[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive code points, in order."""
    found: list[list[int]] = []
    for code in sorted(code_points):
        if found and found[-1][1] == code - 1:
            found[-1][1] = code
        elif not found or found[-1][1] < code:
            found.append([code, code])
    return [(first, last) for first, last in found]


def css_unicode_range(ranges: Iterable[tuple[int, int]]) -> str:
    """As CSS's `unicode-range` writes them: "U+20-7E, U+A0"."""
    return ", ".join(f"U+{first:X}" if first == last else f"U+{first:X}-{last:X}"
                     for first, last in ranges)
