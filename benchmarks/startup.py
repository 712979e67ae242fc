"""Benchmark: how long nefkit takes to start, for the commands a person types first.

Times ``python -c pass`` (the interpreter alone), ``nefkit --help`` (the baseline: the command
line and the plugins' registration), ``nefkit instruments``, ``nefkit show phq-9`` and
``nefkit show neq-20``, each as a fresh process, with hyperfine when it is installed, else by
running each command ``--runs`` times here; the median of each, its difference to
``nefkit --help`` and their ratio. The target: ``instruments`` and ``show`` within 100 ms of
``--help``. One more row times ``nefkit instruments`` when the definitions cache cannot be
used (its directory cannot be made), as on a first run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 100.0
BASELINE = "nefkit --help"
# A directory that cannot be made, even by root: a path below a file.
NO_CACHE = "/dev/null/nefkit-cache"
ROUNDS = 5


def commands(nefkit: str) -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        BASELINE: [nefkit, "--help"],
        "nefkit instruments": [nefkit, "instruments"],
        "nefkit show phq-9": [nefkit, "show", "phq-9"],
        "nefkit show neq-20": [nefkit, "show", "neq-20"],
        "nefkit instruments, no cache": [
            "env",
            f"XDG_CACHE_HOME={NO_CACHE}",
            nefkit,
            "instruments",
        ],
    }


Times = dict[str, tuple[list[float], list[float]]]  # command: wall times, CPU times (s)


def with_hyperfine(cmds: dict[str, list[str]], runs: int, warmup: int, env: dict) -> Times:
    """Each command's wall times, measured by hyperfine without a shell in between, and its
    mean CPU time (user and system) in each of ROUNDS rounds that take turns, so that a busy
    spell of the machine does not fall on one command."""
    times: Times = {name: ([], []) for name in cmds}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "hyperfine.json"
        for _ in range(ROUNDS):
            args = ["hyperfine", "-N", "--style", "none", "--runs", str(-(-runs // ROUNDS))]
            args += ["--warmup", str(warmup), "--export-json", str(report)]
            for name, cmd in cmds.items():
                args += ["--command-name", name, shlex.join(cmd)]
            subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
            for result in json.loads(report.read_text())["results"]:
                wall, cpu = times[result["command"]]
                wall += result["times"]
                cpu.append(result["user"] + result["system"])
    return times


def by_hand(cmds: dict[str, list[str]], runs: int, warmup: int, env: dict) -> Times:
    """Each command's wall and CPU times, taken here around ``subprocess.run``; the commands
    take turns."""
    times: Times = {name: ([], []) for name in cmds}
    for turn in range(warmup + runs):
        for name, cmd in cmds.items():
            before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
            wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
            if turn >= warmup:
                times[name][0].append(wall)
                cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
                times[name][1].append(cpu)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each command")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    parser.add_argument(
        "--timer", choices=("auto", "hyperfine", "python"), default="auto", help="how to time"
    )
    args = parser.parse_args()
    nefkit = Path(sys.executable).parent / ("nefkit.exe" if os.name == "nt" else "nefkit")
    if not nefkit.exists():
        sys.exit(f"no nefkit next to {sys.executable}: run this with nefkit's environment's Python")
    hyperfine = shutil.which("hyperfine") if args.timer != "python" else None
    if args.timer == "hyperfine" and hyperfine is None:
        sys.exit("hyperfine is not installed; use --timer python")
    with tempfile.TemporaryDirectory() as cache:
        # A cache of its own, which the warm-up runs fill: the figures do not depend on what an
        # earlier run left. Python writes bytecode as for any installed package, where a
        # developer's PYTHONDONTWRITEBYTECODE would make every run compile nefkit again.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["XDG_CACHE_HOME"] = cache
        timer = with_hyperfine if hyperfine else by_hand
        times = timer(commands(str(nefkit)), args.runs, max(args.warmup, 1), env)
    medians = {name: statistics.median(wall) for name, (wall, _) in times.items()}
    cpus = {name: statistics.median(cpu) for name, (_, cpu) in times.items()}
    runs = len(times[BASELINE][0])
    print(f"timer: {'hyperfine' if hyperfine else 'python'}, {runs} runs each, medians")
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        print("(PYTHONDONTWRITEBYTECODE was set; the runs here write bytecode all the same)")
    base, base_cpu = medians[BASELINE], cpus[BASELINE]
    print(
        f"{'command':<30} {'wall ms':>8} {'vs --help':>10} {'ratio':>6} {'CPU ms':>8} {'vs --help':>10}"
    )
    for name, seconds in medians.items():
        print(
            f"{name:<30} {seconds * 1000:>8.1f} {(seconds - base) * 1000:>+10.1f}"
            f" {seconds / base:>5.2f}x {cpus[name] * 1000:>8.1f}"
            f" {(cpus[name] - base_cpu) * 1000:>+10.1f}"
        )
    late = [
        name
        for name in medians
        if (name.startswith("nefkit show") or name == "nefkit instruments")
        and (medians[name] - base) * 1000 > TARGET_MS
    ]
    verdict = f"NOT met by {', '.join(late)}" if late else "met"
    print(f"target: instruments and show within {TARGET_MS:.0f} ms of {BASELINE}: {verdict}")
    return 1 if late else 0


if __name__ == "__main__":
    sys.exit(main())
