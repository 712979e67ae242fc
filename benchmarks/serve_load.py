"""Benchmark: 50 clients answering a PHQ-9 at once through ``nefkit serve``, on loopback.

A fresh clinic database, ``nefkit serve`` started as a user starts it (a separate process on a
free loopback port), 50 invitations; then 50 threads, one per client, each with its own HTTP
client (httpx), open their link and send their ten answers one at a time (the form's own POST,
with its CSRF token), then the form. Every answer's time is from sending it until the next
question has arrived: what a client waits for. Afterwards the database is read: every answer
must be stored (0 lost) and every form finished.

Two runs. **At a person's pace**: each client reads and taps for 1 to 3 seconds (at random,
seeded) before each answer, all 50 at once: the load of 50 people answering together. The
target is for this run: p95 of an answer under 50 ms on the reference machine (2 cores).
**Flat out**: no pause at all, every client sending its next answer the moment the last one is
back: what the server can take (answers a second), and how long an answer waits then.

Baseline, in the same script: the same answers at a person's pace saved with no web in between
(nefkit's ``Clinic.answer``, one transaction each with its alerts, as ``nefkit administer``
saves them), a thread a client, on a database of their own. The ratio says what the web adds.

    python benchmarks/serve_load.py                # 50 clients, about a minute
    python benchmarks/serve_load.py --clients 10   # a quick run

Needs httpx (nefkit's test extra). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

import nefkit
from nefkit.clinic import invitations
from nefkit.clinic.alerts import Clinic
from nefkit.clinic.sqlite import open_store

TARGET_MS = 50.0
ANSWERS = ["1", "2", "0", "1", "0", "2", "1", "0", "0", "1"]  # phq9_1..phq9_10
PACED, FLAT = (1.0, 3.0), (0.0, 0.0)  # seconds before each answer


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def pauses(seed: int, pace: tuple[float, float]) -> list[float]:
    """A client's reading-and-tapping time before each answer."""
    rng = random.Random(seed)
    return [rng.uniform(*pace) for _ in ANSWERS]


def field(name: str, page: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', page)[1]


def one_client(base: str, token: str, wait: list[float], times: list, errors: list, start) -> None:
    with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as http:
        page = http.get(f"/f/{token}")
        start.wait()
        for value, pause in zip(ANSWERS, wait):
            time.sleep(pause)
            data = {"csrf": field("csrf", page.text), "item": field("item", page.text)}
            began = time.perf_counter()
            page = http.post("/form", data=data | {"action": "answer", "answer": value})
            times.append(time.perf_counter() - began)
            if page.status_code != 200:
                errors.append(f"{data['item']}: HTTP {page.status_code}")
                return
        done = http.post("/form/submit", data={"csrf": field("csrf", page.text)})
        if "Thank you" not in done.text:
            errors.append("a form was not finished")


def through_the_web(work: Path, clients: int, pace) -> tuple[list[float], list[str], float]:
    db = work / f"web-{pace[1]:g}.db"
    registry = nefkit.get_registry()
    plan = nefkit.get_plan("phq-9", registry)
    with open_store(db, create=True) as store:
        clinic = Clinic(store, registry, "bench")
        tokens = [
            invitations.invite(clinic, f"L{n:03d}", [plan], None, "question", invitations.LONGEST)
            for n in range(clients)
        ]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "nefkit", "serve", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    times: list[float] = []
    errors: list[str] = []
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/login")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        start = threading.Barrier(clients + 1)
        threads = [
            threading.Thread(
                target=one_client, args=(base, made.token, pauses(n, pace), times, errors, start)
            )
            for n, made in enumerate(tokens)
        ]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=30)
    with open_store(db) as store:
        stored = list(store.administrations())
    lost = clients * len(ANSWERS) - sum(len(a.answers) for a in stored)
    unfinished = sum(a.status != "finished" for a in stored)
    if lost or unfinished or len(stored) != clients:
        errors.append(f"{lost} answers lost, {unfinished} forms unfinished, {len(stored)} forms")
    return times, errors, wall


def without_the_web(work: Path, clients: int, pace) -> list[float]:
    """The same saves at the same pace, straight through Clinic.answer, a thread a client."""
    db = work / f"direct-{pace[1]:g}.db"
    registry = nefkit.get_registry()
    plan = nefkit.get_plan("phq-9", registry)
    with open_store(db, create=True) as store:
        clinic = Clinic(store, registry, "bench")
        ids = [clinic.start(plan, f"D{n:03d}", 1, {}) for n in range(clients)]
    times: list[float] = []
    start = threading.Barrier(clients)

    def answer_all(administration_id: int, wait: list[float]) -> None:
        with open_store(db) as store:
            clinic = Clinic(store, registry, "bench")
            start.wait()
            for item, value, pause in zip((i.id for i in plan.items), ANSWERS, wait):
                time.sleep(pause)
                began = time.perf_counter()
                clinic.answer(store.get(administration_id), item, int(value))
                times.append(time.perf_counter() - began)

    threads = [
        threading.Thread(target=answer_all, args=(i, pauses(n, pace))) for n, i in enumerate(ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def row(name: str, times: list[float]) -> str:
    ms = [1000 * t for t in times]
    return (
        f"{name:34} {len(ms):>8} {statistics.median(ms):8.1f} {percentile(ms, 0.95):8.1f}"
        f" {max(ms):8.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nefkit-serve-load-") as folder:
        work = Path(folder)
        web, errors, _ = through_the_web(work, args.clients, PACED)
        direct = without_the_web(work, args.clients, PACED)
        busy, busy_errors, wall = through_the_web(work, args.clients, FLAT)
    errors += busy_errors
    print(f"{args.clients} clients x {len(ANSWERS)} answers, PHQ-9, nefkit serve on loopback")
    print(f"{'':34} {'answers':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    print(row("at a person's pace, nefkit serve", web))
    print(row("at a person's pace, no web", direct))
    print(row("flat out, nefkit serve", busy))
    p95 = 1000 * percentile(web, 0.95)
    ratio = p95 / (1000 * percentile(direct, 0.95))
    print(f"p95 at a person's pace, through the web / without: {ratio:.2f}x")
    print(f"flat out: {len(busy) / wall:.0f} answers a second")
    for error in errors:
        print(f"LOST: {error}")
    verdict = "met" if p95 < TARGET_MS else "NOT met"
    lost = "0 answers lost" if not errors else "answers LOST"
    print(
        f"p95 at a person's pace {p95:.1f} ms (target: under {TARGET_MS:g} ms): {verdict}; {lost}"
    )
    return 0 if p95 < TARGET_MS and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
