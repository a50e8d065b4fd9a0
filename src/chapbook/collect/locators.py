"""Locators: where an index heading or a glossary term is found, as the reader sees it.

In print they are real page numbers read from the layout, each page once, consecutive pages
joined as ranges; in the EPUB and HTML editions they are links to each chapter section.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from chapbook.model.book import Chapter, ChapterName
from chapbook.model.terms import Occurrence


@dataclass(frozen=True)
class Locator:
    label: str
    anchor: str          # the id of the first occurrence it stands for
    chapter_id: str
    title: str = ""      # what a tooltip or screen reader says about it


def page_locators(occurrences: Iterable[Occurrence], pages: dict[str, int]) -> list[Locator]:
    """'11–13', '17': each page once, sorted, runs of consecutive pages joined."""
    first_on_page: dict[int, Occurrence] = {}
    for occurrence in occurrences:
        page = pages.get(occurrence.anchor)
        if page is not None and page not in first_on_page:
            first_on_page[page] = occurrence
    numbers = sorted(first_on_page)
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    locators = []
    for run in runs:
        label = str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}"
        first = first_on_page[run[0]]
        locators.append(Locator(label, first.anchor, first.chapter_id,
                                f"page {run[0]}" if len(run) == 1 else f"pages {label}"))
    return locators


def chapter_names(chapters: Iterable[Chapter]) -> dict[str, ChapterName]:
    return {chapter.id: ChapterName(chapter.label or chapter.running_head,
                                    chapter.designation or chapter.title,
                                    chapter.label is not None)
            for chapter in chapters}


def _name(names: dict[str, ChapterName], occurrence: Occurrence) -> ChapterName:
    number = str(occurrence.chapter_number)
    return names.get(occurrence.chapter_id, ChapterName(number, f"Chapter {number}"))


def section_locators(occurrences: Iterable[Occurrence],
                     names: dict[str, ChapterName]) -> list[Locator]:
    """'3.2': chapter 3, section 2 (just '3' before a chapter's first section; 'B.1' in
    appendix B; an unnumbered chapter by its running head alone); each once."""
    seen: dict[tuple[int, int], Occurrence] = {}
    for occurrence in occurrences:
        seen.setdefault((occurrence.chapter_number, occurrence.section), occurrence)
    locators = []
    for (_, section), occurrence in sorted(seen.items()):
        chapter = _name(names, occurrence)
        label = f"{chapter.label}.{section}" if section and chapter.numbered else chapter.label
        title = chapter.name + (f", {occurrence.section_title}" if section else "")
        locators.append(Locator(label, occurrence.anchor, occurrence.chapter_id, title))
    return locators


def chapter_locators(occurrences: Iterable[Occurrence],
                     names: dict[str, ChapterName]) -> list[Locator]:
    """One link per chapter a term is used in, to its first use there."""
    seen: dict[int, Occurrence] = {}
    for occurrence in occurrences:
        seen.setdefault(occurrence.chapter_number, occurrence)
    return [Locator(_name(names, occ).label, occ.anchor, occ.chapter_id, _name(names, occ).name)
            for _, occ in sorted(seen.items())]


def first_and_rest(occurrences: list[Occurrence],
                   pages: dict[str, int]) -> tuple[Locator | None, list[Locator]]:
    """Where a glossary term is first discussed, and the other pages it is used on."""
    located = page_locators(occurrences, pages)
    if not located:
        return None, []
    first = located[0]
    if "–" in first.label:  # the first page of a run stands alone; the run goes on after it
        start = int(first.label.split("–")[0])
        rest_occurrences = [o for o in occurrences if pages.get(o.anchor, 0) > start]
        first = Locator(str(start), first.anchor, first.chapter_id, f"page {start}")
        return first, page_locators(rest_occurrences, pages)
    return first, located[1:]


@dataclass(frozen=True)
class Locating:
    """How one edition's glossary and index say where a term is: by printed page when the
    layout's pages are known (print), else by chapter and section. Python decides; the templates
    only iterate what it gives them (as Sphinx's IndexEntries does for its index)."""

    pages: dict[str, int] | None = field(default=None, hash=False)
    names: dict[str, ChapterName] = field(default_factory=dict, hash=False)

    @property
    def by_page(self) -> bool:
        return self.pages is not None

    def index(self, occurrences: Iterable[Occurrence]) -> list[Locator]:
        """An index heading's locators."""
        if self.pages is not None:
            return page_locators(occurrences, self.pages)
        return section_locators(occurrences, self.names)

    def glossary_pages(self, occurrences: list[Occurrence]) -> tuple[Locator | None,
                                                                     list[Locator]]:
        """In print: the page a glossary term is first discussed on, and the others."""
        assert self.pages is not None
        return first_and_rest(occurrences, self.pages)

    def glossary_chapters(self, occurrences: Iterable[Occurrence]) -> list[Locator]:
        """On screen: the chapters a glossary term is used in."""
        return chapter_locators(occurrences, self.names)
