"""Benchmark: 50 clients answering a PHQ-9 at once through ``nefkit serve``, on loopback.

A fresh clinic database, ``nefkit serve`` started as a user starts it (a separate process on a
free loopback port), 50 invitations; then 50 threads, one per client, each with its own HTTP
client (httpx), open their link and send their ten answers one at a time (the form's own POST,
with its CSRF token), then the form. Every answer's time is from sending it until the next
question has arrived: what a client waits for. Afterwards the database is read: every answer
must be stored (0 lost) and every form finished.

Baseline, in the same script: the same answers saved with no web in between (nefkit's
``Clinic.answer``, one transaction each with its alerts, as ``nefkit administer`` saves them),
by 50 threads at once on a database of their own. The ratio says what the web costs over the
saving itself. Target: p95 of an answer under 50 ms on the reference machine (2 cores).

    python benchmarks/serve_load.py                # 50 clients
    python benchmarks/serve_load.py --clients 10   # a quick run

Needs httpx (nefkit's test extra). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def invite_all(db: Path, clients: int) -> list[str]:
    registry = nefkit.get_registry()
    plan = nefkit.get_plan("phq-9", registry)
    with open_store(db, create=True) as store:
        clinic = Clinic(store, registry, "bench")
        return [
            invitations.invite(
                clinic, f"L{n:03d}", [plan], None, "question", invitations.LONGEST
            ).token
            for n in range(clients)
        ]


def one_client(
    base: str, token: str, times: list[float], errors: list[str], start: threading.Barrier
) -> None:
    with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as http:
        page = http.get(f"/f/{token}")
        start.wait()
        for value in ANSWERS:
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]
            item = re.search(r'name="item" value="([^"]+)"', page.text)[1]
            began = time.perf_counter()
            page = http.post(
                "/form", data={"csrf": csrf, "item": item, "action": "answer", "answer": value}
            )
            times.append(time.perf_counter() - began)
            if page.status_code != 200:
                errors.append(f"{item}: HTTP {page.status_code}")
                return
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]
        done = http.post("/form/submit", data={"csrf": csrf})
        if "Thank you" not in done.text:
            errors.append("the form was not finished")


def through_the_web(work: Path, clients: int) -> tuple[list[float], list[str], float]:
    db = work / "web.db"
    tokens = invite_all(db, clients)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "nefkit", "serve", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/login")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        times: list[float] = []
        errors: list[str] = []
        start = threading.Barrier(clients + 1)
        threads = [
            threading.Thread(target=one_client, args=(base, t, times, errors, start))
            for t in tokens
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


def without_the_web(work: Path, clients: int) -> list[float]:
    """The same saves, straight through Clinic.answer, 50 threads at once."""
    db = work / "direct.db"
    registry = nefkit.get_registry()
    plan = nefkit.get_plan("phq-9", registry)
    with open_store(db, create=True) as store:
        clinic = Clinic(store, registry, "bench")
        ids = [clinic.start(plan, f"D{n:03d}", 1, {}) for n in range(clients)]
    times: list[float] = []
    start = threading.Barrier(clients)

    def answer_all(administration_id: int) -> None:
        with open_store(db) as store:
            clinic = Clinic(store, registry, "bench")
            start.wait()
            for item, value in zip((i.id for i in plan.items), ANSWERS):
                began = time.perf_counter()
                clinic.answer(store.get(administration_id), item, int(value))
                times.append(time.perf_counter() - began)

    threads = [threading.Thread(target=answer_all, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nefkit-serve-load-") as folder:
        work = Path(folder)
        web, errors, wall = through_the_web(work, args.clients)
        direct = without_the_web(work, args.clients)
    ms = lambda seconds: 1000 * seconds  # noqa: E731
    print(f"{args.clients} clients x {len(ANSWERS)} answers, PHQ-9, nefkit serve on loopback")
    print(f"{'':28} {'answers':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, times in (("through nefkit serve", web), ("Clinic.answer, no web", direct)):
        print(
            f"{name:28} {len(times):>8} {ms(statistics.median(times)):8.1f}"
            f" {ms(percentile(times, 0.95)):8.1f} {ms(max(times)):8.1f}"
        )
    p95 = ms(percentile(web, 0.95))
    print(f"answers per second through the web: {len(web) / wall:.0f}")
    print(f"p95 through the web / p95 without: {p95 / ms(percentile(direct, 0.95)):.2f}x")
    for error in errors:
        print(f"LOST: {error}")
    met = p95 < TARGET_MS and not errors
    verdict = "met" if p95 < TARGET_MS else "NOT met"
    print(
        f"p95 {p95:.1f} ms (target: under {TARGET_MS:g} ms): {verdict}; {'0 answers lost' if not errors else 'answers LOST'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
