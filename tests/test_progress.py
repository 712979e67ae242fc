"""The progress bar of long commands: its words, and what a terminal shows of it (driven in a
real pseudo-terminal, as in test_administer.py), and nothing of it anywhere else."""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import threading
from pathlib import Path

import pexpect
import pytest

from nefkit import api
from nefkit.cli.progress import ProgressBar

ROWS = 20_000
BAR_TEXT = re.compile(r"\[[#-]{24}\]\s+\d+%")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def bar(total, unit="rows", stream=None):
    clock = FakeClock()
    return ProgressBar("Scoring", total, unit, stream=stream or Terminal(), clock=clock), clock


# --- the bar's words ---------------------------------------------------------------------------


def test_percent_counts_and_the_time_left_at_the_rate_so_far():
    progress, clock = bar(1000)
    clock.now += 10
    progress(250)  # 250 rows in 10 s: 750 more take 30 s
    assert progress.line() == (
        "Scoring [######------------------]  25%  250 of 1,000 rows  30 s left"
    )
    clock.now += 10
    progress(300)  # slower: 300 in 20 s, 700 more take 46.7 s, said as 47
    assert progress.line().endswith("30%  300 of 1,000 rows  47 s left")


def test_minutes_and_hours_left():
    progress, clock = bar(10_000)
    clock.now += 20
    progress(100)  # 9,900 more at 5 a second
    assert progress.line().endswith("1%  100 of 10,000 rows  33 min 00 s left")
    clock.now += 20
    progress(101)
    assert progress.line().endswith("1 h 05 min left")


def test_no_time_left_is_guessed_in_the_first_second():
    progress, clock = bar(1000)
    clock.now += 0.5
    progress(10)
    assert progress.line() == "Scoring [------------------------]   1%  10 of 1,000 rows"


def test_an_estimate_too_low_keeps_the_bar_below_full_until_the_work_is_finished():
    progress, clock = bar(1000)
    clock.now += 5
    progress(1000)
    assert " 99%  1,000 of 1,000 rows" in progress.line()  # the file is still being written
    progress(1200)
    assert progress.line() == "Scoring [#######################-]  99%  1,200 rows"
    progress.finish()
    assert progress.line() == "Scoring [########################] 100%  1,200 of 1,200 rows"


def test_without_a_total_the_count_and_the_time_so_far():
    progress, clock = bar(None)
    clock.now += 65
    progress(1234)
    assert progress.line() == "Scoring  1,234 rows  1 min 05 s so far"


def test_work_counted_in_steps_shows_no_counts():
    progress, clock = bar(None, unit="")
    clock.now += 4
    progress(30, 120)  # the total may come with the count
    assert progress.line() == "Scoring [######------------------]  25%  12 s left"


def test_redrawn_at_most_five_times_a_second_then_cleared():
    screen = Terminal()
    progress, clock = bar(1000, stream=screen)
    for rows in range(1, 1001):
        clock.now += 0.001  # a thousand reports in one second
        progress(rows)
    draws = screen.getvalue().count("\r")
    assert 4 <= draws <= 6
    progress.finish()
    last = screen.getvalue().split("\r")
    assert "100%  1,000 of 1,000 rows" in last[-3]
    assert last[-2].strip() == "" and len(last[-2]) >= len(last[-3]) and last[-1] == ""


def test_nothing_at_all_when_stderr_is_not_a_terminal():
    quiet = io.StringIO()
    progress = ProgressBar("Scoring", 1000, stream=quiet)
    for rows in range(0, 1001, 100):
        progress(rows)
    progress.finish()
    assert quiet.getvalue() == ""


# --- DuckDB's polling thread -------------------------------------------------------------------


def _pollers() -> list[threading.Thread]:
    from nefkit_duckdb.progress import THREAD

    return [t for t in threading.enumerate() if t.name == THREAD]


def test_duckdb_reports_the_rows_of_a_file_it_writes_itself_and_its_poller_stops(
    tmp_path, phq9_file
):
    seen: list[int] = []
    results = api.score("phq-9", phq9_file, progress=seen.append, engine="duckdb")
    api.render(results, tmp_path / "out.csv")
    assert seen == sorted(seen) and seen[-1] == ROWS  # the estimate of this file is exact
    assert results.row_count == ROWS
    assert _pollers() == []


class FakeConnection:
    """Says a query's percent until it is closed, and fails if asked after."""

    def __init__(self) -> None:
        self.closed = False
        self.percent = 0.0
        self.asked = threading.Event()

    def query_progress(self) -> float:
        assert not self.closed, "asked after the connection was closed"
        self.percent = min(self.percent + 10, 100)
        self.asked.set()
        return self.percent


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_the_poller_stops_when_the_query_fails_or_is_interrupted(failure):
    from nefkit_duckdb.progress import QueryProgress

    seen: list[int] = []
    con = FakeConnection()
    watch = QueryProgress(seen.append, 1000)
    with pytest.raises(failure):
        with watch.watching([con], 0.0, 0.5):
            assert con.asked.wait(5)
            raise failure()
    con.closed = True  # as the engine closes it, after the block
    assert _pollers() == []
    assert seen and max(seen) <= 500  # within the stage's half of the work


# --- in a terminal -----------------------------------------------------------------------------


@pytest.fixture
def phq9_file(tmp_path) -> Path:
    """ROWS administrations of PHQ-9, four sessions per client, every answer given (none 0:
    the follow-up on difficulty is asked)."""
    path = tmp_path / "phq9.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *(f"phq9_{k}" for k in range(1, 11))])
        for n in range(ROWS):
            writer.writerow([f"C{n // 4:05d}", n % 4 + 1, *(1 + (n * k) % 3 for k in range(1, 11))])
    return path


def run_in_terminal(command: str, cwd: Path) -> str:
    """``command`` (a shell line, so that it can redirect) in a pseudo-terminal: what the
    terminal received."""
    env = {**os.environ, "NEFKIT_LOAD_PLUGINS": "", "NEFKIT_USER": "dr-test"}
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", command],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=120,
        dimensions=(24, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return child.before


def nefkit(*args: str) -> str:
    return " ".join([sys.executable, "-m", "nefkit", *args])


def assert_bar_ran_full_and_was_cleared(screen: str, label: str, rows: int | None) -> str:
    """The frames drawn, the last one full, then the line blanked before anything else; what
    came after it is returned."""
    frames = re.findall(rf"{label} \[[#-]+\][^\r\n]*", screen)
    assert len(frames) >= 2, screen
    assert all(BAR_TEXT.search(frame) for frame in frames)
    percents = [int(re.search(r"(\d+)%", frame).group(1)) for frame in frames]
    assert percents == sorted(percents) and percents[-1] == 100
    if rows is not None:
        assert f"{rows:,} of {rows:,} rows" in frames[-1]
    after = screen.split(frames[-1], 1)[1]
    blank, _, rest = after.partition("\r")
    assert blank == "" and re.match(r" +\r", rest), repr(after[:200])
    assert label not in rest
    return rest


@pytest.mark.parametrize(
    "engine, output",
    [
        ("python", "out.csv"),
        ("duckdb", "out.csv"),  # written by DuckDB itself: its query's progress
        ("duckdb", "out.json"),  # rows fetched from DuckDB, in batches
    ],
)
def test_score_draws_a_bar_to_100_percent_and_clears_it(phq9_file, engine, output):
    screen = run_in_terminal(
        nefkit("score", "phq-9", phq9_file.name, "-o", output, "--engine", engine),
        phq9_file.parent,
    )
    rest = assert_bar_ran_full_and_was_cleared(screen, "Scoring", ROWS)
    assert f"Scored {ROWS} of {ROWS} rows of {phq9_file.name} with phq-9 into {output}" in rest


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_with_stderr_in_a_file_writes_no_bar(phq9_file, engine):
    screen = run_in_terminal(
        nefkit("score", "phq-9", phq9_file.name, "-o", "out.csv", "--engine", engine)
        + " 2> stderr.txt",
        phq9_file.parent,
    )
    assert screen == ""  # stdout is the terminal; scoring into a file prints nothing there
    stderr = (phq9_file.parent / "stderr.txt").read_text(encoding="utf-8")
    # What test_cli's tests of score see: the summary line alone, no carriage return.
    assert stderr == (
        f"Scored {ROWS} of {ROWS} rows of {phq9_file.name} with phq-9 into out.csv;"
        f" {ROWS} change scores\n"
    )


def test_analyze_draws_a_bar(phq9_file):
    screen = run_in_terminal(
        nefkit("analyze", "phq-9", phq9_file.name, "-o", "analysis.xlsx"), phq9_file.parent
    )
    rest = assert_bar_ran_full_and_was_cleared(screen, "Analysing", ROWS)
    assert f"Analysed {ROWS} administrations into analysis.xlsx" in rest


def test_record_and_export_draw_bars_on_stderr_never_on_stdout(tmp_path, make_clinic_db):
    db = make_clinic_db(tmp_path / "clinic.db")
    forms = tmp_path / "forms.csv"
    with open(forms, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *(f"gad7_{k}" for k in range(1, 9))])
        for n in range(300):
            writer.writerow([f"C{n // 3:03d}", n % 3 + 1, *((n + k) % 4 for k in range(1, 8)), 1])
    screen = run_in_terminal(
        nefkit("record", "gad-7", "--file", "forms.csv", "--db", str(db)) + " > recorded.txt",
        tmp_path,
    )
    assert_bar_ran_full_and_was_cleared(screen, "Recording", 300)
    assert "Recording" not in (tmp_path / "recorded.txt").read_text(encoding="utf-8")

    screen = run_in_terminal(
        nefkit("db", "export", "export", "--db", str(db)) + " > exported.txt", tmp_path
    )
    assert_bar_ran_full_and_was_cleared(screen, "Exporting", None)
    exported = (tmp_path / "exported.txt").read_text(encoding="utf-8").splitlines()
    assert exported == [
        f"wrote export/{name}"
        for name in (
            "gad-7-scores.csv",
            "administrations.jsonl",
            "answer-history.jsonl",
            "alerts.jsonl",
            "audit.jsonl",
        )
    ]
