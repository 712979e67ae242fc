"""Benchmark: nefkit's columnar (DuckDB) engine against pandas and against a hand-written DuckDB
query, on synthetic NEQ-20 data, CSV, Parquet and JSON Lines in, 1,000,000 and 10,000,000 rows.

Runs, each a separate process measured by /usr/bin/time -v (wall time, CPU, peak RSS):

- nefkit: ``nefkit score neq-20 DATA -o out.csv --engine duckdb``: every cell checked, every
  row kept with its statuses, flags and notes, the same file the Python engine writes;
- pandas: the seven scores with numpy (benchmarks/score_neq20.py's baseline; for Parquet
  ``pd.read_parquet``, for JSON Lines ``pd.read_json(lines=True)``), no checking;
- floor: one hand-written DuckDB query computing the same seven scores, no checking: the
  fastest this could be done on DuckDB, which nefkit's extra work is measured against.

Each run is repeated (--repeat, default 3 at 1M rows, 1 at 10M) and the fastest wall time is
reported, with the peak RSS of that run; other processes on the machine add noise. pandas at
10M rows needs about 16 GB and is skipped unless --pandas-10m. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("score_neq20", HERE / "score_neq20.py")
base = importlib.util.module_from_spec(spec)
sys.modules["score_neq20"] = base  # its dataclasses look themselves up there
spec.loader.exec_module(base)

TARGETS = {"pandas wall": 0.5, "pandas memory": 1 / 3, "floor wall": 1.5}

READ_CSV = 'df = pd.read_csv(src, dtype={"respondent_id": str, "other": str})'
assert READ_CSV in base.PANDAS_PROGRAM, "score_neq20.py's baseline no longer reads the CSV so"
PANDAS_PARQUET = base.PANDAS_PROGRAM.replace(READ_CSV, "df = pd.read_parquet(src)")
PANDAS_JSONL = base.PANDAS_PROGRAM.replace(
    READ_CSV, 'df = pd.read_json(src, lines=True, dtype={"respondent_id": str, "other": str})'
)

FLOOR_PROGRAM = r'''
"""Hand-written DuckDB query: the seven NEQ-20 scores, written as CSV. No cell is checked.
Usage: python floor.py DATA OUT.csv"""
import sys
import time

import duckdb

src, dst = sys.argv[1], sys.argv[2]
items = [f"neq{k:02d}" for k in range(1, 21)]


def total(terms):
    return "(" + " + ".join(terms) + ")"


def count(conditions):
    return total([f"(CASE WHEN {c} THEN 1 ELSE 0 END)" for c in conditions])


def impact(condition):
    return total([f"(CASE WHEN {condition(i)} THEN {i}_impact ELSE 0 END)" for i in items])


yes = lambda i: f"{i} = 1"  # noqa: E731
treatment = lambda i: f"{i} = 1 AND {i}_cause = 1"  # noqa: E731
other = lambda i: f"{i} = 1 AND {i}_cause = 0"  # noqa: E731
scorable = " AND ".join(f"{i} IS NOT NULL" for i in items)
no_cause = " OR ".join(f"({i} = 1 AND {i}_cause IS NULL)" for i in items)
effects = count([yes(i) for i in items])
scores = {
    "effects": effects,
    "effects_treatment": f"CASE WHEN {no_cause} THEN NULL ELSE {count([treatment(i) for i in items])} END",
    "effects_other": f"CASE WHEN {no_cause} THEN NULL ELSE {count([other(i) for i in items])} END",
    "impact_total": impact(yes),
    "impact_mean": f"CASE WHEN {effects} > 0 THEN CAST({impact(yes)} AS DOUBLE) / {effects} END",
    "impact_treatment": f"CASE WHEN {no_cause} THEN NULL ELSE {impact(treatment)} END",
    "impact_other": f"CASE WHEN {no_cause} THEN NULL ELSE {impact(other)} END",
}
select = ", ".join(f"CASE WHEN {scorable} THEN {e} END AS {n}" for n, e in scores.items())
if src.endswith(".parquet"):
    reader = f"read_parquet('{src}')"
elif src.endswith(".jsonl"):
    reader = f"read_json('{src}', format = 'newline_delimited')"
else:
    reader = f"read_csv('{src}', header = true, types = {{'respondent_id': 'VARCHAR', 'other': 'VARCHAR'}})"
start = time.perf_counter()
duckdb.execute(f"COPY (SELECT respondent_id, {select} FROM {reader}) TO '{dst}' (HEADER)")
print(f"duckdb {duckdb.__version__}: {time.perf_counter() - start:.2f} s")
'''


def convert(csv_path: Path, target: Path, fmt: str) -> None:
    """The same rows as Parquet or JSON Lines, answers as integers (as a registry would store
    them; JSON Lines with null for a blank)."""
    import duckdb

    duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}', header = true,"
        " types = {'respondent_id': 'VARCHAR', 'other': 'VARCHAR'}))"
        f" TO '{target}' (FORMAT {'parquet' if fmt == 'parquet' else 'json'})"
    )


def best(runs: list) -> object:
    ok = [r for r in runs if r.status == 0] or runs
    return min(ok, key=lambda r: r.wall)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per program at 1M rows or fewer"
    )
    parser.add_argument(
        "--repeat-large", type=int, default=1, help="runs per program above 1M rows"
    )
    parser.add_argument(
        "--formats",
        nargs="+",
        default=["csv", "parquet", "jsonl"],
        choices=["csv", "parquet", "jsonl"],
    )
    parser.add_argument("--pandas-10m", action="store_true", help="also run pandas above 1M rows")
    parser.add_argument("--workdir", type=Path, help="keep data and outputs here")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--check-rows", type=int, default=10_000)
    args = parser.parse_args(argv)

    nefkit = Path(sys.executable).with_name("nefkit")
    if not base.gnu_time_works():
        print("/usr/bin/time -v is needed (apt-get install time)", file=sys.stderr)
        return 2
    try:
        import pandas
    except ImportError:
        pandas = None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="nefkit-engines-"))
    workdir.mkdir(parents=True, exist_ok=True)
    programs = {
        "pandas-csv": base.PANDAS_PROGRAM,
        "pandas-parquet": PANDAS_PARQUET,
        "pandas-jsonl": PANDAS_JSONL,
        "floor": FLOOR_PROGRAM,
    }
    for name, text in programs.items():
        (workdir / f"{name}.py").write_text(text.lstrip(), encoding="utf-8")

    print("nefkit engines benchmark: NEQ-20")
    for fact in base.machine_facts(nefkit, pandas.__version__ if pandas else None, "gnu-time"):
        print(f"  {fact}")
    print(f"  workdir: {workdir}")
    table = []
    failed = False
    for rows in args.rows:
        data = workdir / f"neq-{rows}.csv"
        if not data.exists():
            start = time.perf_counter()
            blank = base.generate(data, rows, args.seed)
            print(
                f"\ngenerated {data.name}: {rows:,} rows, {data.stat().st_size / 2**20:.0f} MB,"
                f" {blank:,} rows not scorable ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
        repeat = args.repeat if rows <= 1_000_000 else args.repeat_large
        for fmt in args.formats:
            source = data
            if fmt != "csv":
                source = data.with_suffix(f".{fmt}")
                if not source.exists():
                    convert(data, source, fmt)
            jobs = {
                "nefkit": [str(nefkit), "score", "neq-20", str(source), "--engine", "duckdb", "-o"],
                "floor": [sys.executable, str(workdir / "floor.py"), str(source)],
            }
            if pandas and (rows <= 1_000_000 or args.pandas_10m):
                if fmt != "parquet" or importlib.util.find_spec("pyarrow"):
                    jobs["pandas"] = [
                        sys.executable,
                        str(workdir / f"pandas-{fmt}.py"),
                        str(source),
                    ]
            results = {}
            for name, cmd in jobs.items():
                out = workdir / f"{name}-{rows}-{fmt}.csv"
                runs = []
                for k in range(repeat):
                    print(
                        f"  {name:7} {fmt:8} {rows:>11,} rows, run {k + 1}/{repeat} ...", flush=True
                    )
                    run = base.measure(
                        f"{name}-{rows}-{fmt}-{k}", rows, [*cmd, str(out)], workdir, "gnu-time"
                    )
                    runs.append(run)
                    if run.status != 0 and not (name == "nefkit" and run.status == 1):
                        tail = run.stderr.read_text(errors="replace").splitlines()[-3:]
                        print(f"    exited {run.status}: {' | '.join(tail)}")
                        failed = True
                results[name] = (best(runs), runs, out)
            if "pandas" in results and results["pandas"][0].status == 0:
                mismatches = base.agreement(
                    results["nefkit"][2], results["pandas"][2], min(args.check_rows, rows)
                )
                print(
                    f"  agreement with pandas ({fmt}): "
                    + ("OK" if not mismatches else f"{len(mismatches)} MISMATCHES")
                )
                failed |= bool(mismatches)
            table.append((rows, fmt, results))
            for name in results:
                for extra in workdir.glob(f"{name}-{rows}-{fmt}*.csv"):
                    extra.unlink()

    print("\nResults (fastest of the runs; peak RSS of that run)\n")
    header = f"{'rows':>11} {'input':8} {'program':8} {'wall s':>8} {'median s':>9} {'cpu s':>8} {'peak MB':>9} {'vs pandas':>10} {'mem vs pandas':>14} {'vs floor':>9}"
    print(header)
    print("-" * len(header))
    for rows, fmt, results in table:
        pandas_run = results.get("pandas", (None,))[0]
        floor_run = results["floor"][0]
        for name, (run, runs, _) in results.items():
            median = statistics.median(r.wall for r in runs)
            vs_pandas = f"{run.wall / pandas_run.wall:.2f}x" if pandas_run else "-"
            mem_pandas = f"{run.rss / pandas_run.rss:.2f}x" if pandas_run else "-"
            vs_floor = f"{run.wall / floor_run.wall:.2f}x"
            print(
                f"{rows:>11,} {fmt:8} {name:8} {run.wall:>8.2f} {median:>9.2f} {run.cpu:>8.2f} {run.rss_mb:>9.0f} {vs_pandas:>10} {mem_pandas:>14} {vs_floor:>9}"
            )
    print(
        "\nTargets at 1,000,000 rows: nefkit at most "
        f"{TARGETS['pandas wall']:.2f}x pandas' wall time and {TARGETS['pandas memory']:.2f}x its peak"
        f" memory, at most {TARGETS['floor wall']:.2f}x the hand-written query's wall time."
    )
    for rows, fmt, results in table:
        if rows != 1_000_000:
            continue
        n = results["nefkit"][0]
        verdicts = []
        if "pandas" in results:
            p = results["pandas"][0]
            verdicts.append(
                f"wall vs pandas {n.wall / p.wall:.2f}x ({'met' if n.wall <= 0.5 * p.wall else 'NOT met'})"
            )
            verdicts.append(
                f"memory vs pandas {n.rss / p.rss:.2f}x ({'met' if n.rss <= p.rss / 3 else 'NOT met'})"
            )
        f = results["floor"][0]
        verdicts.append(
            f"wall vs floor {n.wall / f.wall:.2f}x ({'met' if n.wall <= 1.5 * f.wall else 'NOT met'})"
        )
        print(f"  {fmt}: " + "; ".join(verdicts))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
