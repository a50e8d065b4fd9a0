"""chapbook: a folder of Markdown essays in, a typeset briefing booklet out (PDF, EPUB 3, HTML)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chapbook")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
