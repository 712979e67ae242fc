"""``nefkit sql``: the emitted DuckDB query, run on DuckDB, agrees with the Python engine row by
row; the other dialects are written in their own syntax."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from helpers import plan, registry
from test_engine_support import write_instrument
from test_sql_support import expected, random_rows, same

import nefkit
from nefkit.cli import cli
from nefkit.scoring.sql_emit import plan_sql

duckdb = pytest.importorskip("duckdb")


def run_duckdb(the_plan, rows):
    con = duckdb.connect()
    types = {"choice": "INTEGER", "yes_no": "INTEGER", "number": "DOUBLE", "text": "VARCHAR"}
    columns = ", ".join(f'"{i.id}" {types.get(i.type, "INTEGER[]")}' for i in the_plan.items)
    con.execute(f"CREATE TABLE answers (row_id INTEGER, {columns})")
    marks = ", ".join("?" for _ in range(len(the_plan.items) + 1))
    con.executemany(
        f"INSERT INTO answers VALUES ({marks})",
        [[k, *(row[i.id] for i in the_plan.items)] for k, row in enumerate(rows)],
    )
    cursor = con.execute(plan_sql(the_plan, "duckdb") + "")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("instrument", ["phq-9", "gad-7", "neq-20", "engine-test"])
def test_duckdb_dialect_agrees_with_the_python_engine(instrument, tmp_path):
    if instrument == "engine-test":
        reg = nefkit.get_registry([write_instrument(tmp_path)])
        the_plan = nefkit.get_plan(instrument, reg)
    else:
        the_plan = plan(instrument)
    rows = random_rows(the_plan, 400, seed=7)
    got = sorted(run_duckdb(the_plan, rows), key=lambda r: r["row_id"])
    assert len(got) == len(rows)
    statuses = set()
    for row, result in zip(rows, got):
        want = expected(the_plan, row)
        statuses.add(want["row_status"])
        assert result["row_status"] == want["row_status"], (row, result)
        for column, value in want.items():
            assert same(value, _text(result[column])), (column, value, result[column], row)
    assert statuses == {"scored", "invalid"}


def test_invalid_rows_say_why():
    the_plan = plan("phq-9")
    row = {i.id: 0 for i in the_plan.items} | {"phq9_4": 1, "phq9_10": 1}
    [result] = run_duckdb(the_plan, [row | {"phq9_3": -1, "phq9_4": 0}])
    assert result["row_status"] == "invalid" and result["total"] is None
    # phq9_3 is no answer, so whether phq9_10 applied is unknown: answering it is no problem.
    assert result["notes"] == (
        "column phq9_3 (value -1): not an answer to phq9_3; expected one of 0 = Not at all,"
        " 1 = Several days, 2 = More than half the days, 3 = Nearly every day"
    )
    [result] = run_duckdb(the_plan, [row | {"phq9_3": -1}])
    assert result["notes"].endswith("3 = Nearly every day")
    [result] = run_duckdb(the_plan, [row | {"phq9_4": 0}])  # every item 0: not asked
    assert result["notes"] == (
        "column phq9_10 (value 1): answered, but this question is asked only when phq9_1 > 0 or"
        " phq9_2 > 0 or phq9_3 > 0 or phq9_4 > 0 or phq9_5 > 0 or phq9_6 > 0 or phq9_7 > 0 or"
        " phq9_8 > 0 or phq9_9 > 0"
    )


def test_an_invalid_row_still_raises_its_risk_flag():
    """A code that is no answer to item 3 leaves the row unscored, but item 9 = 2 is a risk;
    item 9 itself unreadable: the flag could not be checked."""
    the_plan = plan("phq-9")
    row = {i.id: 1 for i in the_plan.items}
    raised, unknown = run_duckdb(the_plan, [row | {"phq9_3": 9, "phq9_9": 2}, row | {"phq9_9": 9}])
    assert (raised["row_status"], raised["total"], raised["flag_self_harm_thoughts"]) == (
        "invalid",
        None,
        "yes",
    )
    assert (unknown["row_status"], unknown["flag_self_harm_thoughts"]) == ("invalid", "unknown")


def test_command_prints_each_dialect():
    texts = {}
    for dialect in ("duckdb", "postgres", "spark", "trino"):
        result = CliRunner().invoke(cli, ["sql", "gad-7", "--dialect", dialect, "--table", "gad"])
        assert result.exit_code == 0, result.output
        texts[dialect] = result.output
        assert "FROM gad AS t" in result.output
        assert registry().instrument("gad-7").content_hash in result.output
    assert "`total`" in texts["spark"] and '"total"' in texts["postgres"]
    assert "DOUBLE PRECISION" not in texts["trino"]
    result = CliRunner().invoke(cli, ["sql", "gad-7", "--dialect", "oracle"])
    assert result.exit_code == 2


def test_nefkit_sql_output_is_csv_compatible_notes():
    """The notes of a valid row read as the CSV output's notes."""
    the_plan = plan("phq-9")
    row = {i.id: 1 for i in the_plan.items} | {"phq9_2": None}
    [result] = run_duckdb(the_plan, [row])
    text = io.StringIO()
    csv.writer(text).writerow([result["notes"]])
    assert result["notes"] == (
        "total: 1 of 9 answers missing (phq9_2); every answer is needed; severity: total could"
        " not be scored; case: total could not be scored"
    )


def test_the_old_path_of_sqlscore_works_for_one_release_and_says_where_it_went():
    import nefkit.engine.sql
    import nefkit.sql

    with pytest.warns(DeprecationWarning, match="import SqlScore from nefkit.sql"):
        assert nefkit.engine.sql.SqlScore is nefkit.sql.SqlScore
