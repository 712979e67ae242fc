"""Header cells are cells: a context column's name comes from the user's file, so every CSV nefkit
writes neutralises a header that a spreadsheet would take for a formula, as it does data cells;
workbooks keep such a header as text."""

from __future__ import annotations

import csv

import pytest

from nefkit.tabular import FORMULA_START

HOSTILE = ["@SUM(A1)*cmd|' /C calc'!A0", '=HYPERLINK("http://x","y")']
NEUTRALISED = ["'" + name for name in HOSTILE]
GAD = [f"gad7_{i}" for i in range(1, 8)]


@pytest.fixture
def data(tmp_path):
    """Five clients, two sessions each (so there are change scores), two hostile context
    columns."""
    path = tmp_path / "forms.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *HOSTILE, *GAD])
        for client in range(1, 6):
            for session, answer in ((1, "3"), (2, "0")):
                writer.writerow([f"C{client}", session, "north", "group", *[answer] * 7])
    return path


def header(path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def assert_neutral(path) -> list[str]:
    names = header(path)
    assert [name for name in names if name[:1] in FORMULA_START] == [], path
    return names


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_neutralises_header_cells(nefkit_cli, tmp_path, data, engine):
    out = tmp_path / f"{engine}.csv"
    result = nefkit_cli("score", "gad-7", data, "-o", out, "--engine", engine)
    assert result.exit_code == 0, result.output
    assert assert_neutral(out)[4:6] == NEUTRALISED
    assert_neutral(tmp_path / f"{engine}-changes.csv")


def test_both_engines_write_the_same_neutralised_file(nefkit_cli, tmp_path, data):
    for engine in ("python", "duckdb"):
        assert (
            nefkit_cli(
                "score", "gad-7", data, "-o", tmp_path / f"{engine}.csv", "--engine", engine
            ).exit_code
            == 0
        )
    assert (tmp_path / "python.csv").read_bytes() == (tmp_path / "duckdb.csv").read_bytes()


@pytest.fixture
def clinic(nefkit_cli, clinic_db, monkeypatch, data):
    monkeypatch.setenv("NEFKIT_USER", "dr-test")
    result = nefkit_cli("record", "gad-7", "--file", data)
    assert result.exit_code == 0, result.output
    return nefkit_cli


def test_a_cohort_report_and_an_export_neutralise_header_cells(clinic, tmp_path):
    result = clinic("report", "--cohort", "-o", tmp_path / "cohort.csv")
    assert result.exit_code == 0, result.output
    # The store keeps context as names and values, in the order of their names.
    assert assert_neutral(tmp_path / "cohort-gad-7.csv")[4:6] == sorted(NEUTRALISED)
    assert_neutral(tmp_path / "cohort-gad-7-changes.csv")
    result = clinic("db", "export", tmp_path / "export")
    assert result.exit_code == 0, result.output
    assert assert_neutral(tmp_path / "export" / "gad-7-scores.csv")[4:6] == sorted(NEUTRALISED)
    assert_neutral(tmp_path / "export" / "gad-7-scores-changes.csv")


def test_workbooks_keep_such_a_header_as_text(clinic, tmp_path, data):
    from openpyxl import load_workbook

    assert clinic("score", "gad-7", data, "-o", tmp_path / "scores.xlsx").exit_code == 0
    assert clinic("report", "--cohort", "-o", tmp_path / "cohort.xlsx").exit_code == 0
    for path in (tmp_path / "scores.xlsx", tmp_path / "cohort.xlsx"):
        book = load_workbook(path)
        sheet = next(ws for ws in book.worksheets if ws.title.endswith("Scores"))
        cells = [cell for cell in sheet[1] if cell.value in HOSTILE]
        assert sorted(cell.value for cell in cells) == sorted(HOSTILE), path
        assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells), path
