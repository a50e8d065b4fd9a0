"""chapbook: a folder of Markdown essays in, a typeset briefing booklet out (PDF, EPUB 3, HTML)."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed metadata when first asked for: importlib.metadata
    is not loaded into the `chapbook` command's watcher (watcher.py), which must stay small."""
    if name != "__version__":
        raise AttributeError(f"module 'chapbook' has no attribute '{name}'")
    from importlib.metadata import PackageNotFoundError, version
    try:
        found = version("chapbook")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0"
    globals()["__version__"] = found
    return found
