"""`make bench`: chapbook against one raw WeasyPrint layout and against pandoc, side by side on
this machine, in one run. Prints a table of wall time and peak memory (median of the runs) and the
ratios, and writes bench/RESULTS.md. Sizes: BENCH_SIZES (default "5,200"; add 1000 for the
largest), runs per measurement: BENCH_RUNS (default 3; one for books of 100 chapters or more);
the PDF and its two floors are run in turn, the floor once more at the end (side_by_side).
BENCH_MEMORY=0 leaves out the runs that measure memory (a third of the time the benchmark takes);
the memory column then says "-".
Books over 200 chapters skip the rows that only repeat a layout (one process, nothing cached,
after a change), or one run would take hours on a small machine.

Peak memory is that of the whole process tree, sampled every 20 ms as the sum of each process's
proportional set size (PSS): chapbook's forked PDF writers share the parent's pages, which
counting each process's RSS would count twice, and which the kernel's ru_maxrss (the largest
single process) would not count at all. It is measured in a run of its own, after the timed
runs: a sample reads every process's page tables, and sampling took half a core during a
200-chapter build (27 ms a sample), from a build that uses both cores and from the one-core
floor's spare one."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from generate import BUNDLED, generate

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("BENCH_DIR", "/tmp/chapbook-bench"))
BIN = Path(sys.executable).parent
FLOOR = "raw WeasyPrint (floor)"
TAGGED_FLOOR = "raw WeasyPrint, tagged PDF/UA-1"
MEMORY = os.environ.get("BENCH_MEMORY", "1") != "0"


def _tree(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):  # the process ended meanwhile
            for task in list(Path(f"/proc/{current}/task").glob("*/children")):
                pending += [int(child) for child in task.read_text().split()]
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _time(command: list[str], before=None) -> float:
    """Wall time (s) of one run of a command, nothing sampling it."""
    if before:
        before()
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=ROOT)
    ended = time.perf_counter()
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr.decode()}")
    return ended - started


def _peak(command: list[str], before=None) -> float:
    """Peak memory of the process tree (MiB) of one run of a command; NaN when BENCH_MEMORY=0
    leaves the run out."""
    if not MEMORY:
        return math.nan
    if before:
        before()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               cwd=ROOT)
    peak = 0
    while process.poll() is None:
        peak = max(peak, sum(_pss_kib(pid) for pid in _tree(process.pid)))
        time.sleep(0.02)
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return peak / 1024


def measure(command: list[str], runs: int, before=None) -> tuple[float, float]:
    """Median wall time (s) of `runs` runs of a command, and the peak memory of its process
    tree (MiB) in one run more."""
    return (statistics.median(_time(command, before) for _ in range(runs)),
            _peak(command, before))


def side_by_side(commands: dict[str, tuple[list[str], Any]],
                 runs: int) -> dict[str, tuple[float, float]]:
    """Each command's median wall time and peak memory, as measure() gives them, the commands
    timed in turn (one run of each before the next of any) and the first once more at the end:
    this machine's speed drifts by a tenth or more over minutes, and measured one after the
    other, a long book's ratios to the floor moved with it. The first (the floor) brackets the
    others."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, before) in commands.items():
            times[name].append(_time(command, before))
    first = next(iter(commands))
    times[first].append(_time(*commands[first]))
    return {name: (statistics.median(taken), _peak(*commands[name]))
            for name, taken in times.items()}


def book_for(size: int) -> Path:
    if size <= 5:
        folder = WORK / "booklet"
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(BUNDLED, folder)
        return folder / "book.yml"
    return generate(size, WORK / f"book-{size}")


def bench(size: int) -> list[tuple[str, float, float]]:
    manifest = book_for(size)
    out = WORK / f"out-{size}"
    runs = int(os.environ.get("BENCH_RUNS", "3")) if size < 100 else 1
    big = size > 200
    chapbook = [str(BIN / "chapbook"), "build", "--quiet", "--book", str(manifest), "--out",
                str(out)]
    essays = sorted((manifest.parent / "essays").glob("*.md"))
    final = WORK / f"final-{size}.html"
    subprocess.run([sys.executable, str(ROOT / "bench" / "final_html.py"), str(manifest),
                    str(final)], check=True, cwd=ROOT)
    raw = [sys.executable, str(ROOT / "bench" / "raw_weasyprint.py"), str(final),
           str(WORK / "raw.pdf")]

    def forget() -> None:  # nothing cached: every essay parsed, the book laid out
        shutil.rmtree(out / ".cache", ignore_errors=True)

    pdf = side_by_side({FLOOR: (raw, None), "chapbook pdf": ([*chapbook, "pdf"], forget),
                        TAGGED_FLOOR: ([*raw, "pdf/ua-1"], None)}, runs)
    rows = [(name, *pdf[name]) for name in ("chapbook pdf", FLOOR, TAGGED_FLOOR)]
    if not big:
        rows += [("chapbook pdf, one process (--jobs 0)",
                  *measure([*chapbook, "pdf", "--jobs", "0"], runs, forget)),
                 ("chapbook epub, nothing cached", *measure([*chapbook, "epub"], runs, forget))]
    subprocess.run([*chapbook, "pdf"], check=True, cwd=ROOT)
    rows.append(("chapbook epub after the pdf", *measure([*chapbook, "epub"], runs)))
    if shutil.which("pandoc"):
        rows.append(("pandoc epub", *measure(["pandoc", "-o", str(WORK / "pandoc.epub"),
                                               "--metadata", "title=Bench", "--toc",
                                               *map(str, essays)], runs)))
    rows.append(("chapbook html", *measure([*chapbook, "html"], runs)))
    make = ["make", "-s", "pdf", f"BOOK={manifest}", f"OUT={out}"]
    subprocess.run(make, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    rows.append(("no-op make pdf", *measure(make, runs)))
    if big:
        return rows
    changed = essays[len(essays) // 2]
    original = changed.read_text("utf-8")

    def change() -> None:
        changed.write_text(original + f"\nA changed sentence at {time.time()}.\n", "utf-8")

    def change_and_build_pdf() -> None:  # `make all` order: the PDF, then the EPUB
        change()
        subprocess.run([*chapbook, "pdf"], check=True, cwd=ROOT)
    rows.append(("pdf after one essay changed", *measure([*chapbook, "pdf"], runs, change)))
    rows.append(("epub after one essay changed and the pdf rebuilt",
                 *measure([*chapbook, "epub"], runs, change_and_build_pdf)))
    changed.write_text(original, "utf-8")
    if size <= 5:
        fresh = WORK / "out-all"
        rows.append(("make all (pdf, epub, html) from nothing",
                     *measure(["make", "-s", "all", f"BOOK={manifest}", f"OUT={fresh}"], runs,
                              lambda: shutil.rmtree(fresh, ignore_errors=True))))
    return rows


def _ratio(name: str, seconds: float, mib: float,
           table: dict[str, tuple[float, float]]) -> str:
    floor, tagged = table[FLOOR], table[TAGGED_FLOOR]
    if name.startswith("chapbook pdf"):
        memory = "" if math.isnan(mib) else f", {mib / floor[1]:.2f}× memory"
        return (f"{seconds / floor[0]:.2f}× time{memory} of the floor; "
                f"{seconds / tagged[0]:.2f}× time of the tagged floor")
    if name.startswith("chapbook epub") and "pandoc epub" in table:
        return f"{seconds / table['pandoc epub'][0]:.2f}× pandoc's time"
    if name.startswith("make all"):
        return f"{seconds / floor[0]:.2f}× the floor's time"
    return ""


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "5,200").split(",")]
    report = ["# Benchmark results", "",
              f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, {platform.platform()}; run "
              f"{time.strftime('%Y-%m-%d %H:%M')} by `make bench` (bench/run.py).", "",
              "The floor is one raw WeasyPrint run on chapbook's final HTML (every page "
              "reference already text), writing an untagged PDF; the tagged floor is the same "
              "run writing PDF/UA-1, as chapbook's reading edition is. Memory is the peak of "
              "the whole process tree (sum of PSS), in a run of its own after the timed ones.",
              ""]
    growth: dict[int, dict[str, float]] = {}
    for size in sizes:
        rows = bench(size)
        table = {name: (seconds, mib) for name, seconds, mib in rows}
        growth[size] = {name: seconds for name, seconds, _ in rows}
        lines = [f"## {size} chapters" if size > 5 else "## The bundled booklet (5 chapters)",
                 "", "| measurement | wall time (s) | peak memory (MiB) | ratio |",
                 "|---|---:|---:|---|"]
        lines += [f"| {name} | {seconds:.2f} | {'-' if math.isnan(mib) else f'{mib:.0f}'} | "
                  f"{_ratio(name, seconds, mib, table)} |" for name, seconds, mib in rows]
        print("\n".join(lines), flush=True)
        report += [*lines, ""]
    big = sorted(s for s in sizes if s > 5)
    if len(big) >= 2:
        small, large = big[0], big[-1]
        lines = [f"## Growth from {small} to {large} chapters ({large / small:g}× the text)", "",
                 "| measurement | time ratio | per chapter, against linear |", "|---|---:|---:|"]
        for name in ("chapbook pdf", FLOOR, "chapbook epub, nothing cached",
                     "chapbook epub after the pdf", "pandoc epub", "chapbook html"):
            if name in growth[small] and name in growth[large]:
                ratio = growth[large][name] / growth[small][name]
                lines.append(f"| {name} | {ratio:.2f}× | {ratio / (large / small):.2f} |")
        print("\n".join(lines), flush=True)
        report += [*lines, ""]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(report) + "\n", "utf-8")


if __name__ == "__main__":
    main()
