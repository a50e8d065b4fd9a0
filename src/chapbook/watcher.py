"""The `chapbook` command: a build's bounds, a wall-clock limit and a memory limit, enforced from
outside the build.

The command forks at once; the child runs it (cli.main) and this process watches its clock and
the memory of the child and of the writers it forks, and kills them all when a limit passes.
Exceptions raised inside the build by a signal (as chapbook once did) overshoot, are swallowed by
`except` blocks and finalizers, and abort native code (Pango) midway; SIGKILL from outside cannot
be caught, and the child's temporary outputs are swept here afterwards. The child tells the
watcher its limits and what it is working on (limits.py), so the error still names the essay.

The watcher forks before it imports anything of chapbook's but this module (a few standard
modules, all of them loaded by Python itself): whatever it holds stays in memory beside the
build for the whole of it. Forked after argument parsing, as it once was, it held 13 MiB of
the booklet's 148; now 4."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time

from chapbook.bounds import DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT_S

POLL_S = 0.05  # how often the watcher looks: a runaway build passes a limit by at most this
EXIT_BOOK_ERROR = 1  # as cli.py's


def run() -> int:
    """The `chapbook` command. A `build` runs watched; the other commands, which have no limits,
    run in this process."""
    argv = sys.argv[1:]
    command = next((word for word in argv if not word.startswith("-")), None)
    if command != "build" or not hasattr(os, "fork") or not os.path.isdir("/proc"):
        from chapbook.cli import main
        return main(argv)
    reader, writer = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    # Held through the fork, each process lets them in once it can take them: a Ctrl-C that
    # reached the child as os.fork() returned in it was raised on that line, before its try,
    # and printed a traceback (test_cli_limits, under load: 1 run in 14); in this process it
    # would lose the child's pid.
    stopping = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    child = os.fork()
    if child == 0:
        os.close(reader)
        status = 1
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)
            from chapbook.limits import watched_build
            watched_build(writer)
            from chapbook.cli import main
            status = main(argv)
        except SystemExit as leaving:  # argparse's --help, --version and usage errors
            status = leaving.code if isinstance(leaving.code, int) else leaving.code is not None
        except KeyboardInterrupt as stopped:  # before cli.main could say so: as it says it
            print("\nchapbook: interrupted", file=sys.stderr)
            status = _stopped_status(stopped)
        except BaseException:  # only --debug lets an error through: its traceback, as asked
            import traceback
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    os.close(writer)
    # Ctrl-C reaches the child from the terminal, and the child reports it; a SIGTERM sent to
    # this process alone is passed on, so the child is never left behind (until the child is
    # reaped: _Watch.reaped).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGTERM))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stopping)
    try:  # readable once the child has exited: no wait of up to POLL_S after it is done
        exited = [os.pidfd_open(child)]
    except (AttributeError, OSError):  # not Linux 5.3 or later
        exited = []
    watch = _Watch(child, reader, exited)
    watch.seconds = _asked(argv, "--timeout", "CHAPBOOK_TIMEOUT", DEFAULT_TIMEOUT_S, float)
    watch.megabytes = int(_asked(argv, "--max-memory", "CHAPBOOK_MAX_MEMORY", DEFAULT_MEMORY_MIB,
                                 int))
    return watch.run()


def _stopped_status(stopped: KeyboardInterrupt) -> int:
    """The exit status cli.py gives a build stopped by SIGTERM (limits.Terminated: 143) or by
    Ctrl-C (130), for one stopped before cli.py could catch it (while it was being imported)."""
    limits = sys.modules.get("chapbook.limits")
    terminated = limits is not None and isinstance(stopped, getattr(limits, "Terminated", ()))
    return 128 + signal.SIGTERM if terminated else 130


def _asked(argv: list[str], option: str, variable: str, default: float,
           number: type[int] | type[float]) -> float:
    """The limit `option` (or else `variable` in the environment) sets, read as the command line
    reads it (`number`: int for a whole number) but for abbreviations: the watcher applies it from
    the start, until the child has parsed its options and says what they are (a build held from
    its first instant is still stopped). A value the command line refuses is no limit here:
    `--max-memory 1.5` was read as 1 MiB, and the build killed before it could say so."""
    value = os.environ.get(variable, "").strip()
    for index, word in enumerate(argv):
        if word == option and index + 1 < len(argv):
            value = argv[index + 1]
        elif word.startswith(option + "="):
            value = word.partition("=")[2]
    try:
        limit = number(value) if value else default
    except ValueError:
        return default
    return limit if 0 <= limit < 1e12 else default  # (the child says why it is not a limit)


def _path(hexed: str) -> str | None:
    """A path the build sent hex-encoded (limits.py), any byte of it a tab or a newline."""
    try:
        return os.fsdecode(bytes.fromhex(hexed)) if hexed else None
    except ValueError:
        return None


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(child) for child in f.read().split()]
    return found


def _tree(pid: int) -> list[int]:
    """The process and every process below it."""
    tree, waiting = [], [pid]
    while waiting:
        current = waiting.pop()
        tree.append(current)
        waiting += _children(current)
    return tree


def _resident(pid: int) -> int:
    """A process's resident size; 0 once it is gone. Cheap: read at every look."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _proportional(pid: int) -> int:
    """A process's proportional set size: its shared pages divided among the processes sharing
    them, so pages a forked writer shares with the build count once. Dearer (milliseconds for a
    large process), so read only when the resident sizes add up to more than the limit."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _resident(pid)


def _over(pids: list[int], limit: int) -> bool:
    return sum(map(_resident, pids)) > limit and sum(map(_proportional, pids)) > limit


def _to_blame(doing: dict[str, tuple[int, float, str]]) -> str:
    """What a limit passed in: of the build's processes, the work nested deepest (an essay
    within an edition) and, of those, the one begun first. In a book laid out in parallel, a
    worker that ends a chapter says so after another began the slow one."""
    if not doing:
        return "\t"
    return min(doing.values(), key=lambda work: (-work[0], work[1]))[2]


class _Watch:
    """The watcher's state: what the child said (its limits, its work, the folders it made
    outside its output folder) and when it began."""

    def __init__(self, child: int, reader: int, exited: list[int]) -> None:
        self.child, self.reader, self.exited = child, reader, exited
        self.began = time.monotonic()
        self.seconds: float = 0  # the limits (0: none), as the child says once it has parsed
        self.megabytes = 0  # its options
        self.out: str | None = None  # the build's output folder
        self.doing: dict[str, tuple[int, float, str]] = {}  # each process's depth, since, what
        self.folders: set[str] = set()  # the build's folders outside OUT (limits.leaves_behind)

    def run(self) -> int:
        try:
            return self._watched()
        finally:
            os.close(self.reader)
            for descriptor in self.exited:
                os.close(descriptor)

    @staticmethod
    def reaped() -> None:
        """The child is gone and its pid free for another process: a SIGTERM is no longer
        passed on (it raised ProcessLookupError in the middle of tidying up), and this process
        finishes what it says and tidies."""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def _heard(self, line: str) -> None:
        pid, kind, what = [*line.split("\t", 2), "", ""][:3]
        if kind.isdigit():
            self.doing[pid] = (int(kind), time.monotonic(), what)
        elif kind == "folder" and (folder := _path(what)) is not None \
                and os.path.basename(folder).startswith("weasyprint-"):
            self.folders.add(folder)
        elif kind == "limits":
            seconds, megabytes, out = [*what.split("\t"), "", "", ""][:3]
            with contextlib.suppress(ValueError):
                self.seconds, self.megabytes = float(seconds), int(megabytes)
            self.out = _path(out)

    def _watched(self) -> int:
        pending, listening = b"", True
        while True:
            ready, _, _ = select.select(([self.reader] if listening else []) + self.exited,
                                        [], [], POLL_S)
            if self.reader in ready:
                chunk = os.read(self.reader, 65536)
                listening = bool(chunk)  # the end: the child is leaving
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._heard(line.decode("utf-8", "replace"))
            done, status = os.waitpid(self.child, os.WNOHANG)
            if done:
                self.reaped()
                if os.WIFSIGNALED(status):  # killed from outside: the OOM killer, or a user
                    self._tidy()
                    number = os.WTERMSIG(status)
                    print(f"error: the build was stopped by {signal.Signals(number).name} "
                          "before it finished; the outputs it had not replaced are kept\n  "
                          "hint: if no one stopped it, the machine may have run out of "
                          "memory: build again with --jobs 0, or close other programs",
                          file=sys.stderr)
                    return 128 + number
                return os.WEXITSTATUS(status)
            passed = None
            if self.seconds and time.monotonic() > self.began + self.seconds:
                passed = ("took longer than", f"{self.seconds:g} s", "--timeout SECONDS")
            elif self.megabytes and _over(_tree(self.child), self.megabytes * 1024 * 1024):
                passed = ("needed more memory than", f"{self.megabytes} MiB",
                          "--max-memory MIB")
            if passed is not None:
                return self._stopped(*passed)

    def _stopped(self, what: str, limit: str, option: str) -> int:
        """The build and its writers killed, what they left tidied, and the error said."""
        for pid in reversed(_tree(self.child)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(self.child, 0)
        self.reaped()
        self._tidy()
        from pathlib import Path

        from chapbook.errors import BookError
        source, _, task = _to_blame(self.doing).partition("\t")
        path = _path(source)
        error = BookError(f"the build {what} its limit of {limit}"
                          + (f" while {task}" if task else ""),
                          Path(path) if path else None,
                          hint=("something very large or deeply nested may be to blame; "
                                f"shorten it, or raise the limit with {option}"))
        if sys.stderr.isatty():
            sys.stderr.write("\n")  # off the child's progress line
        print(error, file=sys.stderr)
        return EXIT_BOOK_ERROR

    def _tidy(self) -> None:
        """What a killed build left: its temporary outputs, and WeasyPrint's folders of fonts
        it told of (if they are in TMPDIR)."""
        import shutil
        import tempfile
        from pathlib import Path

        from chapbook.outputs import tidy_after_kill
        if self.out is not None:
            tidy_after_kill(Path(self.out))
        for folder in map(Path, self.folders):
            if folder.parent == Path(tempfile.gettempdir()) and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
