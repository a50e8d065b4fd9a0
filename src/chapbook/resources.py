"""Where chapbook's templates and styles live: inside the installed package (the wheel carries
them there, see pyproject.toml), or, in an editable checkout, at the top of the repository."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from chapbook.errors import BookError


def home() -> Path:
    """The folder holding templates/ and styles/: CHAPBOOK_HOME if set, else the installed
    package, else (an editable install of the source checkout) the repository's top."""
    configured = os.environ.get("CHAPBOOK_HOME")
    if configured:
        candidates = [Path(configured)]
    else:
        package = Path(str(files("chapbook")))
        candidates = [package, package.parents[1]]
    for root in candidates:
        if (root / "templates").is_dir() and (root / "styles").is_dir():
            return root.resolve()
    raise BookError(f"chapbook's templates and styles are not in '{candidates[0]}'",
                    hint="reinstall chapbook, or set CHAPBOOK_HOME to the folder that holds "
                         "templates/ and styles/")


def templates_dir() -> Path:
    return home() / "templates"


def styles_dir() -> Path:
    return home() / "styles"
