"""Synthetic books in the manuscript's style, for the benchmark: N chapters of the bundled essays'
sentences, shuffled deterministically, in parts of ten, with the bundled glossary and index."""

from __future__ import annotations

import random
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "book"


def sentences() -> list[str]:
    text = " ".join(re.sub(r"^#.*$", "", p.read_text("utf-8"), flags=re.MULTILINE)
                    for p in sorted((BUNDLED / "essays").glob("*.md"))).replace("â€™", "’")
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) > 5]


def generate(chapters: int, folder: Path) -> Path:
    """Write a book of `chapters` chapters into `folder`; return its manifest."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "essays").mkdir(parents=True)
    pool = sentences()
    shuffle = random.Random(chapters)
    lines = ["slug: bench", "metadata:", f"  title: Benchmark of {chapters} Chapters",
             "  author: The Bench", "  language: en-GB",
             f"  identifier: urn:chapbook:bench:{chapters}", '  date: "2026-11-24"',
             "parts:"]
    for number in range(1, chapters + 1):
        if number % 10 == 1:
            lines += [f"  - title: Part {number // 10 + 1}", "    chapters:"]
        body = [f"# Chapter {number}: {shuffle.choice(pool)[:60].rstrip('.,')}", ""]
        for section in range(1, 4):
            body += [f"## Section {section}", ""]
            for _ in range(3):
                body += [" ".join(shuffle.sample(pool, 4)), ""]
        (folder / "essays" / f"chapter-{number:04}.md").write_text("\n".join(body), "utf-8")
        lines.append(f"      - file: essays/chapter-{number:04}.md")
    lines += ["back_matter: [glossary, index]", "glossary: glossary.yml", "index: index.yml"]
    shutil.copy(BUNDLED / "glossary.yml", folder / "glossary.yml")
    shutil.copy(BUNDLED / "index.yml", folder / "index.yml")
    manifest = folder / "book.yml"
    manifest.write_text("\n".join(lines) + "\n", "utf-8")
    return manifest


if __name__ == "__main__":
    print(generate(int(sys.argv[1]), Path(sys.argv[2])))
