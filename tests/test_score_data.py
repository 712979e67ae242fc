"""``nefkit score`` on real files: formats, labels, broken rows, change scores, output."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import zipfile

import pytest
from click.testing import CliRunner
from helpers import registry

from nefkit.cli import cli
from nefkit.tabular import FORMULA_START

PHQ_ITEMS = [f"phq9_{i}" for i in range(1, 10)]


def run(*args):
    return CliRunner().invoke(cli, ["score", *map(str, args)])


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def phq_line(respondent, session, answers, sep=","):
    return sep.join([respondent, str(session), *map(str, answers)])


def test_bom_semicolons_and_labels_as_a_european_spreadsheet_writes_them(tmp_path):
    header = ";".join(["respondent_id", "session", *PHQ_ITEMS])
    rows = [
        phq_line("p1", 1, ["Several days"] * 9, ";"),
        phq_line("p2", 1, ["nearly every day", 3, 3, 3, 3, 3, 3, 3, "Not at all"], ";"),
    ]
    data = write(tmp_path / "in.csv", "\ufeff" + "\n".join([header, *rows]) + "\n")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    out = read_csv(tmp_path / "out.csv")
    assert [
        (r["respondent_id"], r["total"], r["severity"], r["flag_self_harm_thoughts"]) for r in out
    ] == [
        ("p1", "9", "Mild", "yes"),
        ("p2", "24", "Severe", "no"),
    ]


def test_tab_separated(tmp_path):
    data = write(
        tmp_path / "in.tsv",
        "respondent_id\t" + "\t".join(PHQ_ITEMS) + "\nx\t" + "\t".join("1" * 9) + "\n",
    )
    assert run("phq-9", data, "-o", tmp_path / "out.csv").exit_code == 0
    assert read_csv(tmp_path / "out.csv")[0]["total"] == "9"


def test_every_bad_cell_is_reported_and_no_row_is_lost(tmp_path):
    lines = [
        "respondent_id,session,administered_at,therapist," + ",".join(PHQ_ITEMS),
        "a,1,2026-01-05,T1," + ",".join("1" * 9),  # fine
        "a,2,2026-01-12,T1,4,1,1,1,1,1,1,1,1",  # 4 is not an answer
        ",3,2026-01-19,T1," + ",".join("0" * 9),  # no respondent
        "b,one,2026-01-05,T2," + ",".join("0" * 9),  # session is not a number
        "b,2,05/01/2026,T2," + ",".join("0" * 9),  # not an ISO date
        "c,1,2026-01-05,T1,1,1,1,1,1,1,1,1,1.5",  # 1.5 is not a code
        "c,2,2026-01-12,T1,1,1,1",  # short row
        "d,1,2026-01-05,T1,1,1,1,1,,1,1,1,1",  # a blank: not a problem, total not scorable
    ]
    data = write(tmp_path / "in.csv", "\n".join(lines) + "\n")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    out = read_csv(tmp_path / "out.csv")
    assert [r["row"] for r in out] == ["2", "3", "4", "5", "6", "7", "8", "9"]
    status = {r["row"]: r["row_status"] for r in out}
    assert status == {
        "2": "scored",
        "3": "invalid",
        "4": "invalid",
        "5": "invalid",
        "6": "invalid",
        "7": "invalid",
        "8": "invalid",
        "9": "scored",
    }
    assert all(r["total"] == "" for r in out if r["row_status"] == "invalid")
    expected = [
        "Problem: row 3, column phq9_1 (value '4'): not an answer to phq9_1",
        "Problem: row 4, column respondent_id: the respondent_id is blank",
        "Problem: row 5, column session (value 'one'): a session is a whole number",
        "Problem: row 6, column administered_at (value '05/01/2026'): a date is written year-month-day",
        "Problem: row 7, column phq9_9 (value '1.5'): not an answer to phq9_9",
        "Problem: row 8: the row has 7 cells but the header has 13 columns",
    ]
    for line in expected:
        assert line in result.output
    assert "6 problems in 6 rows" in result.output
    row9 = next(r for r in out if r["row"] == "9")
    assert row9["total_status"] == "not scorable" and "phq9_5" in row9["notes"]


def test_missing_and_misnamed_columns_are_reported_before_scoring(tmp_path):
    header = "respondent_id," + ",".join(PHQ_ITEMS[:8]) + ",phq9_09"
    data = write(tmp_path / "in.csv", header + "\nx," + ",".join("0" * 9) + "\n")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    assert "column 'phq9_09' looks like item 'phq9_9'" in result.output
    assert not (tmp_path / "out.csv").exists()
    data = write(tmp_path / "in2.csv", "respondent_id,phq9_1\nx,1\n")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert "no column for: phq9_2, phq9_3" in result.output


def test_no_respondent_column(tmp_path):
    data = write(tmp_path / "in.csv", ",".join(PHQ_ITEMS) + "\n" + ",".join("0" * 9) + "\n")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1 and "there is no respondent_id column" in result.output


def test_change_scores_follow_sessions_not_file_order(tmp_path):
    rows = [
        ("r", 3, [3, 3, 3, 3, 3, 3, 0, 0, 0]),  # 18
        ("r", 1, [2, 2, 2, 2, 2, 0, 0, 0, 0]),  # 10
        ("r", 2, [1, 1, 1, 1, 0, 0, 0, 0, 0]),  # 4
        ("s", 1, [1] * 9),
    ]  # one administration: no change
    text = "respondent_id,session," + ",".join(PHQ_ITEMS) + "\n"
    text += "".join(phq_line(r, s, a) + "\n" for r, s, a in rows)
    data = write(tmp_path / "in.csv", text)
    assert run("phq-9", data, "-o", tmp_path / "out.csv").exit_code == 0
    changes = read_csv(tmp_path / "out-changes.csv")
    assert [
        (
            c["comparison"],
            c["from_session"],
            c["to_session"],
            c["before"],
            c["after"],
            c["difference"],
            c["classification"],
        )
        for c in changes
    ] == [
        ("baseline to latest", "1", "3", "10", "18", "8", "reliably deteriorated"),
        ("session to session", "1", "2", "10", "4", "-6", "recovered"),
        ("session to session", "2", "3", "4", "18", "14", "reliably deteriorated"),
    ]


def test_administrations_that_cannot_be_ordered_are_reported(tmp_path):
    text = "respondent_id,session," + ",".join(PHQ_ITEMS) + "\n"
    text += phq_line("r", 1, [0] * 9) + "\n" + phq_line("r", 1, [3] * 9) + "\n"
    text += phq_line("q", "", [0] * 9) + "\n" + phq_line("q", 2, [3] * 9) + "\n"
    data = write(tmp_path / "in.csv", text)
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    assert (
        "respondent r has two administrations with the same session (rows 2 and 3)" in result.output
    )
    assert (
        "respondent q has 2 administrations (rows 4, 5) but not every one has a session"
        in result.output
    )


def test_xlsx_input_keeps_dates_and_numbers(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["respondent_id", "administered_at", *PHQ_ITEMS])
    sheet.append([1001, dt.datetime(2026, 3, 1, 9, 30), *([2] * 9)])
    sheet.append(["1002", dt.date(2026, 3, 2), *(["Nearly every day"] * 9)])
    sheet.append(["1003", "2026-03-03", *([1.0] * 8), 2.5])
    workbook.save(tmp_path / "in.xlsx")
    result = run("phq-9", tmp_path / "in.xlsx", "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    out = read_csv(tmp_path / "out.csv")
    assert [(r["respondent_id"], r["administered_at"], r["total"]) for r in out[:2]] == [
        ("1001", "2026-03-01 09:30:00", "18"),
        ("1002", "2026-03-02 00:00:00", "27"),  # Excel stores every date as a date-time
    ]
    assert "row 4, column phq9_9 (value 2.5): not an answer" in result.output


def save_formula_values(path, values):
    """Give formula cells of the first sheet the values a spreadsheet program saves with them
    (openpyxl saves none): ``values`` maps a cell to the value's type and text in the file's
    XML, e.g. {"C2": ("n", "2")}; "str" is text."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = parts[sheet].decode()
    for cell, (kind, value) in values.items():
        xml, found = re.subn(
            rf'<c r="{cell}"([^>]*)>(<f>[^<]*</f>)<v\s*/>',
            rf'<c r="{cell}"\1 t="{kind}">\2<v>{value}</v>',
            xml,
        )
        assert found == 1, cell
    parts[sheet] = xml.encode()
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)


def formula_workbook(path, rows, saved=None):
    from openpyxl import Workbook

    workbook = Workbook()
    for row in [["respondent_id", "site", *PHQ_ITEMS], *rows]:
        workbook.active.append(row)  # openpyxl writes text starting with = as a formula
    workbook.save(path)
    save_formula_values(path, saved or {})
    return path


def test_an_xlsx_formula_without_a_saved_value_is_a_problem_not_a_blank(tmp_path):
    data = formula_workbook(
        tmp_path / "in.xlsx",
        [
            ["a", "north", *([1] * 9)],
            ["b", "north", "=1+1", *([1] * 8)],
            ["c", "=A1", *([0] * 9)],
            ["=A1", "south", *([0] * 9)],
        ],
    )
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    out = read_csv(tmp_path / "out.csv")
    assert [(r["row"], r["row_status"], r["total"]) for r in out] == [
        ("2", "scored", "9"),
        ("3", "invalid", ""),
        ("4", "invalid", ""),
        ("5", "invalid", ""),
    ]
    advice = "open and save the file in a spreadsheet program, or type the value"
    problems = [
        f"row 3, column phq9_1 (value '=1+1'): sheet \"Sheet\", cell C3 holds a formula without"
        f" a saved value: {advice}",
        f"row 4, column site (value '=A1'): sheet \"Sheet\", cell B4 holds a formula without a"
        f" saved value: {advice}",
        f"row 5, column respondent_id (value '=A1'): sheet \"Sheet\", cell A5 holds a formula"
        f" without a saved value: {advice}",
    ]
    assert [line for line in result.output.splitlines() if line.startswith("Problem:")] == [
        f"Problem: {problem}" for problem in problems
    ]
    assert [r["notes"] for r in out[1:]] == problems
    assert "3 problems in 3 rows" in result.output


def test_an_xlsx_formula_with_a_saved_value_is_read_as_that_value(tmp_path):
    data = formula_workbook(
        tmp_path / "in.xlsx",
        [
            ["a", "north", "=1+1", *([1] * 8)],
            ["b", '="so"&"uth"', '=IF(TRUE,"","")', *([1] * 8)],
        ],
        saved={"C2": ("n", "2"), "B3": ("str", "south"), "C3": ("str", "")},
    )
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    out = read_csv(tmp_path / "out.csv")
    assert [(r["site"], r["total"], r["total_status"]) for r in out] == [
        ("north", "10", "complete"),
        ("south", "", "not scorable"),  # a formula that gave empty text: a missing answer
    ]
    assert "1 of 9 answers missing (phq9_1)" in out[1]["notes"]


def test_an_xlsx_header_formula_without_a_saved_value_stops_the_run(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["respondent_id", '=LOWER("SITE")', *PHQ_ITEMS])
    workbook.active.append(["a", "north", *([1] * 9)])
    workbook.save(tmp_path / "in.xlsx")
    result = run("phq-9", tmp_path / "in.xlsx", "-o", tmp_path / "out.csv")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines()[-1] == (
        f'Error: {tmp_path / "in.xlsx"}: sheet "Sheet", cell B1 holds a formula without a saved'
        " value: open and save the file in a spreadsheet program, or type the value"
    )
    assert not (tmp_path / "out.csv").exists()


def test_json_lines_in_and_json_out_with_provenance(tmp_path):
    lines = [
        {"respondent_id": "j1", "session": 1, **{i: 1 for i in PHQ_ITEMS}},
        {"respondent_id": "j1", "session": 2, **{i: 0 for i in PHQ_ITEMS}},
    ]
    data = write(tmp_path / "in.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    assert run("phq-9", data, "-o", tmp_path / "out.json").exit_code == 0
    document = json.loads((tmp_path / "out.json").read_text())
    phq9 = registry().instrument("phq-9")
    assert document["provenance"]["content_hash"] == phq9.content_hash
    assert document["provenance"]["instrument_version"] == phq9.version
    assert "nefkit" in document["provenance"]["rules"]["sum"]
    assert [r["scores"]["total"]["value"] for r in document["rows"]] == [9, 0]
    assert document["changes"][0]["classification"] == "reliably improved"  # 9 to 0, never a case


def test_json_lines_with_unexpected_keys_say_which_line(tmp_path):
    lines = [
        {"respondent_id": "a", **{i: 1 for i in PHQ_ITEMS}},
        {"respondent_id": "b", "phq9_99": 1},
    ]
    data = write(tmp_path / "in.jsonl", "\n".join(json.dumps(line) for line in lines))
    result = run("phq-9", data, "-o", tmp_path / "out.json")
    assert result.exit_code == 1 and "line 2 has key(s) phq9_99" in result.output


def test_csv_output_cannot_become_a_formula(tmp_path):
    text = "respondent_id,site," + ",".join(PHQ_ITEMS) + "\n"
    text += 'a,=HYPERLINK("http://x"),' + ",".join("0" * 9) + "\n"
    text += "b,@SUM(A1)," + ",".join("0" * 9) + "\n"
    text += "-c,+1," + ",".join("0" * 9) + "\n"
    data = write(tmp_path / "in.csv", text)
    assert run("phq-9", data, "-o", tmp_path / "out.csv").exit_code == 0
    rows = read_csv(tmp_path / "out.csv")
    assert [r["site"] for r in rows] == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "'+1"]
    assert rows[2]["respondent_id"] == "'-c"
    cells = [cell for row in rows for cell in row.values()]
    assert [cell for cell in cells if cell[:1] in FORMULA_START] == []


def test_neq_follow_up_columns_and_free_text(tmp_path):
    items = [i.id for i in registry().instrument("neq-20").items]
    answers = {i: "" for i in items} | {f"neq{k:02d}": "No" for k in range(1, 21)}
    answers |= {
        "neq08": "Yes",
        "neq08_impact": "Very",
        "neq08_cause": "The treatment I received",
        "other": "-felt rushed",
    }
    with open(tmp_path / "in.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", *items])
        writer.writerow(["n1", *(answers[i] for i in items)])
    assert run("neq-20", tmp_path / "in.csv", "-o", tmp_path / "out.csv").exit_code == 0
    [row] = read_csv(tmp_path / "out.csv")
    assert (row["effects"], row["effects_treatment"], row["impact_total"], row["impact_mean"]) == (
        "1",
        "1",
        "3",
        "3.0",
    )
    assert row["flag_effects_from_treatment"] == "yes"


@pytest.mark.parametrize(
    "name, message",
    [("in.csv", "the file is empty"), ("in.xlsx", "cannot be opened as an Excel workbook")],
)
def test_unreadable_files_get_a_plain_error(tmp_path, name, message):
    data = write(tmp_path / name, "")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_unknown_output_extension(tmp_path):
    data = write(tmp_path / "in.csv", "respondent_id," + ",".join(PHQ_ITEMS) + "\n")
    result = run("phq-9", data, "-o", tmp_path / "out.pdf")
    assert result.exit_code == 1 and "no output format for '.pdf'" in result.output


def test_every_export_names_the_plugins_behind_its_numbers(tmp_path):
    data = write(
        tmp_path / "in.csv",
        "respondent_id," + ",".join(PHQ_ITEMS) + "\nx," + ",".join("1" * 9) + "\n",
    )
    assert run("phq-9", data, "-o", tmp_path / "out.csv").exit_code == 0
    provenance = json.loads((tmp_path / "out-provenance.json").read_text())
    assert provenance["renderer"] == "csv: nefkit 0.1.0 (built-in plugin csv)"
    assert provenance["rules"] == {
        "bands": "nefkit 0.1.0 (built-in plugin rules)",
        "reliable_change": "nefkit 0.1.0 (built-in plugin rules)",
        "sum": "nefkit 0.1.0 (built-in plugin rules)",
        "threshold": "nefkit 0.1.0 (built-in plugin rules)",
    }
    assert provenance["content_hash"] == registry().instrument("phq-9").content_hash
    assert run("phq-9", data, "-o", tmp_path / "out.json").exit_code == 0
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["provenance"]["renderer"] == "json: nefkit 0.1.0 (built-in plugin json)"


OUTPUT_NAMES = [
    "row",
    "total",
    "total_status",
    "case",
    "flag_self_harm_thoughts",
    "row_status",
    "notes",
    "instrument",
]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize("name", OUTPUT_NAMES)
def test_a_column_named_like_an_output_column_is_refused(tmp_path, engine, name):
    """Carried through, it would give the output two columns of that name, the file's first."""
    text = f"respondent_id,{name}," + ",".join(PHQ_ITEMS) + "\n" + "a,x," + "1," * 8 + "1\n"
    data = write(tmp_path / "in.csv", text)
    out = tmp_path / "out.csv"
    result = run("phq-9", data, "-o", out, "--engine", engine)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.splitlines()[-1] == (
        f"Error: {data}: the column(s) {name} share a name with column(s) that nefkit adds to"
        f" its output ({name}), which would then hold two of one name; rename them in the file"
    )
    assert not out.exists()


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_output_names_in_another_letter_case_are_refused_too(tmp_path, engine):
    """Spreadsheets and statistics programs do not tell Total from total (DuckDB renames the
    second to total_1); every clash is named at once, from JSON Lines too, and a change
    column is no clash, since context columns are not in the change file."""
    names = ["respondent_id", "Total", "site", "NOTES", "Flag_Self_Harm_Thoughts", "change"]
    line = dict(zip(names, ["a", 1, 2, 3, 4, 5])) | {i: 1 for i in PHQ_ITEMS}
    data = write(tmp_path / "in.jsonl", json.dumps(line) + "\n")
    result = run("phq-9", data, "-o", tmp_path / "out.csv", "--engine", engine)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.splitlines()[-1] == (
        f"Error: {data}: the column(s) Total, NOTES, Flag_Self_Harm_Thoughts share a name with"
        " column(s) that nefkit adds to its output (total, notes, flag_self_harm_thoughts,"
        " letter case aside), which would then hold two of one name; rename them in the file"
    )
