"""``nefkit template`` with CSV: the header nefkit score expects, the codebook beside it, and a
filled template that scores without edits."""

import csv

from click.testing import CliRunner

from nefkit.cli import cli


def test_a_filled_csv_template_scores_without_edits(tmp_path):
    out = tmp_path / "gad.csv"
    result = CliRunner().invoke(cli, ["template", "gad-7", "-o", str(out)])
    assert result.exit_code == 0, result.output
    header = out.read_text().strip().split(",")
    assert header == ["respondent_id", "administered_at", "session"] + [
        f"gad7_{i}" for i in range(1, 8)
    ]
    with open(tmp_path / "gad-codebook.csv", encoding="utf-8") as handle:
        book = list(csv.DictReader(handle))
    assert [row["column"] for row in book] == header[3:]
    assert book[0]["answers"].startswith("0 = Not at all; 1 = Several days")
    with open(out, "a", encoding="utf-8") as handle:
        handle.write("C9,2026-02-01,1,Several days,2,3,0,1,2,Nearly every day\n")
    result = CliRunner().invoke(cli, ["score", "gad-7", str(out), "-o", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "s.csv", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["total"], row["severity"], row["case"]) == ("12", "Moderate", "yes")


def test_a_format_without_templates_says_so(tmp_path):
    result = CliRunner().invoke(cli, ["template", "gad-7", "-o", str(tmp_path / "t.json")])
    assert result.exit_code == 1
    assert "Error: the json format does not write data-entry templates" in result.output
