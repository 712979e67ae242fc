"""Benchmark: score synthetic NEQ-20 data with ``nefkit score`` and with a plain pandas program.

1. Writes N synthetic NEQ-20 administrations (default 1,000,000) to data.csv, streaming and
   deterministic for a given --seed.
2. Run A: ``nefkit score neq-20 data.csv --engine python -o nefkit.csv`` (the row engine) in a subprocess.
3. Run B: a small pandas program computing the same seven scores, in a subprocess.
   Both are measured the same way: wall time and peak resident set size from ``/usr/bin/time -v``
   (GNU time), or, without it, from a wrapper process's ``getrusage(RUSAGE_CHILDREN)``.
4. Checks that the two agree on the seven scores for the first --check-rows rows.
5. Prints a table and ratios; with scaling (the default) also runs both at N/10 rows to show how
   peak memory grows with the number of rows.

Run with the interpreter of the environment nefkit is installed in (its ``nefkit`` executable
is taken from next to ``sys.executable``); pandas is needed there for the baseline only. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ITEMS = [f"neq{k:02d}" for k in range(1, 21)]
HEADER = ["respondent_id", *[c for i in ITEMS for c in (i, f"{i}_impact", f"{i}_cause")], "other"]
SCORES = [
    "effects",
    "effects_treatment",
    "effects_other",
    "impact_total",
    "impact_mean",
    "impact_treatment",
    "impact_other",
]

# The synthetic population (fixed, so that results are comparable between runs).
P_NO_EFFECTS = 0.15  # respondents who report no negative effect at all
P_BLANK_ROW = 0.01  # rows with one or two blank "experienced" answers: not scorable
P_TREATMENT = 0.40  # an experienced effect attributed to the treatment (cause 1), else other (0)
P_TEXT = 0.03  # rows with an answer to the open question
TEXTS = [
    "Felt worse after the sessions about my father",
    "Hard to get to the clinic, and the waiting list was long",
    'My therapist said "just try harder"',
    "Ångest inför varje session",
    "Was tired; slept badly for weeks",
    "- not sure it was the treatment",
    "Didn't like the group format",
]
BATCH = 10_000
TOLERANCE = 1e-9

PANDAS_PROGRAM = r'''
"""pandas baseline: the seven NEQ-20 scores per row, written as CSV (NaN when not scorable).
Usage: python pandas_baseline.py DATA.csv OUT.csv. No answer is validated."""
import sys
import time

import numpy as np
import pandas as pd

src, dst = sys.argv[1], sys.argv[2]
items = [f"neq{k:02d}" for k in range(1, 21)]
t0 = time.perf_counter()
df = pd.read_csv(src, dtype={"respondent_id": str, "other": str})
t1 = time.perf_counter()

E = df[items].to_numpy(dtype="float64")                           # experienced: 1, 0, NaN
I = df[[f"{i}_impact" for i in items]].to_numpy(dtype="float64")  # impact 0-4, NaN if not asked
C = df[[f"{i}_cause" for i in items]].to_numpy(dtype="float64")   # cause 1 / 0, NaN if not asked
yes = E == 1
treatment = yes & (C == 1)
other = yes & (C == 0)
no_cause = (yes & np.isnan(C)).any(axis=1)      # nefkit: an attributed score needs every cause
scorable = ~np.isnan(E).any(axis=1)             # nefkit: every "experienced" answer is needed


def impact(counted):
    """Sum of impact over the counted effects; NaN if one of their impacts is missing."""
    return np.where(counted, I, 0.0).sum(axis=1)


effects = yes.sum(axis=1).astype("float64")
effects_treatment = np.where(no_cause, np.nan, treatment.sum(axis=1))
effects_other = np.where(no_cause, np.nan, other.sum(axis=1))
impact_total = impact(yes)
with np.errstate(invalid="ignore", divide="ignore"):
    impact_mean = np.where(effects > 0, impact_total / effects, np.nan)
impact_treatment = np.where(no_cause, np.nan, impact(treatment))
impact_other = np.where(no_cause, np.nan, impact(other))

out = pd.DataFrame({
    "respondent_id": df["respondent_id"],
    "effects": effects,
    "effects_treatment": effects_treatment,
    "effects_other": effects_other,
    "impact_total": impact_total,
    "impact_mean": impact_mean,
    "impact_treatment": impact_treatment,
    "impact_other": impact_other,
})
scores = list(out.columns[1:])
out.loc[~scorable, scores] = np.nan
t2 = time.perf_counter()
out.to_csv(dst, index=False, na_rep="NaN")
t3 = time.perf_counter()
print(f"pandas {pd.__version__}: read {t1 - t0:.2f} s, compute {t2 - t1:.2f} s, write {t3 - t2:.2f} s")
'''

# Run by the rusage fallback: runs one command and reports its resource use alone (a process's
# RUSAGE_CHILDREN covers every child it has waited for, so each measurement needs a fresh one).
RUSAGE_WRAPPER = r"""
import json, resource, subprocess, sys, time
cmd, out, err = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(out, "wb") as o, open(err, "wb") as e:
    start = time.perf_counter()
    status = subprocess.call(cmd, stdout=o, stderr=e)
    wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
print(json.dumps({"status": status, "wall": wall, "rss": usage.ru_maxrss * scale,
                  "user": usage.ru_utime, "sys": usage.ru_stime}))
"""


# ---------------------------------------------------------------------------------------------
# Synthetic data


def generate(path: Path, rows: int, seed: int) -> int:
    """Write ``rows`` administrations to ``path``, a batch at a time; returns how many rows have
    a blank "experienced" answer (not scorable). The same seed gives the same rows, and a
    smaller ``rows`` gives a prefix of a larger one."""
    rng = random.Random(seed)
    rand = rng.random
    base = [0.10 + 0.30 * rand() for _ in ITEMS]  # each item's endorsement rate, 10-40 %
    blank_rows = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        batch: list[list[str]] = []
        for n in range(1, rows + 1):
            row = [f"R{n:07d}"]
            level = 0.0 if rand() < P_NO_EFFECTS else 0.5 + rand()  # the respondent's tendency
            blanks: set[int] = set()
            if rand() < P_BLANK_ROW:
                blanks = set(rng.sample(range(20), 2 if rand() < 0.3 else 1))
                blank_rows += 1
            for k in range(20):
                if k in blanks:
                    row += ("", "", "")
                elif rand() < base[k] * level:
                    row += ("1", str(int(rand() * 5)), "1" if rand() < P_TREATMENT else "0")
                else:
                    row += ("0", "", "")
            row.append(TEXTS[int(rand() * len(TEXTS))] if rand() < P_TEXT else "")
            batch.append(row)
            if len(batch) == BATCH:
                writer.writerows(batch)
                batch.clear()
        writer.writerows(batch)
    return blank_rows


# ---------------------------------------------------------------------------------------------
# Measuring a subprocess


@dataclass
class Run:
    name: str
    rows: int
    status: int
    wall: float  # seconds
    rss: int  # peak resident set size, bytes
    cpu: float  # user + system seconds
    stdout: Path
    stderr: Path

    @property
    def rss_mb(self) -> float:
        return self.rss / 2**20


def gnu_time_works() -> bool:
    if not os.access("/usr/bin/time", os.X_OK):
        return False
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        done = subprocess.run(
            ["/usr/bin/time", "-v", "-o", report.name, sys.executable, "-c", "pass"],
            capture_output=True,
        )
        return done.returncode == 0 and "Maximum resident set size" in Path(report.name).read_text()


def _wall_clock(text: str) -> float:
    """GNU time's "h:mm:ss" or "m:ss.ss" as seconds."""
    seconds = 0.0
    for part in text.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def measure(name: str, rows: int, cmd: list[str], workdir: Path, timer: str) -> Run:
    tag = name.replace(" ", "-")
    out, err = workdir / f"{tag}.stdout", workdir / f"{tag}.stderr"
    if timer == "gnu-time":
        report = workdir / f"{tag}.time"
        with open(out, "wb") as o, open(err, "wb") as e:
            start = time.perf_counter()
            subprocess.run(["/usr/bin/time", "-v", "-o", str(report), *cmd], stdout=o, stderr=e)
            elapsed = time.perf_counter() - start
        fields = {}
        for line in report.read_text().splitlines():
            key, sep, value = line.strip().rpartition(": ")
            if sep:
                fields[key] = value
        if "Maximum resident set size (kbytes)" not in fields:
            sys.exit(f"could not read /usr/bin/time's report {report}:\n{report.read_text()}")
        wall = fields.get("Elapsed (wall clock) time (h:mm:ss or m:ss)")
        return Run(
            name,
            rows,
            status=int(fields.get("Exit status", "-1")),
            wall=_wall_clock(wall) if wall else elapsed,
            rss=int(fields["Maximum resident set size (kbytes)"]) * 1024,
            cpu=float(fields["User time (seconds)"]) + float(fields["System time (seconds)"]),
            stdout=out,
            stderr=err,
        )
    done = subprocess.run(
        [sys.executable, "-c", RUSAGE_WRAPPER, json.dumps(cmd), str(out), str(err)],
        capture_output=True,
        text=True,
        check=True,
    )
    usage = json.loads(done.stdout)
    return Run(
        name,
        rows,
        usage["status"],
        usage["wall"],
        usage["rss"],
        usage["user"] + usage["sys"],
        out,
        err,
    )


# ---------------------------------------------------------------------------------------------
# Checks


def _number(cell: str) -> Optional[float]:
    """A score cell as a number; None for blank (nefkit) or NaN (pandas)."""
    if cell.strip() == "":
        return None
    value = float(cell)
    return None if math.isnan(value) else value


def agreement(nefkit_csv: Path, pandas_csv: Path, rows: int, show: int = 10) -> list[str]:
    """Mismatches between the two outputs' seven scores in the first ``rows`` rows."""
    mismatches: list[str] = []
    with (
        open(nefkit_csv, encoding="utf-8", newline="") as a,
        open(pandas_csv, encoding="utf-8", newline="") as b,
    ):
        ours, theirs = csv.DictReader(a), csv.DictReader(b)
        checked = 0
        for left, right in zip(ours, theirs):
            if checked == rows:
                break
            checked += 1
            if left["respondent_id"] != right["respondent_id"]:
                mismatches.append(
                    f"output row {checked}: respondent_id {left['respondent_id']!r} (nefkit) "
                    f"vs {right['respondent_id']!r} (pandas)"
                )
            for score in SCORES:
                x, y = _number(left[score]), _number(right[score])
                if (x is None) != (y is None) or (x is not None and abs(x - y) > TOLERANCE):
                    mismatches.append(
                        f"row {left['row']} ({left['respondent_id']}), {score}: "
                        f"nefkit {left[score]!r} [{left[f'{score}_status']}], pandas {right[score]!r}"
                    )
        if checked < rows:
            mismatches.append(
                f"only {checked:,} of {rows:,} rows could be compared (an output is short)"
            )
    return mismatches[:show] + (
        [f"... {len(mismatches) - show} more"] if len(mismatches) > show else []
    )


def nefkit_summary(path: Path) -> tuple[int, int, int]:
    """(rows, rows scored, rows whose ``effects`` is not scorable) in nefkit's output."""
    rows = scored = unscorable = 0
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows += 1
            scored += row["row_status"] == "scored"
            unscorable += row["effects_status"] == "not scorable"
    return rows, scored, unscorable


# ---------------------------------------------------------------------------------------------
# Reporting


def _run_text(cmd: list[str], **kwargs) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kwargs)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def machine_facts(nefkit: Path, pandas_version: Optional[str], timer: str) -> list[str]:
    facts = [
        f"platform: {platform.platform()}",
        f"cpus: {os.cpu_count()} (usable by this process: "
        f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'})",
    ]
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = next(
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        )
        facts.append(f"cpu model: {model}")
        mem = next(
            line
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        facts.append(f"memory: {int(mem.split()[1]) / 2**20:.1f} GiB")
    except (OSError, StopIteration):
        pass
    facts.append(f"python: {platform.python_version()} ({sys.executable})")
    facts.append(f"nefkit: {_run_text([str(nefkit), '--version']) or '?'} ({nefkit})")
    repo = Path(__file__).resolve().parent.parent
    commit = _run_text(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    if commit:
        dirty = _run_text(
            [
                "git",
                "-C",
                str(repo),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "nefkit",
                "plugins",
                "instruments",
            ]
        )
        facts.append(
            f"nefkit source: {repo} at {commit}" + (" with uncommitted changes" if dirty else "")
        )
    facts.append(f"pandas: {pandas_version or 'not used'}")
    facts.append(
        "measured with: "
        + (
            "/usr/bin/time -v"
            if timer == "gnu-time"
            else "getrusage(RUSAGE_CHILDREN) + perf_counter"
        )
    )
    return facts


def print_table(runs: list[Run]) -> None:
    print(
        f"{'run':<18}{'rows':>12}{'exit':>6}{'wall s':>10}{'cpu s':>10}{'peak RSS MB':>13}{'µs/row':>9}"
    )
    for r in runs:
        print(
            f"{r.name:<18}{r.rows:>12,}{r.status:>6}{r.wall:>10.2f}{r.cpu:>10.2f}{r.rss_mb:>13.1f}"
            f"{r.wall / r.rows * 1e6:>9.1f}"
        )


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


# ---------------------------------------------------------------------------------------------


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=1_000_000,
        help="administrations to generate (default 1,000,000)",
    )
    parser.add_argument(
        "--seed", type=int, default=20260301, help="random seed of the synthetic data"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where to put data and outputs (kept); default: a temporary directory, removed afterwards",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--check-rows",
        type=int,
        default=10_000,
        help="rows compared between nefkit and pandas (default 10,000)",
    )
    parser.add_argument("--no-scaling", action="store_true", help="skip the runs at N/10 rows")
    parser.add_argument("--no-pandas", action="store_true", help="run nefkit only")
    parser.add_argument(
        "--generate-only",
        action="store_true",
        help="write data.csv and stop, keeping it (e.g. for profiling)",
    )
    parser.add_argument(
        "--timer",
        choices=["auto", "gnu-time", "rusage"],
        default="auto",
        help="how to measure: /usr/bin/time -v, or getrusage (auto: GNU time if it works)",
    )
    args = parser.parse_args(argv)
    if args.rows < 10:
        parser.error("--rows must be at least 10")

    nefkit = Path(sys.executable).parent / ("nefkit.exe" if os.name == "nt" else "nefkit")
    if not nefkit.exists() and not args.generate_only:
        print(
            f"There is no nefkit executable next to {sys.executable}. Run this script with the "
            "Python of the environment nefkit is installed in (pip install -e .).",
            file=sys.stderr,
        )
        return 2
    pandas_version = None
    if not (args.no_pandas or args.generate_only):
        pandas_version = _run_text(
            [sys.executable, "-c", "import pandas; print(pandas.__version__)"]
        )
        if not pandas_version:
            print(
                f"pandas cannot be imported by {sys.executable}; the baseline needs it. Install it "
                f"there for the benchmark only (it is not a nefkit dependency):\n\n"
                f"    {sys.executable} -m pip install pandas\n\n"
                "or run nefkit alone with --no-pandas.",
                file=sys.stderr,
            )
            return 2
    if args.timer == "auto":
        timer = "gnu-time" if gnu_time_works() else "rusage"
    elif args.timer == "gnu-time" and not gnu_time_works():
        print("/usr/bin/time -v does not work here; use --timer rusage", file=sys.stderr)
        return 2
    else:
        timer = args.timer

    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="nefkit-bench-")) if temporary else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return _benchmark(args, nefkit, pandas_version, timer, workdir)
    finally:
        if temporary and not (args.keep or args.generate_only):
            shutil.rmtree(workdir, ignore_errors=True)
        elif temporary:
            print(f"\nkept {workdir}")


def _benchmark(args, nefkit: Path, pandas_version: Optional[str], timer: str, workdir: Path) -> int:
    n, small = args.rows, args.rows // 10
    sizes = [n] if args.no_scaling or args.generate_only else [small, n]
    print("NEQ-20 scoring benchmark")
    if not args.generate_only:
        for fact in machine_facts(nefkit, pandas_version, timer):
            print(f"  {fact}")
    print(f"  workdir: {workdir}")

    data: dict[int, Path] = {}
    blank_rows: dict[int, int] = {}
    for size in sizes:
        data[size] = workdir / ("data.csv" if size == n else f"data-{size}.csv")
        start = time.perf_counter()
        blank_rows[size] = generate(data[size], size, args.seed)
        print(
            f"\ngenerated {data[size].name}: {size:,} rows, {data[size].stat().st_size / 2**20:.1f} MB, "
            f"{blank_rows[size]:,} rows with a blank 'experienced' answer (seed {args.seed}; "
            f"{time.perf_counter() - start:.1f} s)"
        )
    if args.generate_only:
        return 0

    runs: dict[tuple[str, int], Run] = {}
    outputs: dict[tuple[str, int], Path] = {}
    baseline = workdir / "pandas_baseline.py"
    baseline.write_text(PANDAS_PROGRAM.lstrip(), encoding="utf-8")
    for size in sizes:
        suffix = "" if size == n else f"-{size}"
        jobs = [
            (
                "nefkit",
                [str(nefkit), "score", "neq-20", str(data[size]), "--engine", "python", "-o"],
                f"nefkit{suffix}.csv",
            )
        ]
        if pandas_version:
            jobs.append(
                ("pandas", [sys.executable, str(baseline), str(data[size])], f"pandas{suffix}.csv")
            )
        for name, cmd, out in jobs:
            outputs[name, size] = workdir / out
            print(f"running {name} at {size:,} rows ...", flush=True)
            run = measure(f"{name}{suffix}", size, [*cmd, str(outputs[name, size])], workdir, timer)
            run.name = name
            runs[name, size] = run
            if run.status != 0:
                tail = run.stderr.read_text(encoding="utf-8", errors="replace").splitlines()[-5:]
                print(f"  {name} exited with status {run.status}; last lines of {run.stderr}:")
                for line in tail:
                    print(f"    {line}")

    a = runs["nefkit", n]
    print()
    rows, scored, unscorable = nefkit_summary(outputs["nefkit", n])
    print(f"nefkit exit status: {a.status} (expected 0: blank answers are missing, not problems)")
    print(
        f"nefkit output: {rows:,} rows, {scored:,} scored, {unscorable:,} with 'effects' not scorable "
        f"(expected {blank_rows[n]:,}){'' if (rows, unscorable) == (n, blank_rows[n]) else '  <-- UNEXPECTED'}"
    )
    failed = a.status != 0 or (rows, unscorable) != (n, blank_rows[n])
    if pandas_version:
        b = runs["pandas", n]
        print(b.stdout.read_text(encoding="utf-8").strip())
        if b.status != 0:
            print("pandas baseline failed; no agreement check")
            failed = True
        else:
            checked = min(args.check_rows, n)
            mismatches = agreement(outputs["nefkit", n], outputs["pandas", n], checked)
            if mismatches:
                failed = True
                print(f"agreement: {len(mismatches)} MISMATCHES in the first {checked:,} rows:")
                for m in mismatches:
                    print(f"  {m}")
            else:
                print(
                    f"agreement: OK (seven scores, first {checked:,} rows, tolerance {TOLERANCE:g})"
                )

    print(f"\nResults at {n:,} rows")
    main_runs = [a] + ([runs["pandas", n]] if pandas_version else [])
    print_table(main_runs)
    if pandas_version:
        b = runs["pandas", n]
        print(
            f"{'nefkit / pandas':<18}{'':>12}{'':>6}{ratio(a.wall, b.wall):>10}{ratio(a.cpu, b.cpu):>10}"
            f"{ratio(a.rss, b.rss):>13}"
        )
    print(
        "output sizes: "
        + ", ".join(
            f"{p.name} {p.stat().st_size / 2**20:.1f} MB"
            for (_, size), p in outputs.items()
            if size == n and p.exists()
        )
    )

    if small in sizes and small != n:
        print(f"\nScaling: peak RSS at {small:,} and {n:,} rows")
        a_label, b_label = f"{small:,} rows MB", f"{n:,} rows MB"
        w = max(len(b_label), 13) + 2
        print(
            f"{'run':<18}{a_label:>{w}}{b_label:>{w}}{'growth':>9}{'KB per extra row':>18}{'wall growth':>13}"
        )
        for name in ("nefkit", "pandas"):
            if (name, small) not in runs:
                continue
            lo, hi = runs[name, small], runs[name, n]
            per_row = (hi.rss - lo.rss) / (n - small) / 1024
            print(
                f"{name:<18}{lo.rss_mb:>{w}.1f}{hi.rss_mb:>{w}.1f}{ratio(hi.rss, lo.rss):>9}{per_row:>18.3f}"
                f"{ratio(hi.wall, lo.wall):>13}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
