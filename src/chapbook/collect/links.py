"""Links between chapters, resolved once the whole book is read.

An author links to another essay by its file, as on disk: `[see](02-on-kings.md)` or
`[see](02-on-kings.md#the-customs-regime)`, and to a heading of any chapter by its id. Each such
link is resolved to a chapter and an anchor, and every edition writes it its own way (a fragment
in the one-file HTML and the PDF, `document.xhtml#id` in the EPUB). A link that goes nowhere is a
warning at the essay's line, in `chapbook build` and `chapbook check` alike.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from chapbook import ids
from chapbook.diagnostics import Diagnostics
from chapbook.model.book import TokenChanges
from chapbook.model.essay import LinkSite

MARKDOWN_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class Target:
    """What a link may point at: a chapter, by its id, file and the ids of its headings."""

    id: str
    source: Path
    title_id: str
    heading_ids: tuple[str, ...]
    names: dict[str, str] = field(default_factory=dict, hash=False)  # anchor → what it is
    #   called: a chapter's "Chapter 3" (or its title), a heading's text

    def anchor(self, fragment: str) -> str | None:
        """The id a fragment names here (a heading's id or its slug), or None."""
        if fragment in (self.id, self.title_id) or fragment in self.heading_ids:
            return fragment
        fragment = fragment.removeprefix("sec:")  # pandoc-crossref's name for a section
        prefixed = f"{self.id}-{fragment}"
        if prefixed in self.heading_ids:
            return prefixed
        spelt = ids.text_slug(fragment)  # the heading's text, as Pandoc spells it in a link
        return next((heading for heading in self.heading_ids
                     if ids.text_slug(self.names.get(heading, "")) == spelt), None)

    def suggestion(self, fragment: str, where: str) -> str:
        short = [heading.removeprefix(f"{self.id}-") for heading in self.heading_ids]
        close = difflib.get_close_matches(fragment, short, n=1)
        if close:
            return f"did you mean '#{close[0]}'?"
        if short:
            return f"link to the slug of a heading, e.g. '#{short[0]}'"
        return f"{where} has no `## ` headings to link to"


def resolve(href: str, here: Target, chapters: dict[Path, Target]) -> tuple[str | None, str]:
    """(anchor, "") for a link inside this chapter; (chapter id + "#" + anchor, "") for one into
    another; (None, why) for one that goes nowhere; (None, "") for one off the book."""
    if href.startswith("#"):
        fragment = unquote(href[1:])
        anchor = here.anchor(fragment)
        if anchor is not None:
            return anchor, ""
        for other in chapters.values():  # a heading of another chapter, by its book-wide id
            if other is not here and other.anchor(fragment) == fragment:
                return f"{other.id}#{fragment}", ""
        return None, (f"'#{fragment}' names no heading in this chapter; "
                      + here.suggestion(fragment, "this chapter"))
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None, ""  # the web, or mail: not the book's to check
    if href.startswith("/") or not parts.path.lower().endswith(MARKDOWN_SUFFIXES):
        return None, (f"'{href[:60]}' is a file on the author's disk, which no reader has; "
                      "link to a chapter's file (essay.md) or to the web")
    path = unquote(parts.path)
    try:
        file = (here.source.parent / path).resolve()
    except (ValueError, OSError, RuntimeError):  # a NUL byte (%00), a link that loops
        return None, f"'{href[:60]}' is not a usable file name; link to a chapter's file"
    other = chapters.get(file)
    if other is None:
        state = "is not a chapter of the book" if file.is_file() else "does not exist"
        return None, f"'{path}' {state}; link to a chapter's file or remove the link"
    if not parts.fragment:
        return f"{other.id}#{other.id}", ""
    fragment = unquote(parts.fragment)
    anchor = other.anchor(fragment)
    if anchor is None:
        return None, (f"'#{fragment}' names no heading in '{path}'; "
                      + other.suggestion(fragment, f"'{path}'"))
    return f"{other.id}#{anchor}", ""


def resolve_links(targets: list[Target], sites: dict[str, list[LinkSite]],
                  diagnostics: Diagnostics, changes: TokenChanges) -> None:
    """Decide where every link into the book goes (its chapter and anchor, `meta["internal"]`,
    which the renderer writes per edition); warn at each link that goes nowhere, which is
    undone (its text stays)."""
    chapters = {target.source.resolve(): target for target in targets}
    by_id = {target.id: target for target in targets}
    for target in targets:
        for ordinal, site in enumerate(sites.get(target.id, [])):
            resolved, problem = resolve(site.href, target, chapters) if site.href \
                else (None, "")
            if resolved is not None:
                chapter, _, anchor = resolved.rpartition("#")
                changes.decide(target.id, "link", ordinal, "meta",
                               {"internal": (chapter or target.id, anchor)})
                name = by_id.get(chapter or target.id, target).names.get(anchor, "")
                if name and site.empty:
                    changes.decide(target.id, "link", ordinal, "name", name)
            elif problem:
                diagnostics.warn("broken-link", f"the link to '{unquote(site.href)}' goes nowhere: "
                                 f"{problem} (its text is kept, without the link)",
                                 target.source, site.line)
                changes.decide(target.id, "link", ordinal, "unlink")
