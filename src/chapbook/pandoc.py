"""The one door to pandoc, which reads and writes Word documents for chapbook (the reviewers'
.docx edition, `chapbook import`): the build pypandoc-binary ships, pinned in pyproject.toml, so
every machine converts alike. It always runs sandboxed (no file is read but those named on its
command line, nothing is fetched), with a time limit, and what it says on failure becomes a
BookError naming the file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from chapbook.errors import BookError

# The reviewers' edition (builders/docx.py) and `chapbook import` (importing/) agree on these:
# the Word paragraph styles chapbook gives what it writes around an essay (so a reviewer sees
# what is generated, and import leaves it out), and the custom document properties that say
# where the chapters are.
GENERATED_STYLE_PREFIX = "Chapbook "
CHAPTER_LEVEL_PROPERTY = "chapbook-chapter-level"
CHAPTERS_PROPERTY = "chapbook-chapters"

# A conversion that takes longer is stuck (a hostile document): a 200-chapter book takes 10 s.
PANDOC_TIMEOUT_S = 300


def _binary() -> str:
    from pypandoc import get_pandoc_path  # the binary inside pypandoc-binary's wheel

    try:
        return str(get_pandoc_path())
    except OSError:
        raise BookError("pandoc, which reads and writes Word documents, is not installed",
                        hint="run `make pdf` or `pip install -e .` again: pypandoc-binary "
                             "ships it") from None


def pandoc(arguments: list[str], source: Path, stdin: bytes = b"",
           epoch: int | None = None) -> bytes:
    """pandoc's output for `arguments` (with `stdin` as its input), sandboxed; `source` is the
    file a failure is reported against; `epoch` stamps a Word file's dates and ZIP entries."""
    environment = {key: value for key, value in os.environ.items()
                   if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    if epoch is not None:
        environment["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        result = subprocess.run([_binary(), "--sandbox", *arguments], input=stdin,
                                capture_output=True, timeout=PANDOC_TIMEOUT_S,
                                env=environment, check=False)
    except subprocess.TimeoutExpired:
        raise BookError(f"pandoc took more than {PANDOC_TIMEOUT_S} s on this file", source,
                        hint="the document may be damaged or hostile; open it in Word and "
                             "save it again") from None
    if result.returncode != 0:
        said = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BookError(f"pandoc could not convert this file: {said[-1] if said else ''}",
                        source, hint="check that it is a Word document (.docx) that Word "
                                     "opens; save it again from Word if it is")
    return result.stdout
