"""Files that hold client data from the clinic's database are their owner's alone (0600, folders
0700) whatever the umask; a user's own scores keep the umask; a cohort report is never a report
on fewer clients than the small-cell rule allows."""

from __future__ import annotations

import csv
import os
import stat

import pytest

PHQ = [f"phq9_{i}" for i in range(1, 11)]


@pytest.fixture(autouse=True)
def umask_022():
    """The usual umask, under which files are created readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def modes(folder) -> dict[str, int]:
    """The mode of every file and folder under ``folder``, by its path relative to it."""
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = mode(path)
    return found


def forms(path, clients: int) -> None:
    """Two PHQ-9 forms a client (so there are change scores), one raising the risk flag."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", "site", *PHQ])
        for client in range(1, clients + 1):
            writer.writerow([f"C{client}", 1, "north", *["2"] * 8, "1", "1"])
            writer.writerow([f"C{client}", 2, "north", *["0"] * 9, ""])


@pytest.fixture
def cli(nefkit_cli, clinic_db, monkeypatch):
    monkeypatch.setenv("NEFKIT_USER", "dr-test")
    return nefkit_cli


def test_reports_and_exports_are_their_owner_s_alone(cli, tmp_path):
    forms(tmp_path / "forms.csv", clients=5)
    assert cli("record", "phq-9", "--file", tmp_path / "forms.csv").exit_code == 0
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "c1.html").write_text("an older report, readable by all")
    assert mode(reports / "c1.html") == 0o644
    for output in ("cohort.html", "cohort.xlsx", "cohort.csv", "cohort.json", "cohort.txt"):
        result = cli("report", "--cohort", "-o", reports / output)
        assert result.exit_code == 0, result.output
    for output in ("c1.html", "c1.xlsx", "c1.csv", "c1.json", "c1.txt"):
        result = cli("report", "--client", "C1", "-o", reports / output)
        assert result.exit_code == 0, result.output
    result = cli("db", "export", reports / "export")
    assert result.exit_code == 0, result.output
    written = modes(reports)
    # Every file actually written, the renderers' side files among them.
    assert {"cohort-phq-9-changes.csv", "cohort-phq-9-provenance.json"} <= set(written)
    assert {"c1-phq-9-changes.csv", "export/phq-9-scores-provenance.json"} <= set(written)
    assert len(written) == 22, sorted(written)
    assert written.pop("export") == 0o700
    assert {path: m for path, m in written.items() if m != 0o600} == {}


def test_a_user_s_own_scores_keep_the_umask(nefkit_cli, tmp_path):
    forms(tmp_path / "forms.csv", clients=1)
    out = tmp_path / "out"
    out.mkdir()
    result = nefkit_cli("score", "phq-9", tmp_path / "forms.csv", "-o", out / "scores.csv")
    assert result.exit_code == 0, result.output
    assert modes(out) == {
        "scores.csv": 0o644,
        "scores-changes.csv": 0o644,
        "scores-provenance.json": 0o644,
    }


@pytest.mark.parametrize("min_cell", ["5", "1"])
def test_a_cohort_report_on_one_client_is_refused(cli, tmp_path, min_cell):
    forms(tmp_path / "forms.csv", clients=1)
    assert cli("record", "phq-9", "--file", tmp_path / "forms.csv").exit_code == 0
    needed, rule = ("5", "--min-cell 5") if min_cell == "5" else ("2", "never one client")
    for output in ("cohort.html", "cohort.csv", "cohort.xlsx"):
        result = cli("report", "--cohort", "--min-cell", min_cell, "-o", tmp_path / output)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: too few clients for a cohort report: phq-9 has 1 client; it needs at least"
            f" {needed} in each instrument ({rule}), since figures of fewer could identify"
            " them. Wait until more clients have answered, or report on one client with"
            " --client ID\n"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic.db", "forms.csv"]


def test_an_instrument_with_too_few_clients_is_named_with_the_way_round_it(cli, tmp_path):
    forms(tmp_path / "forms.csv", clients=5)
    assert cli("record", "phq-9", "--file", tmp_path / "forms.csv").exit_code == 0
    gad = [f"gad7_{i}=1" for i in range(1, 8)]
    assert cli("record", "gad-7", "--client", "C1", *gad).exit_code == 0
    result = cli("report", "--cohort", "-o", tmp_path / "cohort.html")
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: too few clients for a cohort report: gad-7 has 1 client; it needs at least 5"
    )
    assert result.output.endswith(
        "Report the others with --instrument phq-9, or report on one client with --client ID\n"
    )
    assert not (tmp_path / "cohort.html").exists()
    result = cli("report", "--cohort", "--instrument", "phq-9", "-o", tmp_path / "cohort.html")
    assert result.exit_code == 0, result.output
    assert "<h1>Cohort report: 5 respondents</h1>" in (tmp_path / "cohort.html").read_text()
