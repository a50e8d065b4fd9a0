"""`make bench`: chapbook against one raw WeasyPrint layout and against pandoc, side by side on
this machine, in one run. Prints a table of wall time and peak memory (median of the runs) and the
ratios, and writes bench/RESULTS.md. Sizes: BENCH_SIZES (default "5,200"; add 1000 for the
largest), runs per measurement: BENCH_RUNS (default 3; one for books over 200 chapters)."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from generate import BUNDLED, generate

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(os.environ.get("BENCH_DIR", "/tmp/chapbook-bench"))
BIN = Path(sys.executable).parent


def measure(command: list[str], runs: int, before=None) -> tuple[float, float]:
    """Median wall time (s) and peak resident memory (MiB) of a command."""
    times, peaks = [], []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - started)
        peaks.append(usage.ru_maxrss / 1024)
        if status != 0:
            raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return statistics.median(times), statistics.median(peaks)


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
    runs = int(os.environ.get("BENCH_RUNS", "3")) if size <= 200 else 1
    chapbook = [str(BIN / "chapbook"), "build", "--quiet", "--book", str(manifest), "--out",
                str(out)]
    essays = sorted((manifest.parent / "essays").glob("*.md"))
    final = WORK / f"final-{size}.html"
    subprocess.run([sys.executable, str(ROOT / "bench" / "final_html.py"), str(manifest),
                    str(final)], check=True, cwd=ROOT)
    rows = [
        ("chapbook pdf", *measure([*chapbook, "pdf"], runs)),
        ("raw WeasyPrint (floor)", *measure([sys.executable, str(ROOT / "bench" /
                                             "raw_weasyprint.py"), str(final),
                                             str(WORK / "raw.pdf")], runs)),
        ("chapbook epub", *measure([*chapbook, "epub"], runs)),
    ]
    if shutil.which("pandoc"):
        rows.append(("pandoc epub", *measure(["pandoc", "-o", str(WORK / "pandoc.epub"),
                                               "--metadata", "title=Bench", "--toc",
                                               *map(str, essays)], runs)))
    rows.append(("chapbook html", *measure([*chapbook, "html"], runs)))
    make = ["make", "-s", "pdf", f"BOOK={manifest}", f"OUT={out}"]
    subprocess.run(make, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    rows.append(("no-op make pdf", *measure(make, runs)))
    changed = essays[len(essays) // 2]
    original = changed.read_text("utf-8")

    def change() -> None:
        changed.write_text(original + f"\nA changed sentence at {time.time()}.\n", "utf-8")
    rows.append(("pdf after one essay changed", *measure([*chapbook, "pdf"], runs, change)))
    changed.write_text(original, "utf-8")
    return rows


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "5,200").split(",")]
    report = ["# Benchmark results", "",
              f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, {platform.platform()}; run "
              f"{time.strftime('%Y-%m-%d %H:%M')} by `make bench` (bench/run.py).", ""]
    for size in sizes:
        rows = bench(size)
        table = {name: (seconds, mib) for name, seconds, mib in rows}
        floor = table["raw WeasyPrint (floor)"]
        lines = [f"## {size} chapters" if size > 5 else "## The bundled booklet (5 chapters)",
                 "", "| measurement | wall time (s) | peak memory (MiB) | ratio |",
                 "|---|---:|---:|---|"]
        for name, seconds, mib in rows:
            ratio = ""
            if name == "chapbook pdf":
                ratio = (f"{seconds / floor[0]:.2f}× time, {mib / floor[1]:.2f}× memory of "
                         "the floor")
            elif name == "chapbook epub" and "pandoc epub" in table:
                ratio = f"{seconds / table['pandoc epub'][0]:.2f}× pandoc's time"
            lines.append(f"| {name} | {seconds:.2f} | {mib:.0f} | {ratio} |")
        print("\n".join(lines), flush=True)
        report += [*lines, ""]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(report) + "\n", "utf-8")


if __name__ == "__main__":
    main()
