"""Expected courses fitted from a service's data (nefkit/trajectories.py), against figures
worked out by hand."""

from __future__ import annotations

import csv
import tomllib

import pytest

import nefkit
from nefkit.definitions.toml import dumps_definition
from nefkit.errors import NefkitError
from nefkit.trajectories import dumps, fit, loads

ITEMS = [f"phq9_{i}" for i in range(1, 10)]


def answers(total: int) -> list[str]:
    """Nine PHQ-9 answers adding up to ``total``: threes first, then the rest."""
    cells = []
    for _ in ITEMS:
        take = min(3, total)
        cells.append(str(take))
        total -= take
    return cells


def phq_file(tmp_path, courses: dict[str, list[int]]):
    path = tmp_path / "phq.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *ITEMS, "phq9_10"])
        for client, totals in courses.items():
            for session, total in enumerate(totals, 1):
                writer.writerow([client, session, *answers(total), "1" if total else ""])
    return path


COURSES = {
    # Moderate at intake (10-14): four clients, three sessions each.
    "A": [10, 8, 6],
    "B": [12, 10, 4],
    "C": [14, 12, 9],
    "D": [11, 13, 15],
    # Severe at intake (20-27): two clients, sessions 1 and 2 only.
    "E": [22, 18],
    "F": [24, 20],
}


def test_cells_by_hand(tmp_path):
    course = fit(nefkit.score("phq-9", phq_file(tmp_path, COURSES)), "total", min_cell=4)
    cells = {(c.group, c.session): c for c in course.cells}
    # Moderate, session 2: 8, 10, 12, 13. Median 11. Inclusive percentiles (R type 7):
    # p10 at position 0.3 between 8 and 10 = 8.6; p90 at 2.7 between 12 and 13 = 12.7.
    moderate = cells[("Moderate", 2)]
    assert (moderate.n, moderate.median, moderate.low, moderate.high, moderate.pooled) == (
        4,
        11,
        pytest.approx(8.6),
        pytest.approx(12.7),
        False,
    )
    # Moderate, session 3: 4, 6, 9, 15: median 7.5, p10 4.6, p90 13.2.
    third = cells[("Moderate", 3)]
    assert (third.median, third.low, third.high) == (7.5, pytest.approx(4.6), pytest.approx(13.2))
    # Severe: two clients a session; sessions 1 and 2 pooled give four scores (22, 24, 18, 20):
    # median 21, p10 18.6, p90 23.4, marked pooled.
    severe = cells[("Severe", 1)]
    assert (severe.n, severe.median, severe.pooled) == (4, 21, True)
    assert (severe.low, severe.high) == (pytest.approx(18.6), pytest.approx(23.4))
    assert ("Mild", 1) not in cells  # nobody started mild: nothing is expected there
    assert course.data.respondents == 6 and course.data.rows == 16
    assert course.better == "lower" and course.method == "intake-bands"


def test_on_track_and_the_file(tmp_path):
    course = fit(nefkit.score("phq-9", phq_file(tmp_path, COURSES)), "total", min_cell=4)
    # Started at 12 (Moderate); at session 2 the band is 8.6 to 12.7.
    assert course.on_track(12, 2, 12) is True
    assert course.on_track(12, 2, 13) is False  # above the band: not on track
    assert course.on_track(12, 7, 3) is None  # no cell: nothing expected, never "on track"
    assert course.on_track(6, 2, 20) is None  # a Mild start: no group fitted
    assert course.group_of(9.5).name == "Mild"  # a prorated score between bands: the lower
    assert loads(dumps(course)) == course


def test_quantile_groups_and_plain_errors(tmp_path):
    results = nefkit.score("phq-9", phq_file(tmp_path, COURSES))
    course = fit(results, "total", groups="quantiles", quantiles=2, min_cell=3)
    # First scores 10, 12, 14, 11, 22, 24: median 13 splits them into 10-13 and above.
    assert [(g.low, g.high) for g in course.groups][0] == (10, 13)
    with pytest.raises(NefkitError, match="phq-9 has no score 'totl'"):
        fit(nefkit.score("phq-9", phq_file(tmp_path, COURSES)), "totl")
    with pytest.raises(NefkitError, match="severity is label, not a number"):
        fit(nefkit.score("phq-9", phq_file(tmp_path, COURSES)), "severity")
    data = tomllib.loads(dumps(course))
    data["cells"][0]["median"] = 99.0  # above its band: a damaged or hand-edited file
    with pytest.raises(NefkitError, match=r"expected.toml: cells.0: .*low ≤ median ≤ high"):
        loads(dumps_definition(data), "expected.toml")


def test_fit_and_validate_from_the_command_line(tmp_path):
    from click.testing import CliRunner

    from nefkit.cli import cli

    data = phq_file(tmp_path, COURSES)
    out = tmp_path / "expected.toml"
    done = CliRunner().invoke(
        cli, ["trajectories", "fit", "phq-9", str(data), "-o", str(out), "--min-cell", "4"]
    )
    assert done.exit_code == 0, done.output
    # Moderate: sessions 1-3, four clients each; Severe: sessions 1 and 2, each pooled to four.
    assert "Fitted 5 cells (2 pooled) of phq-9 total from 6 respondents" in done.output
    assert (
        loads(out.read_text()).cells == fit(nefkit.score("phq-9", data), "total", min_cell=4).cells
    )
    checked = CliRunner().invoke(cli, ["validate", str(out)])
    assert checked.exit_code == 0 and "valid (expected course of phq-9 total" in checked.output
    out.write_text(out.read_text().replace('score = "total"', 'score = "totl"'))
    checked = CliRunner().invoke(cli, ["validate", str(out)])
    assert checked.exit_code == 1 and "phq-9 has no score 'totl'" in checked.output


def test_session_numbers_are_the_data_s_own(tmp_path):
    """A client seen at sessions 1 and 3 counts at session 3, not as a second session; without
    a session column, administrations are numbered in row order."""
    path = tmp_path / "gaps.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *ITEMS, "phq9_10"])
        writer.writerow(["G", 3, *answers(6), "1"])  # rows out of order: sorted by session
        writer.writerow(["G", 1, *answers(12), "1"])
    course = fit(nefkit.score("phq-9", path), "total", min_cell=1)
    cells = {(c.group, c.session): (c.n, c.median) for c in course.cells}
    # Session 2 has nobody: pooled from sessions 1 and 3 (12 and 6).
    assert cells == {("Moderate", 1): (1, 12), ("Moderate", 2): (2, 9), ("Moderate", 3): (1, 6)}
