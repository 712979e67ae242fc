"""Benchmark: NEQ-20, 100,000 rows to an Excel workbook, nefkit against a bare XlsxWriter loop.

(a) nefkit: ``nefkit score neq-20 data.csv -o nefkit.xlsx`` on the synthetic NEQ-20 data of
    ``score_neq20.py`` (same generator, same seed), the whole command as a user runs it;
(b) bare: a plain XlsxWriter ``constant_memory`` loop writing the same cells as nefkit's two
    large sheets: Scores (read from nefkit's CSV output of the same data, numbers as numbers)
    and Responses (the answers as received, read from the data file), with nothing else: no
    checks, no summary, no styles.

For reference, ``nefkit score neq-20 data.csv -o nefkit.csv`` runs too, so that the cost of the
workbook can be told from the cost of reading and scoring. Everything runs again at a tenth of
the rows, to show whether peak memory grows with the rows. Each run is a separate subprocess
under ``/usr/bin/time -v`` (or, without GNU time, a wrapper reading ``getrusage``). Run with the
Python of the environment nefkit is installed in. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Optional

from score_neq20 import Run, generate, gnu_time_works, machine_facts, measure, ratio

TARGET = 1.3  # nefkit's wall time at most this many times the bare loop's

# (b) The bare loop: what any program writing these cells with XlsxWriter must at least do.
BARE_PROGRAM = r'''
"""Bare XlsxWriter constant_memory loop writing the cells of nefkit's Scores and Responses
sheets. Usage: python bare_xlsxwriter.py SCORES.csv DATA.csv OUT.xlsx"""
import csv
import sys
import time

import xlsxwriter

scores_csv, data_csv, dst = sys.argv[1:4]
start = time.perf_counter()
book = xlsxwriter.Workbook(
    dst,
    {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    },
)

# Scores: nefkit's CSV output, a column to the right (column A is nefkit's attention column).
ws = book.add_worksheet("Scores")
write_string, write_number = ws.write_string, ws.write_number
with open(scores_csv, encoding="utf-8", newline="") as handle:
    rows = csv.reader(handle)
    header = next(rows)
    for col, name in enumerate(["attention", *header]):
        write_string(0, col, name)
    words = {"respondent_id", "administered_at", "row_status", "notes", "instrument"}
    text = {
        col
        for col, name in enumerate(header, 1)
        if name in words or name.endswith("_status") or name.startswith("flag_")
    }
    for row, cells in enumerate(rows, 1):
        for col, cell in enumerate(cells, 1):
            if cell == "":
                continue
            if col in text:
                write_string(row, col, cell)
            elif cell.isdigit():
                write_number(row, col, int(cell))
            else:
                write_number(row, col, float(cell))

# Responses: row number, respondent and every answer cell as received, as text.
ws = book.add_worksheet("Responses")
write_string, write_number = ws.write_string, ws.write_number
with open(data_csv, encoding="utf-8", newline="") as handle:
    rows = csv.reader(handle)
    header = next(rows)
    names = ["attention", "row", "respondent_id", "session", "administered_at", *header[1:]]
    for col, name in enumerate(names):
        write_string(0, col, name)
    for row, cells in enumerate(rows, 1):
        write_number(row, 1, row + 1)
        write_string(row, 2, cells[0])
        for col, cell in enumerate(cells[1:], 5):
            if cell != "":
                write_string(row, col, cell)
book.close()
print(f"xlsxwriter {xlsxwriter.__version__}: {time.perf_counter() - start:.2f} s")
'''


def count_xml(path: Path, tag: bytes, sheets: str = "xl/worksheets/sheet") -> int:
    """Occurrences of ``tag`` (b"<row ", b"<c ") in a workbook's sheets, counted in their XML
    without loading the workbook. ``sheets`` selects the sheets by the start of their path."""
    count = 0
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if not name.startswith(sheets):
                continue
            tail = b""
            with book.open(name) as xml:
                while chunk := xml.read(1 << 20):
                    count += (tail + chunk).count(tag) - tail.count(tag)
                    tail = chunk[-8:]
    return count


def cells_by_sheet(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as book:
        titles = re.findall(r'<sheet [^>]*name="([^"]+)"', book.read("xl/workbook.xml").decode())
    return {
        title: count_xml(path, b"<c ", f"xl/worksheets/sheet{number}.xml")
        for number, title in enumerate(titles, 1)
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows (default 100,000)")
    parser.add_argument("--seed", type=int, default=20260301, help="seed of the synthetic data")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each program; the fastest is reported"
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the runs at N/10 rows")
    parser.add_argument(
        "--engine",
        help="pass --engine to nefkit (default: its own choice, which may differ by size)",
    )
    parser.add_argument("--workdir", type=Path, help="keep data and outputs here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--timer", choices=["auto", "gnu-time", "rusage"], default="auto")
    args = parser.parse_args(argv)

    nefkit = Path(sys.executable).parent / ("nefkit.exe" if os.name == "nt" else "nefkit")
    if not nefkit.exists():
        print(
            f"There is no nefkit executable next to {sys.executable}. Run this script with the "
            "Python of the environment nefkit is installed in (pip install -e .).",
            file=sys.stderr,
        )
        return 2
    timer = args.timer
    if timer == "auto":
        timer = "gnu-time" if gnu_time_works() else "rusage"
    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="nefkit-excel-")) if temporary else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return _benchmark(args, nefkit, timer, workdir)
    finally:
        if temporary and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif temporary:
            print(f"\nkept {workdir}")


def _runs(
    nefkit: Path, rows: int, args, timer: str, workdir: Path
) -> tuple[dict[str, Run], dict[str, Path]]:
    """Generate ``rows`` rows in ``workdir`` and run the three programs on them, each
    ``repeat`` times; the fastest run of each."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data.csv"
    started = time.perf_counter()
    generate(data, rows, args.seed)
    print(f"\n{rows:,} rows: generated {data} ({time.perf_counter() - started:.1f} s)")
    bare = workdir / "bare_xlsxwriter.py"
    bare.write_text(BARE_PROGRAM.lstrip(), encoding="utf-8")
    out = {
        "nefkit csv": workdir / "nefkit.csv",
        "(a) nefkit xlsx": workdir / "nefkit.xlsx",
        "(b) bare xlsxwriter": workdir / "bare.xlsx",
    }
    score = [str(nefkit), "score", "neq-20", str(data)]
    score += ["--engine", args.engine] if args.engine else []
    score += ["-o"]
    jobs = {
        "nefkit csv": [*score, str(out["nefkit csv"])],
        "(a) nefkit xlsx": [*score, str(out["(a) nefkit xlsx"])],
        "(b) bare xlsxwriter": [
            sys.executable,
            str(bare),
            str(out["nefkit csv"]),
            str(data),
            str(out["(b) bare xlsxwriter"]),
        ],
    }
    best: dict[str, Run] = {}
    repeat = args.repeat
    for attempt in range(repeat):
        for name, cmd in jobs.items():
            print(f"  running {name} ({attempt + 1} of {repeat}) ...", flush=True)
            tag = re.sub(r"\W+", "-", name).strip("-")
            run = measure(f"{tag}-{attempt}", rows, cmd, workdir, timer)
            run.name = name
            said = run.stderr.read_text(encoding="utf-8", errors="replace").splitlines()
            said += run.stdout.read_text(encoding="utf-8", errors="replace").splitlines()
            engine = next((line for line in said if line.startswith("Engine:")), None)
            if engine:
                print(f"    {engine}")
            if run.status != 0:
                print(f"    exited with status {run.status}; last lines of {run.stderr}:")
                for line in said[-5:]:
                    print(f"      {line}")
            if name not in best or run.status != 0 or run.wall < best[name].wall:
                best[name] = run
    return best, out


def _benchmark(args, nefkit: Path, timer: str, workdir: Path) -> int:
    n = args.rows
    import xlsxwriter  # nefkit's dependency: the same version runs (a) and (b)

    print(f"Excel writing benchmark: NEQ-20, {n:,} rows")
    for fact in machine_facts(nefkit, None, timer):
        if not fact.startswith("pandas"):
            print(f"  {fact}")
    print(f"  xlsxwriter: {xlsxwriter.__version__}")
    print(f"  workdir: {workdir}")
    sizes = [n] if args.no_scaling else [n, n // 10]
    results = {rows: _runs(nefkit, rows, args, timer, workdir / f"{rows}") for rows in sizes}

    failed = False
    runs, out = results[n]
    failed |= any(r.status != 0 for size in results.values() for r in size[0].values())
    if failed:
        print("\na run failed; no figures")
        return 1
    ours, theirs = (
        cells_by_sheet(out["(a) nefkit xlsx"]),
        cells_by_sheet(out["(b) bare xlsxwriter"]),
    )
    scores_rows = count_xml(out["(a) nefkit xlsx"], b"<row ", "xl/worksheets/sheet1.xml") - 1
    failed |= scores_rows != n
    print(f"\nnefkit.xlsx: Scores sheet {scores_rows:,} rows (expected {n:,}); cells by sheet:")
    print("  " + ", ".join(f"{title} {count:,}" for title, count in ours.items()))
    print("bare.xlsx cells by sheet: " + ", ".join(f"{t} {c:,}" for t, c in theirs.items()))
    cells = {"(a) nefkit xlsx": sum(ours.values()), "(b) bare xlsxwriter": sum(theirs.values())}

    print(
        f"\n{'run':<21}{'rows':>9}{'wall s':>9}{'cpu s':>9}{'peak MB':>9}{'cells':>12}{'µs/cell':>9}"
    )
    for rows in sizes:
        for r in results[rows][0].values():
            count = cells.get(r.name) if rows == n else None
            shown = f"{count:>12,}{r.wall / count * 1e6:>9.2f}" if count else ""
            print(f"{r.name:<21}{rows:>9,}{r.wall:>9.2f}{r.cpu:>9.2f}{r.rss_mb:>9.1f}{shown}")
    a, b, c = runs["(a) nefkit xlsx"], runs["(b) bare xlsxwriter"], runs["nefkit csv"]
    wall = a.wall / b.wall
    print(
        f"\n(a) nefkit / (b) bare, {n:,} rows: wall {ratio(a.wall, b.wall)} (target at most "
        f"{TARGET}x: {'met' if wall <= TARGET else 'NOT met'}), cpu {ratio(a.cpu, b.cpu)}, "
        f"cells {ratio(cells['(a) nefkit xlsx'], cells['(b) bare xlsxwriter'])}"
    )
    print(
        f"the workbook's own cost in (a): {a.wall - c.wall:.2f} s (xlsx run minus csv run), "
        f"against (b)'s {b.wall:.2f} s for the same cells"
    )
    if not args.no_scaling:
        small = results[n // 10][0]
        print("peak RSS at {:,} and {:,} rows:".format(n // 10, n))
        for name in ("(a) nefkit xlsx", "(b) bare xlsxwriter", "nefkit csv"):
            lo, hi = small[name].rss_mb, runs[name].rss_mb
            print(f"  {name:<21}{lo:>8.1f} MB{hi:>8.1f} MB  ({ratio(hi, lo)} for 10x the rows)")
        lo = small["(a) nefkit xlsx"].rss_mb - small["nefkit csv"].rss_mb
        hi = a.rss_mb - c.rss_mb
        print(
            f"  the workbook's own (xlsx run minus csv run): {lo:.1f} MB and {hi:.1f} MB"
            " (the engine is chosen by size unless --engine is given: compare like with like)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
