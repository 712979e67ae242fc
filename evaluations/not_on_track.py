"""How well "not on track" at session 3 or 4 foretells reliable deterioration at the end.

Simulated PHQ-9 courses with a known process (who responds, who responds late, who does not,
who deteriorates), scored by nefkit, cross-validated: the expected course is fitted on the other
folds' clients (nefkit.trajectories.fit) and judged on the held-out ones, exactly as the alerts
judge (the first score picks the group; a score past the band's worse edge is not on track). The
end is nefkit's own change rule, first to last session. Then the bundled demo, in-sample (twelve
clients are too few to hold any out).

    python evaluations/not_on_track.py [--clients 2000] [--folds 5] [--seed 20261206]

Prints the figures docs/expected-courses.md quotes. No number here is a clinical claim: they
describe this simulation, and how the method behaves under it.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
from collections import Counter
from importlib.resources import as_file, files
from pathlib import Path

import nefkit
from nefkit.trajectories import fit

ITEMS = [f"phq9_{i}" for i in range(1, 10)]
SESSIONS = 8
JUDGED = (3, 4)  # not on track at either of these sessions counts as an early warning
# Kinds of course, with their share of clients; the process is what the simulation knows and
# the method does not.
KINDS = {
    "responder": 0.55,
    "late responder": 0.10,  # flat until session 5, then improves: the known false alarm
    "non-responder": 0.20,
    "deteriorating": 0.15,  # worsens from session 2 on
}


def true_course(kind: str, intake: float, rng: random.Random) -> list[float]:
    floor = rng.uniform(3, 7)
    if kind == "responder":
        rate = rng.uniform(0.25, 0.6)
        return [floor + (intake - floor) * (1 - rate) ** s for s in range(SESSIONS)]
    if kind == "late responder":
        rate = rng.uniform(0.3, 0.6)
        return [
            intake if s < 4 else floor + (intake - floor) * (1 - rate) ** (s - 3)
            for s in range(SESSIONS)
        ]
    if kind == "non-responder":
        return [intake] * SESSIONS
    slope = rng.uniform(0.8, 2.0)
    return [intake + slope * max(0, s - 1) for s in range(SESSIONS)]


def answers(total: int) -> list[int]:
    """Nine answers (0-3) adding up to ``total``, spread evenly."""
    base, extra = divmod(total, 9)
    return [base + (1 if i < extra else 0) for i in range(9)]


def simulate(clients: int, seed: int) -> tuple[list[list], dict[str, str]]:
    rng = random.Random(seed)
    rows, kinds = [], {}
    for n in range(clients):
        client = f"S{n:05d}"
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        kinds[client] = kind
        intake = rng.uniform(10, 22)
        for session, truth in enumerate(true_course(kind, intake, rng), 1):
            observed = min(27, max(0, round(truth + rng.gauss(0, 2.0))))
            rows.append([client, session, *answers(observed), 1])
    return rows, kinds


def write(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *ITEMS, "phq9_10"])
        writer.writerows(rows)
    return path


def courses(results) -> dict[str, list[tuple[int, float]]]:
    """Each client's (session, total), in session order."""
    by_client: dict[str, list[tuple[int, float]]] = {}
    for row in results.rows:
        value = row.scores["total"].value if row.valid else None
        if value is not None:
            by_client.setdefault(row.respondent_id, []).append((row.session, value))
    return {c: sorted(points) for c, points in by_client.items()}


def ends(results) -> dict[str, str]:
    """Each client's first-to-last class by the instrument's own change rule."""
    return {
        c.respondent_id: c.classification
        for c in results.changes
        if c.comparison == "baseline to latest"
    }


def early_warning(course, points: list[tuple[int, float]]) -> bool:
    first = points[0][1]
    return any(
        course.on_track(first, session, value) is False
        for session, value in points[1:]
        if session in JUDGED
    )


def evaluate(clients: int, folds: int, seed: int, work: Path) -> None:
    rows, kinds = simulate(clients, seed)
    everyone = sorted(kinds)
    random.Random(seed + 1).shuffle(everyone)
    fold_of = {client: i % folds for i, client in enumerate(everyone)}
    tally: Counter = Counter()
    for fold in range(folds):
        train = write(work / "train.csv", [r for r in rows if fold_of[r[0]] != fold])
        test = write(work / "test.csv", [r for r in rows if fold_of[r[0]] == fold])
        course = fit(nefkit.score("phq-9", train), "total", min_cell=10)
        held = nefkit.score("phq-9", test)
        points = courses(held)
        classes = ends(held)
        for client, series in points.items():
            warned = early_warning(course, series)
            end = classes.get(client, "no change computed")
            tally[(end, warned)] += 1
            tally[(kinds[client], warned)] += 1
    report("Simulated PHQ-9 courses", clients, tally, with_kinds=True)


def report(title: str, clients: int, tally: Counter, with_kinds: bool) -> None:
    def share(group: str) -> str:
        yes, no = tally[(group, True)], tally[(group, False)]
        total = yes + no
        return f"{yes}/{total} ({100 * yes / total:.0f} %)" if total else "none"

    print(f"\n{title}: {clients} clients; not on track at session 3 or 4 among those whose")
    print(
        f"  end (first to last session) was reliably deteriorated: {share('reliably deteriorated')}"
    )
    for end in ("no reliable change", "reliably improved", "recovered"):
        print(f"  end was {end}: {share(end)}")
    ends = ("reliably deteriorated", "no reliable change", "reliably improved", "recovered")
    warned = sum(tally[(end, True)] for end in ends)
    worse = tally[("reliably deteriorated", True)]
    if warned:
        print(
            f"  of the {warned} warned, {worse} ({100 * worse / warned:.0f} %) ended reliably deteriorated"
        )
    if with_kinds:
        print("  by the simulated process:")
        for kind in KINDS:
            print(f"    {kind}: {share(kind)}")


def demo() -> None:
    data = files("nefkit_demo") / "data" / "phq-9.csv"
    with as_file(data) as path:
        course = fit(
            nefkit.score("phq-9", path), "total", groups="quantiles", quantiles=2, min_cell=3
        )
        results = nefkit.score("phq-9", path)
        points = courses(results)
        classes = ends(results)
    tally: Counter = Counter()
    for client, series in points.items():
        tally[(classes.get(client, "no change computed"), early_warning(course, series))] += 1
    report("The bundled demo, in-sample (as nefkit demo fits it)", len(points), tally, False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        evaluate(args.clients, args.folds, args.seed, Path(work))
    demo()


if __name__ == "__main__":
    main()
