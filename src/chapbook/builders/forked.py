"""An edition built in a forked process beside the others: the web edition, which needs no
layout, while this process lays out the PDF (on the bundled booklet, `make all` 0.15 s sooner,
on a second core). What it finds, what it wrote (held beside its target, for this process to
commit with the other outputs) and how it failed come back as JSON through a pipe: data, never
code."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chapbook.cache import ignored_elsewhere, ignored_entries
from chapbook.diagnostics import Diagnostics
from chapbook.elsewhere import Elsewhere
from chapbook.errors import BookError, BookErrors, raise_all
from chapbook.outputs import held_writes, hold_writes


def _error(error: BookError) -> list[Any]:
    return [error.message, None if error.path is None else str(error.path), error.line,
            error.column, error.hint]


def _answer(build: Callable[[Diagnostics], Path]) -> dict[str, Any]:
    """What the fork sends back: the path written and the findings, or how it failed."""
    found = Diagnostics()
    try:
        path = build(found)
    except BookError as error:
        return {"errors": [_error(error)]}
    except BookErrors as errors:
        return {"errors": [_error(error) for error in errors.errors]}
    except OSError as error:  # a full disk, say: the parent's one line and hint
        return {"oserror": [error.errno, error.strerror, error.filename]}
    except BaseException:  # (a bug: the parent reports it with its traceback)
        return {"crash": traceback.format_exc()}
    # written beside its target, held for the parent to commit with the others (outputs.py)
    return {"path": str(path), "held": held_writes(),
            "ignored": [str(entry) for entry in ignored_entries()], "findings": found.as_data()}


class BuiltElsewhere:
    """`build` (given the Diagnostics to report into, returning the file it wrote) run in a
    forked process from now on (chapbook.elsewhere); result() waits for it. A context manager:
    a build that fails meanwhile stops it."""

    def __init__(self, edition: str, build: Callable[[Diagnostics], Path]) -> None:
        self.edition = edition
        self.fork = Elsewhere(lambda: _answer(build))

    def __enter__(self) -> BuiltElsewhere:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fork.close()

    def result(self, diagnostics: Diagnostics) -> Path:
        """The file the fork wrote, once it has; what it found added to `diagnostics`, and
        what stopped it raised here as if it had happened here."""
        answer = self.fork.answer()
        if not isinstance(answer, dict):
            answer = {}
        if "errors" in answer:
            raise_all([BookError(message, path, line, column, hint)
                       for message, path, line, column, hint in answer["errors"]])
        if "oserror" in answer:
            number, text, filename = answer["oserror"]
            raise OSError(number, text, filename) if filename else OSError(number, text)
        if "crash" in answer:
            raise BookError(f"building the {self.edition} edition failed in a forked process:\n"
                            f"{str(answer['crash']).strip()}",
                            hint="run the build with --jobs 0 to build it in one process")
        if "path" not in answer:
            raise BookError(f"the process that built the {self.edition} edition ended without "
                            "it", hint="was it killed for want of memory? try --jobs 0")
        hold_writes(answer["held"])
        ignored_elsewhere([Path(entry) for entry in answer["ignored"]])
        diagnostics.add_data(answer["findings"])
        return Path(answer["path"])
