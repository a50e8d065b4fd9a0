"""The command line: argument parsing, progress lines, exit codes. The only place that catches."""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from chapbook import __version__
from chapbook.bounds import DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT_S
from chapbook.diagnostics import Diagnostics, Level
from chapbook.errors import BookError, BookErrors
from chapbook.limits import Terminated, tell_limits
from chapbook.options import DEFAULT_EDITIONS, EDITIONS, PIECE_WORDS

if TYPE_CHECKING:
    from chapbook.model.book import Book
    from chapbook.outputs import HeldOutputs
    from chapbook.progress import Reporter

EXIT_OK, EXIT_BOOK_ERROR, EXIT_STRICT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _number(option: str, low: float, high: float,
            whole: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number from low to high (a whole one if `whole`)."""
    def parse(text: str) -> float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a {'whole ' if whole else ''}number") from None
        if not math.isfinite(value) or not low <= value <= high:
            highest = f"{high:.0f}" if whole else f"{high:g}"
            raise argparse.ArgumentTypeError(f"{option} takes a number from {low:g} to "
                                             f"{highest}")
        return value
    return parse


def _from_environment(name: str, default: float | None, low: float, high: float,
                      whole: bool = False) -> float | None:
    """A default from the environment, checked as its option is; a bad one is a clear error."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return _number(name, low, high, whole)(text)
    except argparse.ArgumentTypeError as err:
        raise BookError(f"{name}={text!r}: {err}", hint=f"unset it, or give a number from "
                        f"{low:g} to {high:.0f}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chapbook",
        description="Build a typeset booklet (PDF, EPUB, HTML) from Markdown essays.")
    parser.add_argument("--version", action="version", version=f"chapbook {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="build one or more editions of the book")
    build.add_argument("formats", nargs="*", metavar="FORMAT",
                       help="html, pdf, epub, booklet (imposed for folding), print (bleed and "
                            "crop marks, PDF/X-4), docx (the reviewers' Word edition) or all: "
                            "html, pdf and epub (default: all)")
    build.add_argument("--out", type=Path, default=Path("build"),
                       help="the output folder (default: build/)")
    build.add_argument("--creep", type=_number("--creep", -10, 10), default=0.0, metavar="MM",
                       help="booklet: shift each sheet's pages by this much more than the sheet "
                            "outside it (paper thickness; positive away from the spine)")
    build.add_argument("--signature", type=_number("--signature", 1, 64, whole=True),
                       metavar="SHEETS", default=None,
                       help="booklet: sheets folded together into each signature (default: "
                            "one signature up to 16 sheets, 64 pages; a longer book in "
                            "signatures of at most 8)")
    build.add_argument("--timeout", type=_number("--timeout", 0, 7 * 24 * 3600),
                       metavar="SECONDS", default=_from_environment(
                           "CHAPBOOK_TIMEOUT", DEFAULT_TIMEOUT_S, 0, 7 * 24 * 3600),
                       help=f"stop a build that takes longer (default: {DEFAULT_TIMEOUT_S}; "
                            "0 for none; or set CHAPBOOK_TIMEOUT)")
    build.add_argument("--max-memory", type=_number("--max-memory", 0, 1 << 30, whole=True),
                       metavar="MIB", default=_from_environment(
                           "CHAPBOOK_MAX_MEMORY", DEFAULT_MEMORY_MIB, 0, 1 << 30, whole=True),
                       help="stop a build whose resident memory passes this (default: "
                            f"{DEFAULT_MEMORY_MIB}; 0 for none; or set CHAPBOOK_MAX_MEMORY)")
    build.add_argument("--jobs", type=_number("--jobs", 0, 1024, whole=True), metavar="N",
                       default=_from_environment("CHAPBOOK_JOBS", None, 0, 1024, whole=True),
                       help="a long book's PDF is laid out and written by N+1 forked "
                            "processes at once (default: one per spare core, and none for a "
                            "book shorter than one piece; 0: all in this one; or set "
                            "CHAPBOOK_JOBS)")
    build.add_argument("--piece-words", type=_number("--piece-words", 100, 10_000_000,
                                                     whole=True),
                       metavar="N", default=PIECE_WORDS,
                       help="words of body text in each piece of a long PDF those processes "
                            f"lay out and write (default: {PIECE_WORDS:,}; smaller pieces "
                            "share the work out more evenly)")
    new = commands.add_parser("new", help="write a small starter book into a new folder")
    new.add_argument("folder", type=Path, metavar="FOLDER", help="the folder to make")
    new.add_argument("--debug", action="store_true", help="show Python tracebacks")
    serve = commands.add_parser("serve", help="preview the web edition, rebuilt on every save")
    serve.add_argument("--book", type=Path, default=Path("book/book.yml"),
                       help="the manifest (default: book/book.yml)")
    serve.add_argument("--port", type=int, default=8000, help="the port (default: 8000)")
    serve.add_argument("--pdf", action="store_true",
                       help="preview the print edition too, at /pdf, laid out after each save")
    serve.add_argument("--debug", action="store_true", help="show Python tracebacks")
    importing = commands.add_parser(
        "import", help="make Word documents (.docx) into essays of the book")
    importing.add_argument("documents", nargs="+", type=Path, metavar="FILE.docx",
                           help="the Word documents; a reviewers' edition chapbook wrote "
                                "gives back one essay per chapter")
    importing.add_argument("--add", action="store_true",
                           help="also add the essays to the manifest's chapters")
    importing.add_argument("--changes", choices=("refuse", "accept", "reject"),
                           default="refuse",
                           help="tracked changes in a document: refuse to import it (default), "
                                "or accept or reject them all")
    importing.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    check = commands.add_parser("check", help="check the book without building it")
    check.add_argument("--fix", type=Path, metavar="FOLDER",
                       help="also write repaired copies of the essays (UTF-8, LF line ends, "
                            "mojibake repaired) into FOLDER; the sources stay as they are")
    for sub in (build, check):
        sub.add_argument("--quiet", "-q", action="store_true", help="print only errors")
    for sub in (build, check, importing):
        sub.add_argument("--book", type=Path, default=Path("book/book.yml"),
                         help="the manifest (default: book/book.yml)")
        sub.add_argument("--strict", action="store_true", help="fail on warnings")
        sub.add_argument("--debug", action="store_true",
                         help="show Python tracebacks for errors")
    return parser


def _print_findings(diagnostics: Diagnostics, quiet: bool) -> None:
    for finding in diagnostics.in_reading_order():
        if quiet and finding.level is not Level.ERROR:
            continue
        print(finding, file=sys.stderr)


def _usable_output_folder(out: Path) -> None:
    """--out must be a folder chapbook can write: not a file, not a device, not read-only."""
    hint = "give --out a folder you can write, such as --out build"
    if out.exists() and not out.is_dir():
        raise BookError("the output folder is a file, not a folder", out, hint=hint)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BookError(f"cannot make the output folder: {err.strerror}", out,
                        hint=hint) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BookError("the output folder is not writable", out, hint=hint)


def _note_ignored_cache(folder: Path, diagnostics: Diagnostics) -> None:
    from chapbook.cache import ignored_entries

    ignored = ignored_entries()
    if ignored:
        one = len(ignored) == 1
        diagnostics.note("cache", f"{len(ignored)} entr{'y' if one else 'ies'} of the build "
                         f"cache {'was' if one else 'were'} damaged, or not made by chapbook on "
                         f"this machine, and {'was' if one else 'were'} made again", folder)


def _build(args: argparse.Namespace) -> int:
    from chapbook.outputs import held_outputs, output_folder_lock
    from chapbook.progress import Reporter

    unknown = [f for f in args.formats if f not in (*EDITIONS, "all")]
    if unknown:
        raise BookError(f"there is no format '{unknown[0]}'",
                        hint=f"choose from {', '.join(EDITIONS)} or all")
    wanted = args.formats or ["all"]
    formats = list(dict.fromkeys(
        [f for w in wanted for f in (DEFAULT_EDITIONS if w == "all" else (w,))]))
    diagnostics = Diagnostics()
    _usable_output_folder(args.out)
    with Reporter(args.quiet) as report, output_folder_lock(args.out), \
            held_outputs(args.out) as held:
        try:
            return _build_held(args, formats, diagnostics, report, held)
        except KeyboardInterrupt as interrupt:
            print("\nchapbook: interrupted; " + (
                "the new outputs had already replaced the old ones" if held.replaced else
                "the previous outputs are untouched"), file=sys.stderr)
            return 128 + signal.SIGTERM if isinstance(interrupt, Terminated) \
                else EXIT_INTERRUPTED
        finally:
            _remove_font_folders()


def _remove_font_folders() -> None:
    """The fonts a layout wrote into TMPDIR removed (typesetter.remove_font_folders); the
    module is looked for, not imported, so that a build without a layout does not load
    WeasyPrint for it."""
    typesetter = sys.modules.get("chapbook.layout.typesetter")
    if typesetter is not None:
        typesetter.remove_font_folders()


def _build_held(args: argparse.Namespace, formats: list[str], diagnostics: Diagnostics,
                report: Reporter, held: HeldOutputs) -> int:
    """The build proper, inside the output folder's lock, its outputs held until the end."""
    from chapbook.build import build
    from chapbook.options import BuildOptions

    options = BuildOptions(args.book, args.out, tuple(formats), args.creep, args.jobs,
                           args.piece_words, args.signature)
    built = build(options, diagnostics, _Progress(report, held))
    book = built.book
    _note_ignored_cache(args.out / ".cache", diagnostics)
    _print_findings(diagnostics, args.quiet)
    warnings = diagnostics.count(Level.WARNING)
    pages = built.page_counts.get("pdf")
    if args.strict and warnings:
        held.discard()  # every warning is known only now: keep the last good outputs
        print(f"chapbook: --strict: {warnings} warning(s); the outputs were not replaced",
              file=sys.stderr)
        return EXIT_STRICT
    for target in held.commit():
        report.wrote(target)
    report.summary(len(book.chapters), book.word_count, pages, warnings)
    return EXIT_OK


class _Progress:
    """The build's progress drawn by the Reporter; a PDF's bar ends at the file's pages."""

    def __init__(self, report: Reporter, held: HeldOutputs) -> None:
        self.report, self.held = report, held
        self.stage, self.advance = report.stage, report.advance

    def read(self, book: Book) -> None:
        chapters, parts = len(book.chapters), len(book.real_parts)
        where = f" in {parts} part{'s' * (parts != 1)}" if parts else ""
        self.report.line(f"read {chapters} chapter{'s' * (chapters != 1)}{where}, "
                         f"{book.word_count:,} words")

    def written(self, edition: str, path: Path, pages: int | None) -> None:
        if path.suffix == ".pdf" and self.report.fancy:
            self.report.settle(pages or _page_count(self.held.file(path)))


def _page_count(pdf: Path) -> int | None:
    """A PDF's pages, read back: for an edition whose builder does not count them (the booklet,
    which imposes with pikepdf already), for its progress bar."""
    import pikepdf

    if not pdf.is_file():
        return None
    with pikepdf.open(pdf) as document:
        return len(document.pages)


def _check(args: argparse.Namespace) -> int:
    from chapbook.check import check_book, report, write_repaired

    diagnostics = check_book(args.book)
    status = report(diagnostics, args.strict, args.quiet)
    if args.fix:
        for path in write_repaired(args.book, args.fix):
            if not args.quiet:
                print(f"chapbook: wrote {path}")
    return status


def _import(args: argparse.Namespace) -> int:
    """Import the documents, then check the book as `chapbook check` does: what the imported
    essays need (an image's alt text, a link) is said at its line."""
    from chapbook.check import check_book, report
    from chapbook.importing import import_documents

    diagnostics = Diagnostics()
    written = import_documents(args.documents, args.book, diagnostics, args.add, args.changes)
    for path in written:
        if not args.quiet:
            print(f"chapbook: wrote {path}")
    if not args.add and written and not args.quiet:
        print("chapbook: add them to the book's chapters in "
              f"{args.book} (or import with --add):", file=sys.stderr)
        for path in written:
            entry = path.resolve().relative_to(args.book.parent.resolve()).as_posix()
            print(f"  - file: {entry}", file=sys.stderr)
    checked = check_book(args.book)
    imported = {path.resolve() for path in written}
    diagnostics.findings += [finding for finding in checked.findings
                             if finding.path is not None and Path(finding.path).resolve()
                             in imported]
    return report(diagnostics, args.strict, args.quiet)


def _new(args: argparse.Namespace) -> int:
    from chapbook.new import new_book

    new_book(args.folder)
    manifest = args.folder / "book.yml"
    print(f"chapbook: wrote a starter book in {args.folder}\n  build it:  chapbook build all "
          f"--book {manifest}\n  check it:  chapbook check --book {manifest}")
    return EXIT_OK


def _reported(args: argparse.Namespace, work: Callable[[], int]) -> int:
    """Run a command; a user's mistake, or a fault of the machine (a full disk, a folder that
    cannot be read), becomes its message and exit status 1. Only --debug shows tracebacks."""
    try:
        return work()
    except BookErrors as errors:
        if args.debug:
            raise
        for error in errors.errors:
            print(error, file=sys.stderr)
    except BookError as error:
        if args.debug:
            raise
        print(error, file=sys.stderr)
    except KeyboardInterrupt as interrupt:
        print("\nchapbook: interrupted", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED
    except MemoryError:
        if args.debug:
            raise
        print("error: the machine ran out of memory\n  hint: close other programs, or build "
              "one edition at a time", file=sys.stderr)
    except RecursionError:
        if args.debug:
            raise
        print("error: something in the book is nested too deeply to lay out\n  hint: flatten "
              "deeply nested raw HTML or lists; run with --debug to see where", file=sys.stderr)
    except OSError as error:
        if args.debug:
            raise
        where = f"{error.filename}: " if error.filename else ""
        print(f"{where}error: {error.strerror or error}\n  hint: "
              + _OS_HINTS.get(error.errno or 0, "check the file and its folder, then build "
                              "again"), file=sys.stderr)
    except Exception as error:  # a bug in chapbook: one line, and the way to the traceback
        if args.debug:
            raise
        print(f"error: chapbook failed unexpectedly ({type(error).__name__}: {error})\n  hint: "
              "run again with --debug for the traceback, and report it with the book",
              file=sys.stderr)
    return EXIT_BOOK_ERROR


_OS_HINTS = {errno.ENOSPC: "the disk (or TMPDIR) is full: free some space and build again",
             errno.EDQUOT: "your disk quota is used up: free some space and build again",
             errno.EACCES: "you may not read or write this file: check its permissions",
             errno.EROFS: "this file system is read-only: give --out a folder you can write",
             errno.ELOOP: "a symbolic link here points back at itself: fix or remove it"}


def main(argv: list[str] | None = None) -> int:
    """The command line, in this process (the `chapbook` command runs it under watcher.py)."""
    try:
        args = _parser().parse_args(argv)
    except BookError as error:  # a bad CHAPBOOK_* setting
        print(error, file=sys.stderr)
        return EXIT_BOOK_ERROR
    if args.command == "build":
        tell_limits(args.timeout or None, args.max_memory or None, args.out)
        return _reported(args, lambda: _build(args))
    if args.command == "check":
        return _reported(args, lambda: _check(args))
    if args.command == "new":
        return _reported(args, lambda: _new(args))
    if args.command == "import":
        return _reported(args, lambda: _import(args))
    from chapbook.serve import serve
    return _reported(args, lambda: serve(args.book, args.port, pdf=args.pdf) or EXIT_OK)
