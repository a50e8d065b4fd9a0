from pathlib import Path

from chapbook.book import Book
from chapbook.diagnostics import Diagnostics


def build_epub(book: Book, out_dir: Path, diagnostics: Diagnostics) -> Path:
    raise NotImplementedError
