"""Benchmark: does ``--engine auto`` pick well? PHQ-9 and NEQ-20, CSV, 10,000 to 1,000,000 rows.

For each instrument and size, three runs of ``nefkit score INSTRUMENT data.csv -o out.csv``, each a
separate process measured by /usr/bin/time -v (wall time, peak RSS): ``--engine python``,
``--engine duckdb`` and ``--engine auto``. The table gives each wall time, the engine auto chose
(from the output's provenance), and auto's time over the better engine's: the aim is at most
1.2 at every size. CSV is written by DuckDB itself; the same runs with ``-o out.json`` (written
from every row in Python, as a workbook or a report is) show the choice for such outputs, at
10,000 to 300,000 rows by default (a million rows of JSON is a gigabyte). It also prints the peak memory of each engine: PHQ-9 has a change rule, whose
history the row engine keeps in memory (see the README on which engine auto sends such files to).

The model auto weighs (each engine's ``cost``: seconds from rows and items) was fitted to this
benchmark's figures on the reference machine; the table lets you check it on yours. Run with the
Python of the environment nefkit is installed in. See benchmarks/README.md.

    python benchmarks/auto_engine.py                      # about 15 minutes
    python benchmarks/auto_engine.py --sizes 10000 100000 --json-sizes 10000  # a quick run
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import random
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
spec = importlib.util.spec_from_file_location("score_neq20", HERE / "score_neq20.py")
base = importlib.util.module_from_spec(spec)
sys.modules["score_neq20"] = base  # its dataclasses look themselves up there
spec.loader.exec_module(base)

AIM = 1.2
SIZES = (10_000, 100_000, 300_000, 1_000_000)
JSON_SIZES = (10_000, 100_000, 300_000)
SHORT = 10.0  # seconds: runs shorter than this are repeated
PHQ9 = [f"phq9_{i}" for i in range(1, 11)]


def phq9_data(path: Path, rows: int, seed: int = 20261205) -> None:
    """PHQ-9 administrations: respondents followed for 1-12 sessions, so that the change rule
    has work; about 2 % of answers blank."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", "administered_at", *PHQ9])
        written, respondent = 0, 0
        while written < rows:
            respondent += 1
            level = rng.random() * 3
            for session in range(1, min(1 + int(rng.random() * 12), rows - written) + 1):
                answers = [
                    "" if rng.random() < 0.02 else str(min(3, int(rng.random() * (level + 0.6))))
                    for _ in range(9)
                ]
                difficulty = (
                    str(int(rng.random() * 4)) if any(a not in ("", "0") for a in answers) else ""
                )
                day = f"2026-{1 + session // 28:02d}-{1 + session % 28:02d}"
                writer.writerow([f"P{respondent:07d}", session, day, *answers, difficulty])
                written += 1


def run(nefkit: Path, instrument: str, data: Path, engine: str, work: Path, timer: str, fmt: str):
    """The run, and the engine that scored. Short runs, whose times vary by a tenth of a second
    from one to the next, are the best of three."""
    out = work / f"{instrument}-{engine}.{fmt}"
    cmd = [str(nefkit), "score", instrument, str(data), "-o", str(out), "--engine", engine]
    runs = [base.measure(f"{instrument}-{engine}", 0, cmd, work, timer)]
    while runs[-1].wall < SHORT and len(runs) < 3:
        runs.append(base.measure(f"{instrument}-{engine}", 0, cmd, work, timer))
    measured = min(runs, key=lambda run: run.wall)
    if measured.status not in (0, 1):  # 1: rows with problems, which the data have none of
        sys.exit(f"{' '.join(cmd)} failed:\n{measured.stderr.read_text()}")
    if fmt == "csv":
        provenance = json.loads(out.with_name(f"{out.stem}-provenance.json").read_text())
    else:
        with open(out, encoding="utf-8") as handle:  # {"provenance": {...}, "rows": ...
            head = handle.read(1 << 16)
        provenance, _ = json.JSONDecoder().raw_decode(head, head.index("{", 1))
    out.unlink()
    return measured, provenance["engine"].split(":")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--json-sizes", type=int, nargs="*", default=list(JSON_SIZES))
    parser.add_argument("--instruments", nargs="+", default=["phq-9", "neq-20"])
    args = parser.parse_args(argv)
    nefkit = Path(sys.executable).with_name("nefkit")
    timer = "gnu-time" if base.gnu_time_works() else "rusage"
    print("\n".join(base.machine_facts(nefkit, None, timer)))
    print()
    header = f"{'instrument':10} {'output':6} {'rows':>9}  {'python':>8} {'duckdb':>8} {'auto':>8}  chose   auto/best  python MB  duckdb MB"
    print(header)
    print("-" * len(header))
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="nefkit-auto-") as tmp:
        work = Path(tmp)
        runs = [("csv", rows) for rows in args.sizes]
        runs += [("json", rows) for rows in args.json_sizes]
        for instrument in args.instruments:
            for fmt, rows in runs:
                data = work / f"{instrument}-{rows}.csv"
                if instrument == "neq-20":
                    base.generate(data, rows, 20260301)
                else:
                    phq9_data(data, rows)
                python, _ = run(nefkit, instrument, data, "python", work, timer, fmt)
                duckdb, _ = run(nefkit, instrument, data, "duckdb", work, timer, fmt)
                auto, chose = run(nefkit, instrument, data, "auto", work, timer, fmt)
                ratio = auto.wall / min(python.wall, duckdb.wall)
                worst = max(worst, ratio)
                print(
                    f"{instrument:10} {fmt:6} {rows:>9,}  {python.wall:7.2f}s {duckdb.wall:7.2f}s"
                    f" {auto.wall:7.2f}s  {chose:7} {ratio:8.2f}x  {python.rss_mb:9.0f}"
                    f"  {duckdb.rss_mb:9.0f}",
                    flush=True,
                )
                data.unlink()
    verdict = "within" if worst <= AIM else "NOT within"
    print(f"\nauto is at worst {worst:.2f}x the better engine: {verdict} the aim of {AIM}x")
    return 0 if worst <= AIM else 1


if __name__ == "__main__":
    sys.exit(main())
