"""Benchmark: 100,000 rows x 24 columns to an Excel workbook, three ways.

(a) nefkit: ``nefkit score phq-9 data.csv -o nefkit.xlsx`` on synthetic PHQ-9 data whose Scores
    sheet has 24 columns (and, for reference, the same run with ``-o nefkit.csv``, so that the
    cost of the workbook can be told from the cost of reading and scoring);
(b) pandas: ``DataFrame.to_excel(engine="openpyxl")`` of those 24 columns (read from nefkit's
    CSV output, so that the values are the same);
(c) bare openpyxl: a write-only workbook and a loop appending the same rows.

Each runs in its own subprocess under ``/usr/bin/time -v`` (wall time and peak resident set
size), or, without GNU time, under a wrapper reading ``getrusage(RUSAGE_CHILDREN)``. Run with
the Python of the environment nefkit is installed in; (b) needs pandas there (not a nefkit
dependency). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Optional

from score_neq20 import Run, gnu_time_works, machine_facts, measure, ratio

ITEMS = [f"phq9_{i}" for i in range(1, 11)]
CONTEXT = {
    "site": ["North", "South", "East", "West", "Online"],
    "therapist": [f"T{i:02d}" for i in range(1, 41)],
    "format": ["individual", "group", "internet"],
    "referral": ["GP", "self", "hospital", "employer"],
    "language": ["en", "sv", "de", "ar", "pl"],
    "funding": ["public", "insurance", "private"],
    "age_band": ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"],
}
NUMBERS = ("wait_weeks", "planned_sessions")  # whole numbers, as text in the CSV
COMMENTS = [
    "Prefers evening appointments",
    "=1+2 was typed here by mistake",
    "- moved house in March",
    "+ new medication",
    'Said "better than last time"',
    "Ångest inför varje session",
]
HEADER = [
    "respondent_id",
    "session",
    "administered_at",
    *CONTEXT,
    *NUMBERS,
    "comment",
    *ITEMS,
]
P_COMMENT = 0.03  # rows with a comment
P_BLANK = 0.01  # rows with one item left blank: total not scorable
P_ITEM9 = 0.05  # rows answering item 9 above 0: the risk flag is raised

# (c) The bare loop: what any program writing this table with openpyxl must at least do.
BARE_PROGRAM = r'''
"""Bare openpyxl write-only loop. Usage: python bare_openpyxl.py SCORES.csv OUT.xlsx"""
import csv
import datetime as dt
import sys
import time

import openpyxl
from openpyxl import Workbook

src, dst = sys.argv[1], sys.argv[2]
start = time.perf_counter()
book = Workbook(write_only=True)
sheet = book.create_sheet("Scores")
with open(src, encoding="utf-8", newline="") as handle:
    rows = csv.reader(handle)
    header = next(rows)
    sheet.append(header)
    whole = [header.index(c) for c in ("row", "session", "wait_weeks", "planned_sessions", "total")]
    date = header.index("administered_at")
    for row in rows:
        values = [cell if cell != "" else None for cell in row]
        for i in whole:
            if values[i] is not None:
                values[i] = int(values[i])
        if values[date] is not None:
            values[date] = dt.date.fromisoformat(values[date])
        sheet.append(values)
book.save(dst)
print(f"openpyxl {openpyxl.__version__}: {time.perf_counter() - start:.2f} s")
'''

# (b) pandas: the frame is read from the same CSV, then written by to_excel.
PANDAS_PROGRAM = r'''
"""pandas to_excel. Usage: python pandas_excel.py SCORES.csv OUT.xlsx"""
import sys
import time

import openpyxl
import pandas as pd

src, dst = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
text = ["respondent_id", "site", "therapist", "format", "referral", "language", "funding",
        "age_band", "comment", "notes"]
frame = pd.read_csv(src, dtype={c: str for c in text}, parse_dates=["administered_at"])
t1 = time.perf_counter()
frame.to_excel(dst, index=False, engine="openpyxl", sheet_name="Scores")
t2 = time.perf_counter()
print(f"pandas {pd.__version__}, openpyxl {openpyxl.__version__}: frame {frame.shape[0]:,} x "
      f"{frame.shape[1]}, read {t1 - t0:.2f} s, to_excel {t2 - t1:.2f} s")
'''


def generate(path: Path, rows: int, seed: int) -> None:
    """``rows`` PHQ-9 administrations: respondents with 1 to 8 sessions a week apart, ten
    context columns, no invalid cell (so that nefkit exits 0)."""
    rng = random.Random(seed)
    rand = rng.random
    start = dt.date(2026, 1, 5)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        written, respondent = 0, 0
        while written < rows:
            respondent += 1
            sessions = min(1 + int(rand() * 8), rows - written)
            context = [rng.choice(values) for values in CONTEXT.values()]
            context += [str(int(rand() * 20)), str(6 + int(rand() * 15))]
            level = rand() * 2.2
            first = start + dt.timedelta(days=int(rand() * 300))
            for session in range(1, sessions + 1):
                answers = [str(min(3, int(rand() * 1.6 * level))) for _ in range(9)]
                answers[8] = str(1 + int(rand() * 3)) if rand() < P_ITEM9 else "0"
                if rand() < P_BLANK:
                    answers[int(rand() * 8)] = ""
                answers.append(
                    str(int(rand() * 4)) if any(a not in ("", "0") for a in answers) else ""
                )
                comment = rng.choice(COMMENTS) if rand() < P_COMMENT else ""
                when = first + dt.timedelta(weeks=session - 1)
                writer.writerow(
                    [f"R{respondent:06d}", session, when.isoformat(), *context, comment, *answers]
                )
            written += sessions


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


def engine_args(nefkit: Path) -> list[str]:
    """Pin the row-by-row engine, whose rows the renderers stream, where nefkit has a choice."""
    done = subprocess.run([str(nefkit), "score", "--help"], capture_output=True, text=True)
    return ["--engine", "python"] if "--engine" in done.stdout else []


def print_table(runs: list[Run], cells: dict[str, int], notes: dict[str, str]) -> None:
    print(
        f"{'run':<21}{'exit':>5}{'wall s':>8}{'cpu s':>8}{'peak MB':>9}{'cells':>11}{'µs/cell':>9}  what"
    )
    for r in runs:
        n = cells.get(r.name)
        count = f"{n:>11,}" if n else " " * 11
        per_cell = f"{r.wall / n * 1e6:>9.2f}" if n else " " * 9
        print(
            f"{r.name:<21}{r.status:>5}{r.wall:>8.2f}{r.cpu:>8.2f}{r.rss_mb:>9.1f}{count}{per_cell}"
            f"  {notes[r.name]}"
        )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows (default 100,000)")
    parser.add_argument("--seed", type=int, default=20260301, help="seed of the synthetic data")
    parser.add_argument("--workdir", type=Path, help="keep data and outputs here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--no-pandas", action="store_true", help="skip (b)")
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
    pandas_version = None
    if not args.no_pandas:
        check = subprocess.run(
            [sys.executable, "-c", "import pandas; print(pandas.__version__)"],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            print(
                f"pandas cannot be imported by {sys.executable}; run (b) needs it. Install it there "
                f"for the benchmark only (it is not a nefkit dependency):\n\n"
                f"    {sys.executable} -m pip install pandas\n\nor skip (b) with --no-pandas.",
                file=sys.stderr,
            )
            return 2
        pandas_version = check.stdout.strip()
    timer = args.timer
    if timer == "auto":
        timer = "gnu-time" if gnu_time_works() else "rusage"

    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="nefkit-excel-")) if temporary else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return _benchmark(args, nefkit, pandas_version, timer, workdir)
    finally:
        if temporary and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        elif temporary:
            print(f"\nkept {workdir}")


def _benchmark(args, nefkit: Path, pandas_version: Optional[str], timer: str, workdir: Path) -> int:
    n = args.rows
    print(f"Excel writing benchmark: {n:,} rows")
    for fact in machine_facts(nefkit, pandas_version, timer):
        print(f"  {fact}")
    print(f"  workdir: {workdir}")
    data = workdir / "data.csv"
    started = time.perf_counter()
    generate(data, n, args.seed)
    print(
        f"\ngenerated {data.name}: {n:,} rows x {len(HEADER)} columns "
        f"({time.perf_counter() - started:.1f} s)"
    )
    (workdir / "bare_openpyxl.py").write_text(BARE_PROGRAM.lstrip(), encoding="utf-8")
    (workdir / "pandas_excel.py").write_text(PANDAS_PROGRAM.lstrip(), encoding="utf-8")

    score = [str(nefkit), "score", "phq-9", str(data), *engine_args(nefkit), "-o"]
    print(f"nefkit runs: {' '.join(Path(a).name if '/' in a else a for a in score)} OUT")
    jobs = [
        ("nefkit csv", [*score, str(workdir / "nefkit.csv")]),
        ("(a) nefkit xlsx", [*score, str(workdir / "nefkit.xlsx")]),
        (
            "(c) bare openpyxl",
            [
                sys.executable,
                str(workdir / "bare_openpyxl.py"),
                str(workdir / "nefkit.csv"),
                str(workdir / "bare.xlsx"),
            ],
        ),
    ]
    if pandas_version:
        jobs.append(
            (
                "(b) pandas to_excel",
                [
                    sys.executable,
                    str(workdir / "pandas_excel.py"),
                    str(workdir / "nefkit.csv"),
                    str(workdir / "pandas.xlsx"),
                ],
            )
        )
    runs: dict[str, Run] = {}
    for name, cmd in jobs:
        print(f"running {name} ...", flush=True)
        runs[name] = run = measure(re.sub(r"\W+", "-", name).strip("-"), n, cmd, workdir, timer)
        run.name = name
        said = run.stdout.read_text(encoding="utf-8", errors="replace").strip()
        if said:
            print(f"  {said}")
        if run.status != 0:
            print(f"  exited with status {run.status}; last lines of {run.stderr}:")
            for line in run.stderr.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]:
                print(f"    {line}")

    with open(workdir / "nefkit.csv", encoding="utf-8", newline="") as handle:
        columns = len(next(csv.reader(handle)))
    failed = any(r.status != 0 for r in runs.values())
    scores_rows = count_xml(workdir / "nefkit.xlsx", b"<row ", "xl/worksheets/sheet1.xml") - 1
    failed |= scores_rows != n
    print(
        f"\nnefkit.xlsx Scores sheet: {scores_rows:,} rows (expected {n:,}); "
        f"the CSV and the baselines have {columns} columns, nefkit's Scores sheet {columns + 1} "
        f"(the attention column)"
    )
    outputs = {
        "(a) nefkit xlsx": "nefkit.xlsx",
        "(b) pandas to_excel": "pandas.xlsx",
        "(c) bare openpyxl": "bare.xlsx",
    }
    cells = {
        name: count_xml(workdir / out, b"<c ")
        for name, out in outputs.items()
        if (workdir / out).exists()
    }
    sheet_cells = {}
    with zipfile.ZipFile(workdir / "nefkit.xlsx") as book:
        titles = re.findall(r'<sheet [^>]*name="([^"]+)"', book.read("xl/workbook.xml").decode())
    for number, title in enumerate(titles, 1):
        sheet_cells[title] = count_xml(
            workdir / "nefkit.xlsx", b"<c ", f"xl/worksheets/sheet{number}.xml"
        )

    notes = {
        "nefkit csv": "read + score + write CSV (reference)",
        "(a) nefkit xlsx": "read + score + workbook (sheets below)",
        "(b) pandas to_excel": f"read CSV + to_excel, 1 sheet x {columns} cols",
        "(c) bare openpyxl": f"read CSV + write-only loop, 1 sheet x {columns} cols",
    }
    print()
    print_table(list(runs.values()), cells, notes)
    print("nefkit's cells by sheet: " + ", ".join(f"{t} {c:,}" for t, c in sheet_cells.items()))
    a, c = runs["(a) nefkit xlsx"], runs["(c) bare openpyxl"]
    excel = a.wall - runs["nefkit csv"].wall
    print(
        f"\nthe workbook's own cost in (a): {excel:.2f} s (xlsx run minus csv run), "
        f"{excel / cells['(a) nefkit xlsx'] * 1e6:.2f} µs a cell"
    )
    print(
        f"(a) / (c) bare openpyxl: wall {ratio(a.wall, c.wall)}, peak RSS {ratio(a.rss, c.rss)}, "
        f"cells {ratio(cells['(a) nefkit xlsx'], cells['(c) bare openpyxl'])}"
    )
    if pandas_version:
        b = runs["(b) pandas to_excel"]
        print(
            f"(a) / (b) pandas:        wall {ratio(a.wall, b.wall)}, peak RSS {ratio(a.rss, b.rss)}"
        )
        print(
            f"(c) / (b):               wall {ratio(c.wall, b.wall)}, peak RSS {ratio(c.rss, b.rss)}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
