"""`chapbook new FOLDER`: a small starter book (manifest, two essays, glossary, index and a
bibliography; a figure, a table, cross-references and a citation in the first essay) that
builds clean, as `quarto create` and `mkdocs new` make one."""

from __future__ import annotations

import uuid
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from chapbook.errors import BookError
from chapbook.read.manifest import slugify


def _starter_files(folder: Traversable, relative: Path = Path()) -> list[tuple[Path, str]]:
    found = []
    for item in sorted(folder.iterdir(), key=lambda item: item.name):
        if item.is_dir():
            found += _starter_files(item, relative / item.name)
        else:
            found.append((relative / item.name, item.read_text("utf-8")))
    return found


def new_book(folder: Path) -> list[Path]:
    """Write the starter book into `folder` (new, or empty); the files written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BookError("there is already something here", folder,
                        hint="give `chapbook new` a folder that does not exist yet, or is empty")
    name = folder.resolve().name
    today = date.today()
    values = {"slug": slugify(name) or "my-briefing",
              "title": name.replace("-", " ").replace("_", " ").strip().title() or "My Briefing",
              "identifier": str(uuid.uuid4()), "date": today.isoformat(),
              "year": str(today.year), "folder": str(folder)}
    written = []
    for relative, text in _starter_files(files("chapbook") / "starter"):
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if relative == Path("book.yml"):
            text = Template(text).substitute(values)
        target.write_text(text, "utf-8")
        written.append(target)
    return written
