"""The output folder: one build at a time (a lock), outputs written beside their targets and
renamed into place together (a commit journal), and what killed builds left swept away."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import IO

from chapbook.errors import BookError

JOURNAL = "commit.json"  # in .cache: the renames of a commit under way


class HeldOutputs:
    """Outputs written beside their targets and held there: `commit` renames them all into
    place, `discard` removes them. A build that fails, or fails `--strict` once every warning is
    known, so leaves the last good outputs as they were; a build killed while committing leaves
    a journal, and the next one finishes the renames, so the editions are replaced together."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pending: dict[Path, Path] = {}  # target -> its temporary file
        self.replaced = False  # whether any output was replaced: what Ctrl-C may claim

    def file(self, target: Path) -> Path:
        """Where the target's new content is now: its temporary file until committed."""
        return self.pending.get(target, target)

    def commit(self) -> list[Path]:
        journal = self.folder / ".cache" / JOURNAL
        renames = [[temporary.name, target.name] for target, temporary in self.pending.items()
                   if target.parent == self.folder]
        for target in self.pending:  # before any is replaced: all of them, or none
            if target.is_dir() and not target.is_symlink():
                raise BookError(f"'{target.name}' is a folder, where the build writes an "
                                "edition", target,
                                hint="move or rename that folder, or give --out another one")
        blocked = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, blocked)  # renames are quick: let them finish
        try:
            write_atomic(journal, json.dumps(renames).encode(), hold=False)
            self.replaced = True
            committed = []
            for target, temporary in self.pending.items():
                os.replace(temporary, target)
                committed.append(target)
            journal.unlink()
            self.pending.clear()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)
        return committed

    def discard(self) -> None:
        for temporary in self.pending.values():
            temporary.unlink(missing_ok=True)
        self.pending.clear()


def _finish_commit(out: Path) -> None:
    """Finish the renames a killed build's commit left in its journal. The journal is read as
    untrusted: only names of temporary outputs in this folder, renamed onto their own target."""
    journal = out / ".cache" / JOURNAL
    try:
        renames = json.loads(journal.read_bytes()) if journal.is_file() else []
    except (OSError, ValueError):
        renames = []
    for entry in renames if isinstance(renames, list) else []:
        if not (isinstance(entry, list) and len(entry) == 2
                and all(isinstance(name, str) for name in entry)):
            continue
        temporary, target = entry
        if (re.fullmatch(rf"\.{re.escape(target)}\.[A-Za-z0-9_]+\.part", temporary)
                and "/" not in target and target not in (".", "..")
                and (out / temporary).is_file() and not (out / temporary).is_symlink()):
            with contextlib.suppress(OSError):
                os.replace(out / temporary, out / target)
    journal.unlink(missing_ok=True)


# An edition's temporary file (write_atomic: `.slug.pdf.k3x9q2ab.part`): what _tidy removes of
# the output folder, which may also be someone's home (`--out ~`), and nothing else of it.
_OUR_PART = re.compile(r"\.[^/]+\.(?:pdf|epub|html|docx)\.[^./]+\.part")


def _tidy(out: Path) -> None:
    """With the folder locked: finish a killed build's commit, then remove what it left (in
    the cache, every temporary file: the cache is chapbook's alone)."""
    _finish_commit(out)
    for stale in out.glob(".*.part"):
        if _OUR_PART.fullmatch(stale.name):
            stale.unlink(missing_ok=True)
    _remove_cache_parts(out)
    shutil.rmtree(out / ".cache" / "tmp", ignore_errors=True)


def _remove_cache_parts(out: Path) -> None:
    """The cache's temporary files, of entries a killed process was writing."""
    for stale in (out / ".cache").glob("*/.*.part"):
        stale.unlink(missing_ok=True)


def _usable_cache(cache: Path) -> None:
    """The build cache is read back as untrusted, and is always safe to delete. A symbolic link
    in it (the folder, a folder of it, or an entry) would have the build read, write or sweep
    files outside the output folder: each is removed (the link, never what it points at). And
    what stands where the cache keeps a file or a folder of its own, of another kind (the cache
    a file, its lock a folder or a pipe, which `open` would wait on for ever), is removed before
    the build uses it."""
    if cache.is_symlink() or (cache.exists() and not cache.is_dir()):
        cache.unlink()
    if not cache.is_dir():
        return
    for entry in cache.iterdir():
        if entry.is_symlink():
            entry.unlink()
        elif entry.name in _CACHE_FILES and not entry.is_file():
            _remove(entry)
        elif entry.is_dir():
            for inner in entry.iterdir():
                if inner.is_symlink():
                    inner.unlink()
        elif entry.name in _CACHE_FOLDERS:
            _remove(entry)


_CACHE_FILES = {"lock", JOURNAL}  # what the cache keeps as files of its own
_CACHE_FOLDERS = {"tmp"}  # and as a folder, whatever else it holds


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


LOCK_GRACE_S = 3.0  # a build killed a moment ago takes this long at most to let its lock go


def _take_lock(handle: IO[str], wait_s: float) -> bool:
    """Lock the folder, waiting a little: a killed build's processes need a moment to end."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def tidy_after_kill(out: Path) -> None:
    """After a build killed by its limits: once its writers have let the lock go, tidy."""
    lock = out / ".cache" / "lock"
    if not lock.is_file():
        return
    with lock.open("a") as handle:
        if _take_lock(handle, LOCK_GRACE_S):  # else the next build tidies instead
            _tidy(out)


_held: ContextVar[HeldOutputs | None] = ContextVar("chapbook_held_outputs", default=None)


@contextlib.contextmanager
def held_outputs(folder: Path) -> Iterator[HeldOutputs]:
    """Within it, write_atomic holds each output until `commit`; whatever is not committed when
    it ends (an error, an interruption, a failed --strict) is removed."""
    held = HeldOutputs(folder)
    token = _held.set(held)
    try:
        yield held
    finally:
        _held.reset(token)
        held.discard()


_scratch: ContextVar[Path | None] = ContextVar("scratch", default=None)


def scratch_folder() -> Path | None:
    """Where a build keeps its temporary folders (PDF pieces): inside the locked output folder,
    so the next build sweeps what a killed one left. None outside `output_folder_lock`."""
    folder = _scratch.get()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def output_folder_lock(out: Path) -> Iterator[None]:
    """One build at a time writes into a folder: a second stops at once with a clear error
    instead of deleting the first one's temporary files. Under the lock, whatever killed builds
    left behind (temporary outputs and cache entries, pieces folders) is swept first."""
    _usable_cache(out / ".cache")
    (out / ".cache").mkdir(parents=True, exist_ok=True)
    handle = (out / ".cache" / "lock").open("a")
    try:
        if not _take_lock(handle, LOCK_GRACE_S):
            raise BookError("another chapbook build is writing into this folder", out,
                            hint="wait for it to finish, or give this build another --out")
        _tidy(out)
        token = _scratch.set(out / ".cache" / "tmp")
        try:
            yield
        finally:
            _scratch.reset(token)
            shutil.rmtree(out / ".cache" / "tmp", ignore_errors=True)
            _remove_cache_parts(out)  # (a worker killed as the build stopped: Ctrl-C, SIGTERM)
    finally:
        handle.close()  # and with it the lock


def held_writes() -> dict[str, str]:
    """The outputs write_atomic holds in this process, each target's file waiting beside it
    (for a forked process to hand to the one that commits them: hold_writes)."""
    held = _held.get()
    return {} if held is None else {str(target): str(part)
                                    for target, part in held.pending.items()}


def hold_writes(written: dict[str, str]) -> None:
    """Hold outputs another process wrote beside their targets (held_writes' answer), as if
    write_atomic had written them here; a name that is not such a file beside its target is
    refused."""
    held = _held.get()
    for target, part in written.items():
        target_path, part_path = Path(target), Path(part)
        if os.path.abspath(part_path.parent) != os.path.abspath(target_path.parent) \
                or not part_path.name.startswith(f".{target_path.name}.") \
                or part_path.suffix != ".part":
            raise ValueError(f"not a file written for {target}: {part}")
        if held is None:
            os.replace(part_path, target_path)
        else:
            held.pending[target_path] = part_path


def write_atomic(target: Path, data: bytes, hold: bool = True) -> Path:
    """Write beside the target and rename into place: a failed build leaves the last good file.
    Inside `held_outputs`, the rename waits for its commit (unless `hold` is False)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    held = _held.get() if hold else None
    if held is not None and target in held.pending:
        held.pending.pop(target).unlink(missing_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.part"):  # left by a killed build
        if held is None or stale not in held.pending.values():
            stale.unlink(missing_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 would hide the book from others
        if held is not None:
            held.pending[target] = Path(temporary)
        else:
            os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
