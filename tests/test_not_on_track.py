"""Not-on-track alerts: a client's score past the band expected for clients who started like
them, derived from the record and the expected course in use like every other alert."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

import nefkit
from nefkit.clinic.sqlite import open_store
from nefkit.trajectories import dumps, fit

ITEMS = [f"phq9_{i}" for i in range(1, 10)]

# Moderate at intake (10-14), four clients, sessions 1-3: at session 2 the scores are 8, 10,
# 12, 13, so the band is 8.6 to 12.7 (R type 7 percentiles 10 and 90), median 11; at session 3
# (4, 6, 9, 15) it is 4.6 to 13.2, median 7.5. Nothing is expected at session 4.
PAST = {"A": [10, 8, 6], "B": [12, 10, 4], "C": [14, 12, 9], "D": [11, 13, 15]}


def answers(total: int) -> list[str]:
    """Nine PHQ-9 answers adding up to ``total`` (threes first), item 9 always 0."""
    cells = []
    for item in ITEMS:
        take = 0 if item == "phq9_9" else min(3, total)
        cells.append(take)
        total -= take
    assert total == 0
    return [str(c) for c in cells]


def form(total: int) -> list[str]:
    return [f"{item}={a}" for item, a in zip(ITEMS, answers(total))]


@pytest.fixture
def course_file(tmp_path):
    data = tmp_path / "past.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *ITEMS, "phq9_10"])
        for client, totals in PAST.items():
            for session, total in enumerate(totals, 1):
                writer.writerow([client, session, *answers(total), "1"])
    path = tmp_path / "expected.toml"
    path.write_text(dumps(fit(nefkit.score("phq-9", data), "total", min_cell=4)), encoding="utf-8")
    return path


@pytest.fixture
def cli(clinic_db, nefkit_cli, monkeypatch):
    monkeypatch.setenv("NEFKIT_USER", "dr-test")
    return nefkit_cli


def record(cli, client, session, total, *more):
    result = cli(
        "record", "phq-9", "--client", client, "--session", str(session), *more, *form(total)
    )
    assert result.exit_code == 0, result.output
    return result


def warnings(cli) -> list[str]:
    return [line for line in cli("alerts").output.splitlines() if "WARNING" in line]


def test_a_client_above_the_band_is_not_on_track(cli, course_file):
    put = record(cli, "C1", 1, 12, "--expected", str(course_file))
    assert "Progress of phq-9 total is now checked against" in put.output
    assert "(4 clients fitted)" in put.output
    assert "not on track" not in put.output  # never at the first administration
    later = record(cli, "C1", 2, 13)  # the band at session 2 is 8.6 to 12.7: above it
    assert (
        "WARNING: Patient Health Questionnaire-9 (PHQ-9): not on track at session 2: PHQ-9"
        " total 13 is above the range expected for clients who started at 12 (8.6 to 12.7,"
        " median 11, from 4 clients of past.csv)" in later.output
    )
    assert "Review progress with the client before the change becomes reliable" in later.output
    record(cli, "C2", 1, 12)
    record(cli, "C2", 2, 12)  # inside the band
    record(cli, "C2", 4, 20)  # nothing is expected at session 4: no alert, never "on track"
    shown = warnings(cli)
    assert len(shown) == 1 and "C1 phq-9 session 2" in shown[0]
    assert cli("db", "check").exit_code == 0


def test_the_alert_follows_corrections_voids_and_the_course_in_use(
    cli, course_file, clinic_db, tmp_path
):
    record(cli, "C1", 1, 12, "--expected", str(course_file))
    record(cli, "C1", 2, 13)
    with open_store(clinic_db) as store:
        [alert] = [a for a in store.alerts() if a.key == "not-on-track:total"]
        second = alert.administration
    # An acknowledgement stays while the finding holds, through a refit that keeps it.
    assert cli("alerts", "--ack", str(alert.id), "--note", "Talked it through").exit_code == 0
    refit = tmp_path / "refit.toml"
    refit.write_text(course_file.read_text().replace("min_cell = 4", "min_cell = 3"))
    assert (
        "the alerts of 1 client were brought up to date"
        in cli("record", "phq-9", "--client", "C9", *form(5), "--expected", str(refit)).output
    )
    with open_store(clinic_db) as store:
        [kept] = [a for a in store.alerts(open_only=False) if a.key == "not-on-track:total"]
        assert kept.id == alert.id and kept.acknowledged_at is not None
    # The file on disk is not read again: what is in use is the text put in use.
    refit.write_text("expected_course = 1\n")
    assert cli("db", "check").exit_code == 0
    # A correction into the band closes it; a correction out of it raises a new one.
    fixed = cli("correct", str(second), "phq9_1=2", "--reason", "misread")
    assert fixed.exit_code == 0, fixed.output
    assert warnings(cli) == []
    cli("correct", str(second), "phq9_1=3", "--reason", "misread after all")
    assert len(warnings(cli)) == 1
    assert cli("void", str(second), "--reason", "wrong client").exit_code == 0
    assert warnings(cli) == []
    record(cli, "C1", 3, 14)  # session 3: band 4.6 to 13.2
    assert len(warnings(cli)) == 1
    # Stopping the course closes its alerts, audited; db check agrees at every step.
    stopped = cli("db", "expected", "--stop", "phq-9", "total")
    assert stopped.exit_code == 0 and "no longer checked" in stopped.output
    assert warnings(cli) == [] and cli("db", "check").exit_code == 0
    assert "stop expected course" in cli("db", "audit").output
    again = cli("db", "expected", "--stop", "phq-9", "total")
    assert again.exit_code == 1 and "no expected course of phq-9 total is in use" in again.output


def test_what_is_in_use_is_listed_and_a_bad_file_changes_nothing(cli, course_file, tmp_path):
    assert "No expected course is in use" in cli("db", "expected").output
    other = tmp_path / "other.toml"
    other.write_text(
        course_file.read_text().replace('instrument = "phq-9"', 'instrument = "phq-8"')
    )
    refused = cli("record", "phq-9", "--client", "C1", *form(12), "--expected", str(other))
    assert refused.exit_code == 1
    assert refused.output.strip().splitlines()[-1] == (
        f"Error: {other}: no instrument 'phq-8' is installed"
    )
    assert "No expected course is in use" in cli("db", "expected").output
    assert json.loads(cli("clients", "--json").output) == []  # the form was not stored either
    record(cli, "C1", 1, 12, "--expected", str(course_file))
    listed = cli("db", "expected").output
    assert f"phq-9 total: {course_file}" in listed and "on 4 clients (12 rows of" in listed
    # The same file again is already in use: nothing is re-derived, nothing said.
    same = record(cli, "C1", 2, 9, "--expected", str(course_file))
    assert "is now checked against" not in same.output


def test_the_client_report_draws_the_expected_range(cli, course_file, tmp_path):
    record(cli, "C1", 1, 12, "--expected", str(course_file))
    record(cli, "C1", 2, 13)
    record(cli, "C1", 3, 9)
    record(cli, "C1", 4, 8)
    out = tmp_path / "c1.html"
    assert cli("report", "--client", "C1", "-o", str(out)).exit_code == 0
    page = out.read_text(encoding="utf-8")
    # The chart's text equivalent and its table give the ranges of the cells worked out by
    # hand (session 1: 10, 11, 12, 14 give 10.3 to 13.4); session 4 has none.
    assert (
        "Expected range: Session 1: 10.3 to 13.4; Session 2: 8.6 to 12.7; Session 3: 4.6 to 13.2."
        in page
    )
    assert '<th scope="col">Expected range</th>' in page
    assert "<td>8.6 to 12.7 (median 11), above it: not on track</td>" in page
    assert "<td>4.6 to 13.2 (median 7.5)</td>" in page  # 9 at session 3: on track
    assert "<td>nothing expected here</td>" in page  # session 4
    assert page.count("<polygon") == 1 and 'stroke-dasharray="3 3"' in page
    # --expected draws another fit instead; without any course, no range at all.
    with open_store(Path(os.environ["NEFKIT_DB"])) as store:
        assert store.expected_courses()  # in use, and left so by a report
    cli("db", "expected", "--stop", "phq-9", "total")
    assert cli("report", "--client", "C1", "-o", str(out)).exit_code == 0
    assert "Expected range" not in out.read_text(encoding="utf-8")
    shown = cli("report", "--client", "C1", "-o", str(out), "--expected", str(course_file))
    assert shown.exit_code == 0 and "Expected range: Session 1" in out.read_text(encoding="utf-8")
    assert "No expected course is in use" in cli("db", "expected").output


def test_score_draws_it_in_a_client_report_only(cli, course_file, tmp_path):
    data = tmp_path / "mine.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *ITEMS, "phq9_10"])
        for session, total in enumerate([12, 13], 1):
            writer.writerow(["C1", session, *answers(total), "1"])
    out = tmp_path / "c1.html"
    args = ["score", "phq-9", str(data), "--expected", str(course_file), "-o", str(out)]
    refused = cli(*args)
    assert refused.exit_code == 2 and "give --respondent ID as well" in refused.output
    assert cli(*args, "--respondent", "C1").exit_code == 0
    assert "<td>8.6 to 12.7 (median 11), above it: not on track</td>" in out.read_text()


def test_the_web_report_draws_the_course_in_use(cli, course_file, clinic_db):
    from starlette.testclient import TestClient

    from nefkit.clinic.users import hash_password
    from nefkit.web.app import create_app

    record(cli, "C1", 1, 12, "--expected", str(course_file))
    record(cli, "C1", 2, 13)
    password = "correct horse battery"
    with open_store(clinic_db) as store:
        store.add_user("dr.lee", hash_password(password), "admin")
    app = create_app(clinic_db, nefkit.get_registry(), secure=False)
    browser = TestClient(app, follow_redirects=True)
    browser.post("/login", data={"name": "dr.lee", "password": password})
    report = browser.get("/clients/C1/report")
    assert report.status_code == 200
    assert "<td>8.6 to 12.7 (median 11), above it: not on track</td>" in report.text
    assert "not on track at session 2" in browser.get("/alerts").text
