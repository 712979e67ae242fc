"""A client id, and the name of whoever acts, is 1 to 64 printable characters with no space at
either end: refused, naming the option (or the row and column) and the rule, wherever it enters."""

from __future__ import annotations

import csv

import pytest

from nefkit.clinic.people import RULE
from nefkit.clinic.sqlite import open_store

PHQ = [f"phq9_{i}=1" for i in range(1, 10)] + ["phq9_10=1"]
RISK = [f"phq9_{i}=0" for i in range(1, 9)] + ["phq9_9=2", "phq9_10=1"]
BAD = {
    "empty": ("", "is empty"),
    "65 characters": ("C" * 65, "is 65 characters long"),
    "100,000 characters": ("C" * 100_000, "is 100,000 characters long"),
    "a right-to-left override": ("\u202e710C", "holds U+202E, which is not a printable character"),
    "a line break": ("C1\nC2", "holds U+000A, which is not a printable character"),
    "a space at the end": ("C1 ", "starts or ends with a space"),
}


@pytest.fixture
def cli(nefkit_cli, clinic_db, monkeypatch):
    monkeypatch.setenv("NEFKIT_USER", "dr-test")
    return nefkit_cli


def clients(tmp_path) -> list[str]:
    store = open_store(tmp_path / "clinic.db")
    try:
        return [row["client"] for row in store.clients()]
    finally:
        store.close()


def refused(result, option: str, why: str, what: str = "a client id") -> bool:
    return result.exit_code == 2 and (
        f"Error: Invalid value for '{option}': {why}; {what} is {RULE}" in result.output
    )


@pytest.mark.parametrize("client, why", BAD.values(), ids=BAD.keys())
def test_a_client_id_that_breaks_the_rule_is_refused_wherever_it_enters(cli, tmp_path, client, why):
    assert cli("record", "phq-9", "--client", "C1", *PHQ).exit_code == 0
    for command in (
        ["record", "phq-9", "--client", client, *PHQ],
        ["administer", "phq-9", "--client", client],
        ["history", "--client", client],
        ["report", "--client", client, "-o", tmp_path / "report.html"],
        ["db", "erase", "--client", client, "--reason", "request", "--yes"],
    ):
        result = cli(*command)
        assert refused(result, "--client", why), (command[0], result.output)
        assert client not in result.output or not client
    assert clients(tmp_path) == ["C1"]
    assert not (tmp_path / "report.html").exists()


def test_a_client_id_of_64_printable_characters_is_a_client_id(cli, tmp_path):
    longest = "Ä" * 60 + "-1 2"
    assert cli("record", "phq-9", "--client", longest, *PHQ).exit_code == 0
    assert cli("history", "--client", longest).exit_code == 0
    assert clients(tmp_path) == [longest]


def test_no_line_can_be_faked_in_clients_or_alerts(cli, tmp_path):
    assert cli("record", "phq-9", "--client", "C1", *RISK).exit_code == 0
    fake = "C2 phq-9 session 1 RISK: none\n[9] 2026-01-01 C3"
    assert cli("record", "phq-9", "--client", fake, *RISK).exit_code == 2
    alert, action = cli("alerts").output.splitlines()
    assert " C1 phq-9 session 1 RISK: " in alert and action.startswith("      Ask ")
    [line] = cli("clients").output.splitlines()
    assert line.startswith("C1: 1 administrations, ")
    assert clients(tmp_path) == ["C1"]


@pytest.mark.parametrize("by, why", BAD.values(), ids=BAD.keys())
def test_the_name_of_whoever_acts_follows_the_same_rule(cli, tmp_path, monkeypatch, by, why):
    what = "the name of whoever acts"
    assert refused(cli("record", "phq-9", "--client", "C1", "--by", by, *PHQ), "--by", why, what)
    assert cli("record", "phq-9", "--client", "C1", *RISK).exit_code == 0
    assert refused(cli("alerts", "--ack", "1", "--note", "Seen", "--by", by), "--by", why, what)
    if by:  # an empty NEFKIT_USER means "not set": the login is used
        monkeypatch.setenv("NEFKIT_USER", by)
        result = cli("void", "1", "--reason", "entered twice")
        assert result.exit_code == 1
        assert result.output == (
            f"Error: NEFKIT_USER {why}; {what} is {RULE}. Set NEFKIT_USER to your name or"
            " initials, or give --by NAME\n"
        )
    store = open_store(tmp_path / "clinic.db")
    try:
        [administration] = store.administrations()
        assert administration.started_by == "dr-test" and not administration.voided_at
        [alert] = store.alerts()
        assert alert.acknowledged_by is None
    finally:
        store.close()


def test_a_file_s_respondent_id_that_breaks_the_rule_is_a_problem_of_its_row(cli, tmp_path):
    data = tmp_path / "forms.csv"
    answers = ["0"] * 8 + ["2", "1"]  # item 9 answered: each row raises the risk flag
    with open(data, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", *[f"phq9_{i}" for i in range(1, 11)]])
        for client in ("C1", "C" * 100_000, "\u202e710C", "C2\nC3", "C" * 64):
            writer.writerow([client, *answers])
    result = cli("record", "phq-9", "--file", data)
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("Problem: ")]
    risks = [f"Problem: row {n} was not stored, but its answers raise RISK: " for n in (3, 4, 5)]
    assert [line[: len(risk)] for line, risk in zip(problems, risks)] == risks
    assert problems[3:] == [
        "Problem: row 3, column respondent_id: the client id is 100,000 characters long;"
        f" a client id is {RULE}",
        "Problem: row 4, column respondent_id: the client id holds U+202E, which is not a"
        f" printable character; a client id is {RULE}",
        "Problem: row 5, column respondent_id: the client id holds U+000A, which is not a"
        f" printable character; a client id is {RULE}",
    ]
    assert result.output.rstrip().endswith("Error: 6 problems; forms with problems were not stored")
    assert sorted(clients(tmp_path)) == ["C1", "C" * 64]
