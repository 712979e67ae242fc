"""``nefkit score`` gives every flag three states, raised, clear and could not be checked, on
every row, invalid ones included, and says on stderr what a clinic must not miss (issue #15),
with both engines."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from nefkit.cli import cli

RISK = "Thoughts of being better off dead or of self-harm (item 9 above 0)"
HEADER = "respondent_id,administered_at," + ",".join(f"phq9_{k}" for k in range(1, 11))
ROWS = {
    # respondent: (date, items 3 and 9), the other items 1
    "clear": ("2026-10-01", "1", "0"),
    "blank9": ("2026-10-01", "1", ""),  # item 9 left blank: unknown, the row is valid
    "date": ("01/10/2026", "1", "1"),  # a mistyped date: invalid, and still a risk
    "bad3": ("2026-10-01", "often", "2"),  # a bad answer to item 3: invalid, and a risk
    "bad9": ("2026-10-01", "1", "sometimes"),  # item 9 unreadable: invalid, unknown
}


def phq_file(path, rows=ROWS):
    lines = [HEADER]
    for respondent, (date, item3, item9) in rows.items():
        lines.append(",".join([respondent, date, "1", "1", item3, *"11111", item9, "1"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def score(tmp_path, engine, data):
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        cli, ["score", "phq-9", str(data), "-o", str(out), "--engine", engine]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    with open(out, encoding="utf-8", newline="") as handle:
        rows = {r["respondent_id"]: r for r in csv.DictReader(handle)}
    return result, rows


@pytest.fixture(params=["python", "duckdb"])
def engine(request):
    return request.param


def test_every_row_shows_its_flag_state(tmp_path, engine):
    result, rows = score(tmp_path, engine, phq_file(tmp_path / "phq.csv"))
    shown = {
        k: (r["row_status"], r["total"], r["flag_self_harm_thoughts"]) for k, r in rows.items()
    }
    assert shown == {
        "clear": ("scored", "8", "no"),
        "blank9": ("scored", "", "unknown"),
        "date": ("invalid", "", "yes"),
        "bad3": ("invalid", "", "yes"),
        "bad9": ("invalid", "", "unknown"),
    }
    # Each invalid row keeps its reasons.
    assert "column administered_at (value '01/10/2026')" in rows["date"]["notes"]
    assert "column phq9_3 (value 'often')" in rows["bad3"]["notes"]
    assert result.exit_code == 1


def test_stderr_warns_of_risks_unknown_or_raised_on_invalid_rows(tmp_path, engine):
    result, _ = score(tmp_path, engine, phq_file(tmp_path / "phq.csv"))
    lines = result.stderr.splitlines()
    assert lines[-3:] == [
        f"Warning: risk flag '{RISK}' is raised in 2 rows that are invalid for scoring"
        " (rows 4, 5): the flag stands, whatever the problems",
        f"Scored 2 of 5 rows of {tmp_path / 'phq.csv'} with phq-9 into {tmp_path / 'out.csv'};"
        " a flag could not be checked in 2 rows",
        "Error: 3 problems in 3 rows (listed above)",
    ]
    assert (
        f"Warning: risk flag '{RISK}' could not be checked in 2 rows (rows 3, 6): an answer it"
        " needs is missing or unreadable"
    ) in lines
    problems = [line for line in lines if line.startswith("Problem:")]
    assert lines.index(problems[-1]) < lines.index(lines[-3])  # the risks after the problems


def test_a_blank_risk_item_alone_is_counted_and_warned(tmp_path, engine):
    """Observation 2 of #15: "Scored 4 of 4 rows" and nothing else for a blank item 9."""
    rows = {f"r{k}": ("2026-10-01", "1", "0") for k in range(1, 4)}
    rows["r4"] = ("2026-10-01", "1", "")
    result, out = score(tmp_path, engine, phq_file(tmp_path / "phq.csv", rows))
    assert result.exit_code == 0
    assert out["r4"]["flag_self_harm_thoughts"] == "unknown"
    assert result.stderr.splitlines()[-2:] == [
        f"Warning: risk flag '{RISK}' could not be checked in 1 row (row 5): an answer it needs"
        " is missing or unreadable",
        f"Scored 4 of 4 rows of {tmp_path / 'phq.csv'} with phq-9 into {tmp_path / 'out.csv'};"
        " a flag could not be checked in 1 row",
    ]


def test_many_rows_are_named_by_the_first_few(tmp_path, engine):
    rows = {f"r{k}": ("2026-10-01", "1", "" if k % 2 else "0") for k in range(1, 16)}
    result, _ = score(tmp_path, engine, phq_file(tmp_path / "phq.csv", rows))
    assert (
        f"Warning: risk flag '{RISK}' could not be checked in 8 rows (rows 2, 4, 6, 8, 10, …)"
    ) in result.stderr


def test_the_python_api_tells_the_same(tmp_path, engine):
    import nefkit

    results = nefkit.score("phq-9", phq_file(tmp_path / "phq.csv"), engine=engine)
    flags = {row.respondent_id: row.flags["self_harm_thoughts"] for row in results.rows}
    assert flags == {"clear": False, "blank9": None, "date": True, "bad3": True, "bad9": None}
    assert results.flag_tally.unchecked_rows == 2
    assert [str(results.flag_tally.raised_invalid["self_harm_thoughts"])] == ["rows 4, 5"]
    assert len(results.warnings()) == 2


def test_a_client_report_tells_only_about_its_client(tmp_path, engine):
    data = phq_file(tmp_path / "phq.csv")
    out = tmp_path / "date.html"
    args = ["score", "phq-9", data, "-o", out, "--respondent", "date", "--engine", engine]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        f"Warning: risk flag '{RISK}' is raised in 1 row that is invalid for scoring (row 4):"
        " the flag stands, whatever the problems"
    ]
    assert "could not be checked" not in result.stderr  # rows 3 and 6 are other clients'


def test_the_text_report_shows_the_risk_of_an_invalid_row(tmp_path):
    data = phq_file(tmp_path / "phq.csv")
    out = tmp_path / "out.txt"
    CliRunner().invoke(cli, ["score", "phq-9", str(data), "-o", str(out)])
    blocks = out.read_text(encoding="utf-8").split("\n\n")
    [bad3] = [b for b in blocks if b.startswith("bad3")]
    assert "RISK RAISED: Thoughts of being better off dead" in bad3
    assert "NOT SCORED: row 5, column phq9_3" in bad3
    [bad9] = [b for b in blocks if b.startswith("bad9")]
    assert "RISK could not be checked (an answer it needs is missing or unreadable)" in bad9


def test_a_change_that_could_not_be_computed_is_a_warning_never_silence(tmp_path, engine):
    # Client A's session 2 has item 5 blank: no total, so no change to or from it.
    lines = ["respondent_id,session," + ",".join(f"phq9_{k}" for k in range(1, 10))]
    lines += ["A,1,1,1,1,1,1,1,1,1,0", "A,2,3,3,3,3,,3,3,3,0", "B,1,1,1,1,1,1,1,1,1,0"]
    lines += ["B,2,3,3,3,3,3,3,3,3,0", "C,1,1,1,1,1,,1,1,1,0"]  # C has one administration
    data = tmp_path / "phq.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    args = ["score", "phq-9", str(data), "-o", str(out), "--engine", engine]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (
        "Warning: 'Reliable change in the PHQ-9 total (NHS Talking Therapies: 6 points;"
        " caseness 10)' could not be computed at 1 row (row 3): the PHQ-9 total is not"
        " scorable there, so the change to or from them is unknown"
    ) in result.stderr
    assert result.stderr.rstrip().endswith("; a reliable change could not be computed at 1 row")
    with open(tmp_path / "out-changes.csv", encoding="utf-8", newline="") as handle:
        assert {r["respondent_id"] for r in csv.DictReader(handle)} == {"B"}
