"""Sets of code points as runs of consecutive ones: how a font's coverage is cached, a face's
`unicode-range` written and a character class of combining marks built."""

from __future__ import annotations

import bisect
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


class Coverage:
    """A set of code points kept as its runs, membership found by bisection: the 60 000 or so
    code points the shipped fonts cover took 6 MiB as a frozenset of ints, which a build held
    from reading its essays to its end (a twentieth of the booklet's peak)."""

    def __init__(self, ranges: Iterable[tuple[int, int]]) -> None:
        """`ranges`: (first, last) runs of code points, in order, not overlapping (ValueError
        otherwise)."""
        self.ranges = tuple(ranges)
        previous = -1
        for first, last in self.ranges:
            if not previous < first <= last <= 0x10FFFF:
                raise ValueError(f"code point range {first:x}-{last:x} out of order")
            previous = last
        self._lasts = [last for _, last in self.ranges]

    def __contains__(self, code: object) -> bool:
        if not isinstance(code, int):
            return False
        at = bisect.bisect_left(self._lasts, code)
        return at < len(self.ranges) and self.ranges[at][0] <= code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Coverage) and self.ranges == other.ranges

    def __hash__(self) -> int:
        return hash(self.ranges)


def css_unicode_range(ranges: Iterable[tuple[int, int]]) -> str:
    """As CSS's `unicode-range` writes them: "U+20-7E, U+A0"."""
    return ", ".join(f"U+{first:X}" if first == last else f"U+{first:X}-{last:X}"
                     for first, last in ranges)
