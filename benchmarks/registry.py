"""Benchmark: a registry's PHQ-9 session series, scored with change scores by nefkit's columnar
engine and by pandas, at 1,000,000 and 10,000,000 rows.

A national service records a PHQ-9 at every session. The data here: respondents with eight
sessions each, every answer given (phq9_10, the follow-up, only where one of the nine is above 0,
as the form asks it). Two programs, each in its own process under /usr/bin/time -v (wall time,
CPU, peak RSS):

- nefkit: ``nefkit score phq-9 DATA -o out.csv --engine duckdb``: every cell checked, total,
  severity, caseness and the self-harm flag per row, and the total's change from the first
  session to the last and from each session to the next, classified (reliable change of 6
  points, caseness 10) in ``out-changes.csv``;
- pandas: the same scores and change pairs with numpy and ``groupby``/``shift``, no checking.

The script checks that both found the same number of change pairs in each class. Each program
runs ``--repeat`` times at 1M rows or fewer (default 3) and once above; the fastest run is
reported. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("score_neq20", HERE / "score_neq20.py")
base = importlib.util.module_from_spec(spec)
sys.modules["score_neq20"] = base  # its dataclasses look themselves up there
spec.loader.exec_module(base)

SESSIONS = 8
ITEMS = [f"phq9_{k}" for k in range(1, 10)]

PANDAS_PROGRAM = r'''
"""pandas baseline: PHQ-9 total, severity, caseness and the self-harm flag per row; the total's
change from the first session to the last and from each to the next, classified as nefkit's
reliable_change rule does (6 points, caseness 10). Nothing is checked.
Usage: python pandas_registry.py DATA.csv OUT.csv (writes OUT.csv and OUT-changes.csv)"""
import sys

import numpy as np
import pandas as pd

src, dst = sys.argv[1], sys.argv[2]
items = [f"phq9_{k}" for k in range(1, 10)]
df = pd.read_csv(src, dtype={"respondent_id": str})
df["row"] = np.arange(2, len(df) + 2)
total = df[items].sum(axis=1)
out = pd.DataFrame({
    "row": df["row"],
    "respondent_id": df["respondent_id"],
    "session": df["session"],
    "total": total,
    "severity": pd.cut(total, [-1, 4, 9, 14, 19, 27], labels=[
        "Minimal", "Mild", "Moderate", "Moderately severe", "Severe"]),
    "case": np.where(total >= 10, "yes", "no"),
    "flag_self_harm_thoughts": np.where(df["phq9_9"] > 0, "yes", "no"),
})
out.to_csv(dst, index=False)

series = out[["respondent_id", "session", "row", "total"]].sort_values(
    ["respondent_id", "session"], kind="stable")
groups = series.groupby("respondent_id", sort=False)
first = groups.nth(0).set_index("respondent_id")
last = groups.nth(-1).set_index("respondent_id")
several = groups.size() >= 2
baseline = pd.DataFrame({
    "from_row": first["row"], "to_row": last["row"],
    "from_session": first["session"], "to_session": last["session"],
    "before": first["total"], "after": last["total"],
})[several].reset_index()
baseline["comparison"] = "baseline to latest"
previous = groups[["row", "session", "total"]].shift(1)
steps = pd.DataFrame({
    "respondent_id": series["respondent_id"],
    "from_row": previous["row"], "to_row": series["row"],
    "from_session": previous["session"], "to_session": series["session"],
    "before": previous["total"], "after": series["total"],
}).dropna(subset=["from_row"])
steps["comparison"] = "session to session"
changes = pd.concat([baseline, steps], ignore_index=True)
improvement = changes["before"] - changes["after"]
reliable = improvement.abs() >= 6
changes["classification"] = np.select(
    [~reliable | (improvement == 0), improvement < 0,
     (changes["before"] >= 10) & (changes["after"] < 10)],
    ["no reliable change", "reliably deteriorated", "recovered"],
    default="reliably improved",
)
changes.to_csv(dst.removesuffix(".csv") + "-changes.csv", index=False)
'''


def generate(path: Path, rows: int, seed: int) -> None:
    """``rows`` administrations, ``SESSIONS`` per respondent, answers 0-3 at random."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    answers = ", ".join(f"CAST(floor(random() * 4) AS INTEGER) AS {i}" for i in ITEMS)
    asked = " OR ".join(f"{i} > 0" for i in ITEMS)
    con.execute(
        f"COPY (SELECT * EXCLUDE (i, d), (CASE WHEN {asked} THEN d END) AS phq9_10 FROM"
        f" (SELECT i, 'p' || (i // {SESSIONS}) AS respondent_id, (i % {SESSIONS}) + 1 AS session,"
        f" {answers}, CAST(floor(random() * 4) AS INTEGER) AS d FROM range({rows}) t(i))"
        f" ORDER BY i) TO '{path}' (HEADER)"
    )


def classes(changes_csv: Path) -> Counter:
    import csv

    with open(changes_csv, encoding="utf-8", newline="") as handle:
        return Counter((r["comparison"], r["classification"]) for r in csv.DictReader(handle))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per program at 1M rows or fewer"
    )
    parser.add_argument("--workdir", type=Path, help="keep data and outputs here")
    parser.add_argument("--seed", type=int, default=20260301)
    args = parser.parse_args(argv)

    nefkit = Path(sys.executable).with_name("nefkit")
    if not base.gnu_time_works():
        print("/usr/bin/time -v is needed (apt-get install time)", file=sys.stderr)
        return 2
    import pandas

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nefkit-registry-"))
    workdir.mkdir(parents=True, exist_ok=True)
    program = workdir / "pandas_registry.py"
    program.write_text(PANDAS_PROGRAM.lstrip(), encoding="utf-8")
    print("nefkit registry benchmark: PHQ-9 session series with change scores")
    for fact in base.machine_facts(nefkit, pandas.__version__, "gnu-time"):
        print(f"  {fact}")
    print(f"  workdir: {workdir}")
    table, failed = [], False
    for rows in args.rows:
        data = workdir / f"phq9-{rows}.csv"
        if not data.exists():
            start = time.perf_counter()
            generate(data, rows, args.seed)
            print(f"\ngenerated {data.name}: {rows:,} rows ({time.perf_counter() - start:.0f} s)")
        jobs = {
            "nefkit": [str(nefkit), "score", "phq-9", str(data), "--engine", "duckdb", "-o"],
            "pandas": [sys.executable, str(program), str(data)],
        }
        results = {}
        for name, cmd in jobs.items():
            out = workdir / f"{name}-{rows}.csv"
            runs = []
            for k in range(args.repeat if rows <= 1_000_000 else 1):
                print(f"  {name:7} {rows:>11,} rows, run {k + 1} ...", flush=True)
                run = base.measure(
                    f"{name}-{rows}-{k}", rows, [*cmd, str(out)], workdir, "gnu-time"
                )
                if run.status:
                    tail = run.stderr.read_text(errors="replace").splitlines()[-3:]
                    print(f"    exited {run.status}: {' | '.join(tail)}")
                    failed = True
                runs.append(run)
            results[name] = (min(runs, key=lambda r: r.wall), runs, out)
        mine, theirs = (classes(results[n][2].with_name(f"{n}-{rows}-changes.csv")) for n in jobs)
        same = mine == theirs and sum(mine.values()) > 0
        print(f"  change pairs by class: {'the same' if same else 'DIFFERENT'}: {dict(mine)}")
        failed |= not same
        table.append((rows, results))

    print("\nResults (fastest of the runs; peak RSS of that run)\n")
    header = f"{'rows':>11} {'program':8} {'wall s':>8} {'median s':>9} {'cpu s':>8} {'peak MB':>9} {'vs pandas':>10} {'mem vs pandas':>14}"
    print(header)
    print("-" * len(header))
    for rows, results in table:
        p = results["pandas"][0]
        for name, (run, runs, _) in results.items():
            median = statistics.median(r.wall for r in runs)
            print(
                f"{rows:>11,} {name:8} {run.wall:>8.2f} {median:>9.2f} {run.cpu:>8.2f}"
                f" {run.rss_mb:>9.0f} {run.wall / p.wall:>9.2f}x {run.rss / p.rss:>13.2f}x"
            )
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
