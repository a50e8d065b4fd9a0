"""A long book of the kind users bring, generated: 120 chapters (or N) with numbered file names,
a few hundred footnotes (some cited twice, some in titles), links between chapters and to their
headings, aligned tables, lists long enough to cross pages, and words in other scripts. `make
check-long` builds it and runs every checker on it.

    python tools/long_book.py FOLDER [CHAPTERS]
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from generate import BUNDLED, sentences  # noqa: E402  (bench/generate.py: the sentence pool)

WORDS = ["θάλασσα", "שָׁלוֹם", "البحر", "바다", "mer", "Meer"]


def _chapter(number: int, pool: list[str], shuffle: random.Random, titles: set[str]) -> str:
    title = ""
    while not title or title in titles:  # two chapters with one title are a finding of check
        title = " ".join(shuffle.choice(pool).split()[:shuffle.randint(4, 9)]).rstrip(".,;:!?")
    titles.add(title)
    note_in_title = "[^t]" if number % 15 == 0 else ""
    lines = [f"# {title}{note_in_title}", ""]
    notes = []
    if note_in_title:
        notes.append("[^t]: A note on the title of this chapter.")
    for section in range(1, 4):
        lines += [f"## Section {section}", ""]
        for paragraph in range(3):
            label = f"{section}-{paragraph}"
            text = " ".join(shuffle.sample(pool, 3))
            lines += [f"{text}[^{label}]", ""]
            notes.append(f"[^{label}]: {shuffle.choice(pool)}")
        if section == 1:
            lines += [f"As noted before,[^1-0] the sea is {WORDS[number % len(WORDS)]} in one of "
                      "its languages.", ""]
    if number > 1:
        previous = f"{number - 1:03}-chapter.md"
        lines += [f"See [the previous chapter]({previous}) and its "
                  f"[second section]({previous}#section-2).", ""]
    if number % 10 == 3:
        lines += ["| Item | Count | Share |", "|:-----|------:|:-----:|"]
        lines += [f"| {shuffle.choice(pool)[:30]} | {shuffle.randint(1, 999)} | "
                  f"{shuffle.randint(1, 99)}% |" for _ in range(30)]
        lines.append("")
    if number % 10 == 7:
        lines += [f"{item}. {shuffle.choice(pool)}" for item in range(1, 31)]
        lines.append("")
    return "\n".join(lines + notes) + "\n"


def generate(folder: Path, chapters: int = 120) -> Path:
    """Write the book into `folder` (replacing it); return its manifest."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "essays").mkdir(parents=True)
    pool = sentences()
    shuffle = random.Random(chapters)
    titles: set[str] = set()
    manifest = ["slug: long-book", "metadata:", f"  title: A Long Book of {chapters} Chapters",
                "  author: The Long Desk", "  language: en-GB",
                f"  identifier: urn:chapbook:long-book:{chapters}", '  date: "2026-11-24"',
                "parts:"]
    for number in range(1, chapters + 1):
        if number % 20 == 1:
            manifest += [f"  - title: Part {number // 20 + 1}", "    chapters:"]
        name = f"{number:03}-chapter.md"
        (folder / "essays" / name).write_text(_chapter(number, pool, shuffle, titles),
                                              "utf-8")
        manifest.append(f"      - file: essays/{name}")
    manifest += ["back_matter: [glossary, index]", "glossary: glossary.yml", "index: index.yml"]
    shutil.copy(BUNDLED / "glossary.yml", folder / "glossary.yml")
    shutil.copy(BUNDLED / "index.yml", folder / "index.yml")
    (folder / "book.yml").write_text("\n".join(manifest) + "\n", "utf-8")
    return folder / "book.yml"


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where to write the book (replaced)")
    parser.add_argument("chapters", type=int, nargs="?", default=120)
    arguments = parser.parse_args()
    print(generate(arguments.folder, arguments.chapters))
