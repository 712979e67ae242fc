"""The columnar engine's own behaviour: choosing an engine, Parquet and JSON Lines in and out,
the renderers' path, rules without SQL, errors in the Python engine's words."""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_support import read_csv

import nefkit
import nefkit.engine
import nefkit.engine.sources
from nefkit.cli import cli
from nefkit.engine.columnar import ColumnarEngine

duckdb = pytest.importorskip("duckdb")

PHQ = [f"phq9_{k}" for k in range(1, 10)]
DEMO = Path(__file__).parent.parent / "plugins" / "nefkit_demo" / "data"


def run(*args):
    return CliRunner().invoke(cli, ["score", *map(str, args)])


def phq_csv(path: Path) -> Path:
    rows = [
        ["respondent_id", "session", "administered_at", "site", *PHQ, "phq9_10"],
        ["a", "1", "2026-01-05", "=A1", *"123012301", "1"],
        ["a", "2", "2026-01-12", "B", *"000000000", "2"],  # follow-up answered, not asked
        ["a", "3", "2026-01-19", "B", *"333333333", "Very difficult"],
        ["b", "1", "2026-01-05", "", *"11111111", "", "0"],  # a blank: not scorable
        ["b", "2", "2026-01-05", "", "9", *"11111111", "0"],  # 9 is not an answer
        ["", "1", "2026-01-05", "", *"111111111", "0"],  # no respondent
    ]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_auto_takes_python_for_small_files_and_says_so(tmp_path):
    data = phq_csv(tmp_path / "in.csv")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert "Engine: python (input is under" in result.output


def test_auto_takes_duckdb_for_large_files(tmp_path, monkeypatch):
    monkeypatch.setattr(nefkit.engine, "AUTO_BYTES", 10)
    data = phq_csv(tmp_path / "in.csv")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    assert "Engine: duckdb (input is 0 MB)" in result.output


def test_engine_choice_by_format(tmp_path):
    choose = nefkit.engine.choose_engine
    assert choose("auto", Path("x.parquet")).name == "duckdb"
    assert choose("auto", Path("x.csv"), Path("o.parquet")).reason == "parquet needs it"
    assert choose("auto", Path("x.xlsx")).name == "python"
    with pytest.raises(nefkit.NefkitError, match="the python engine cannot handle parquet"):
        choose("python", Path("x.parquet"))
    with pytest.raises(
        nefkit.NefkitError, match="the duckdb engine reads CSV, JSON Lines and Parquet"
    ):
        choose("duckdb", Path("x.xlsx"))


def test_help_does_not_import_duckdb():
    code = "import sys; from nefkit.cli import cli; assert 'duckdb' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parquet_input_scores_as_the_same_csv(tmp_path):
    data = DEMO / "phq-9.csv"
    parquet = tmp_path / "in.parquet"
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{data}')) TO '{parquet}' (FORMAT parquet)")
    assert run("phq-9", data, "-o", tmp_path / "a.csv", "--engine", "python").exit_code == 0
    result = run("phq-9", parquet, "-o", tmp_path / "b.csv")
    assert result.exit_code == 0, result.output
    assert "Engine: duckdb (parquet needs it)" in result.output
    assert read_csv(tmp_path / "a.csv") == read_csv(tmp_path / "b.csv")
    assert read_csv(tmp_path / "a-changes.csv") == read_csv(tmp_path / "b-changes.csv")


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_parquet_and_json_lines_output_hold_the_csv_values_typed(tmp_path, suffix):
    data = phq_csv(tmp_path / "in.csv")
    assert run("phq-9", data, "-o", tmp_path / "out.csv", "--engine", "python").exit_code == 1
    result = run("phq-9", data, "-o", tmp_path / f"out{suffix}")
    assert result.exit_code == 1 and "Engine: duckdb" in result.output
    reader = "read_parquet" if suffix == ".parquet" else "read_json"
    con = duckdb.connect()
    cursor = con.execute(f"SELECT * FROM {reader}('{tmp_path / f'out{suffix}'}')")
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    want = list(csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8", newline="")))
    assert names == list(want[0])
    for got, row in zip(rows, want):
        assert got["row"] == int(row["row"])
        assert got["total"] == (int(row["total"]) if row["total"] else None)
        assert got["case"] == {"yes": True, "no": False, "": None}[row["case"]]
        assert (got["notes"] or "") == row["notes"]
        assert (got["site"] or "") == row["site"].lstrip("'")  # no spreadsheet guard in typed files
    cursor = con.execute(f"SELECT * FROM {reader}('{tmp_path / f'out-changes{suffix}'}')")
    names = [d[0] for d in cursor.description]
    changes = [dict(zip(names, r)) for r in cursor.fetchall()]
    want = list(csv.DictReader(open(tmp_path / "out-changes.csv", encoding="utf-8", newline="")))
    assert names == list(want[0]) and len(changes) == len(want) > 0
    for got, row in zip(changes, want):
        for name in ("before", "after", "difference"):
            assert got[name] == float(row[name])
        for name in ("from_row", "to_row", "from_session", "to_session"):
            assert got[name] == (int(row[name]) if row[name] else None)
        for name in ("respondent_id", "comparison", "classification", "from_date", "instrument"):
            assert str(got[name] or "") == row[name]  # read_json reads dates as dates


def test_a_change_rule_without_sql_classifies_in_python(tmp_path, monkeypatch):
    """A third-party change rule may have no SQL form: the engine still computes the pairs in
    DuckDB and asks the rule for each classification, and writes what the Python engine does."""
    from nefkit_rules.change import ReliableChangeRule

    monkeypatch.setattr(ReliableChangeRule, "to_sql", lambda self, params, before, after, sql: None)
    data = phq_csv(tmp_path / "in.csv")
    for engine in ("python", "duckdb"):
        (tmp_path / engine).mkdir()
        run("phq-9", data, "-o", tmp_path / engine / "out.csv", "--engine", engine)
    python, duckdb_ = (read_csv(tmp_path / e / "out-changes.csv") for e in ("python", "duckdb"))
    assert python == duckdb_ and len(python) > 1


def test_change_pairs_short_of_memory_are_written_on_one_thread(tmp_path, monkeypatch):
    """Sorted pairs written in order from two threads wait in memory (out of memory at 1M
    rows and a 150MB limit); the engine then writes them again on one thread."""
    data = DEMO / "phq-9.csv"
    run("phq-9", data, "-o", tmp_path / "python.csv", "--engine", "python")
    copy, seen = ColumnarEngine._copy, []

    def short_of_memory(self, query, names, path, kind, *args, **kwargs):
        threads = self._threads()
        seen.append((path.name, threads))
        if path.name.endswith("-changes.csv") and threads > 1:
            raise duckdb.OutOfMemoryException("could not allocate block")
        return copy(self, query, names, path, kind, *args, **kwargs)

    monkeypatch.setattr(ColumnarEngine, "_copy", short_of_memory)
    monkeypatch.setenv("NEFKIT_DUCKDB_THREADS", "2")
    result = run("phq-9", data, "-o", tmp_path / "duckdb.csv", "--engine", "duckdb")
    assert result.exit_code == 0, result.output
    assert [t for name, t in seen if name == "duckdb-changes.csv"] == [2, 1]
    python, duckdb_ = (read_csv(tmp_path / f"{e}-changes.csv") for e in ("python", "duckdb"))
    assert python == duckdb_ and len(python) > 1


def test_running_out_of_memory_is_said_in_words(tmp_path, monkeypatch):
    """Not a traceback, and not taken for a file DuckDB cannot read (which the engine would
    read again, slowly, through nefkit's reader): what happened and what to set."""
    normalised = []
    monkeypatch.setattr(ColumnarEngine, "_normalise", lambda self: normalised.append(1))
    monkeypatch.setattr(nefkit.engine.sources, "normalise_csv", lambda *a: normalised.append(1))
    monkeypatch.setenv("NEFKIT_DUCKDB_MEMORY", "1MB")
    result = run("phq-9", DEMO / "phq-9.csv", "-o", tmp_path / "out.csv", "--engine", "duckdb")
    assert result.exit_code == 1
    assert "DuckDB ran out of memory (its limit is 1MB)" in result.output
    assert "NEFKIT_DUCKDB_MEMORY=" in result.output and not normalised
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "out, step", [("out.csv", "changes"), ("out.json", "changes"), ("out.json", "_materialise")]
)
def test_running_out_of_memory_later_is_said_in_words_too(tmp_path, monkeypatch, out, step):
    """Wherever it happens: writing rows straight to a file, or giving them to a renderer."""

    def short_of_memory(*args):
        raise duckdb.OutOfMemoryException("could not allocate block")

    normalised = []
    monkeypatch.setattr(ColumnarEngine, "_normalise", lambda self: normalised.append(1))
    monkeypatch.setattr(ColumnarEngine, step, short_of_memory)
    monkeypatch.delenv("NEFKIT_DUCKDB_MEMORY", raising=False)
    result = run("phq-9", DEMO / "phq-9.csv", "-o", tmp_path / out, "--engine", "duckdb")
    assert result.exit_code == 1
    assert "DuckDB ran out of memory (its limit is 768MB)" in result.output and not normalised


def test_renderers_get_the_same_rows(tmp_path):
    """JSON goes through Results and ScoredRow: the same document as the Python engine's."""
    data = phq_csv(tmp_path / "in.csv")
    documents = []
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.json"
        assert run("phq-9", data, "-o", out, "--engine", engine).exit_code == 1
        document = json.loads(out.read_text())
        document.pop("provenance")
        documents.append(document)
    assert documents[0] == documents[1]
    assert documents[0]["changes"] and documents[0]["problems"]


def test_excel_output_from_the_columnar_engine(tmp_path):
    data = DEMO / "gad-7.csv"
    result = run("gad-7", data, "-o", tmp_path / "out.xlsx", "--engine", "duckdb")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.xlsx").stat().st_size > 0


class SecondHighestRule(nefkit.ScoringRule):
    """A third party's rule with no SQL form."""

    name = "second_highest"
    summary = "The second highest answer."

    def output(self, score, params, instrument, outputs):
        return nefkit.Output("number", 0, 3, integer=True)

    def compute(self, values, params, names):
        if any(v is None for v in values):
            return nefkit.ScoreValue(None, "not scorable", 0, "an answer is missing")
        return nefkit.ScoreValue(sorted(values)[-2], "complete", len(values))


def test_a_rule_without_sql_runs_in_python_on_batches(tmp_path, register_plugin):
    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(SecondHighestRule())

    register_plugin(Plugin(), name="second", distribution="nefkit-second", version="1.0")
    text = (DEMO.parent.parent.parent / "instruments" / "phq-9.toml").read_text(encoding="utf-8")
    text = text.replace('id = "phq-9"', 'id = "phq-9-second"', 1)
    text = text.split("# Golden cases")[0]
    text += '\n[[scores]]\nid = "second"\nlabel = "Second"\nrule = "second_highest"\n'
    text += 'items = ["phq9_1", "phq9_2", "phq9_3"]\n'
    text += '\n[[flags]]\nid = "second_high"\nlabel = "High"\nwhen = "second >= 2"\n'
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "phq-9-second.toml").write_text(text, encoding="utf-8")
    data = phq_csv(tmp_path / "in.csv")
    outputs = []
    for engine in ("python", "duckdb"):
        out = tmp_path / engine / "out.csv"
        out.parent.mkdir()
        result = run(
            "phq-9-second", data, "-o", out, "--engine", engine, "--instruments", tmp_path / "defs"
        )
        assert result.exit_code == 1, result.output
        outputs.append((read_csv(out), read_csv(out.with_name("out-changes.csv"))))
    assert outputs[0] == outputs[1]
    assert "second" in outputs[0][0][0] and "flag_second_high" in outputs[0][0][0]


class TopTwoMeanRule(nefkit.ScoringRule):
    """A third party's rule with no SQL form whose values are floats."""

    name = "top_two_mean"
    summary = "The mean of the two highest answers."

    def output(self, score, params, instrument, outputs):
        return nefkit.Output("number", 0, 3)

    def compute(self, values, params, names):
        if any(v is None for v in values):
            return nefkit.ScoreValue(None, "not scorable", 0, "an answer is missing")
        return nefkit.ScoreValue(sum(sorted(values)[-2:]) / 2, "complete", len(values))


# Scores computed in Python come first (a score in SQL after them) and change rules compare
# them: one with whole numbers, one with floats.
MOOD = """
id = "mood-3"
version = "0.1.0"
title = "Mood-3"
citation = "nefkit tests"
licence = "MIT"
source = "nefkit tests"

[scales.freq]
choices = [
  { value = 0, label = "Never" },
  { value = 1, label = "Sometimes" },
  { value = 2, label = "Often" },
  { value = 3, label = "Always" },
]

[[items]]
id = "low"
text = "I felt low"
scale = "freq"

[[items]]
id = "tense"
text = "I felt tense"
scale = "freq"

[[items]]
id = "alone"
text = "I felt alone"
scale = "freq"

[[scores]]
id = "second"
label = "Second highest"
rule = "second_highest"
items = ["low", "tense", "alone"]

[[scores]]
id = "top_two"
label = "Mean of the two highest"
rule = "top_two_mean"
items = ["low", "tense", "alone"]

[[scores]]
id = "total"
label = "Total"
rule = "sum"
items = ["low", "tense", "alone"]

[[flags]]
id = "second_high"
label = "High"
when = "second >= 2"

[[changes]]
id = "second_change"
label = "Second highest, reliable change"
score = "second"
rule = "reliable_change"
params = { better = "lower", threshold = 1 }

[[changes]]
id = "top_change"
label = "Mean of the two highest, reliable change"
score = "top_two"
rule = "reliable_change"
params = { better = "lower", threshold = 1 }
"""

MOOD_DATA = [
    "respondent_id,session,low,tense,alone",
    "A,1,3,2,1",  # row 2: second 2, top two 2.5
    "A,2,1,1,0",  # row 3: 1, 1.0
    "A,3,0,0,0",  # row 4: 0, 0.0
    "B,1,2,2,2",  # row 5: 2, 2.0
    "B,2,2,,1",  # row 6: not scorable: left out of B's series
    "B,3,3,3,3",  # row 7: 3, 3.0
    "C,1,1,1,1",  # one administration: no change
]


@pytest.fixture
def mood(tmp_path, register_plugin):
    """The mood-3 definition's directory and its data, with the rules registered."""

    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(SecondHighestRule())
            register(TopTwoMeanRule())

    register_plugin(Plugin(), name="mood", distribution="nefkit-mood", version="1.0")
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "mood-3.toml").write_text(MOOD, encoding="utf-8")
    data = tmp_path / "mood.csv"
    data.write_text("\n".join(MOOD_DATA) + "\n", encoding="utf-8")
    return tmp_path / "defs", data


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_change_scores_over_scores_computed_in_python(tmp_path, mood, engine):
    defs, data = mood
    out = tmp_path / "out.csv"
    result = run("mood-3", data, "-o", out, "--engine", engine, "--instruments", defs)
    assert result.exit_code == 0, result.output
    [header, *rows] = read_csv(out)
    scores = [
        [r[header.index(c)] for c in ("second", "top_two", "total", "flag_second_high")]
        for r in rows
    ]
    assert scores[:3] == [
        ["2", "2.5", "6", "yes"],
        ["1", "1.0", "2", "no"],
        ["0", "0.0", "0", "no"],
    ]
    [header, *rows] = read_csv(tmp_path / "out-changes.csv")
    columns = ("respondent_id", "change", "from_row", "to_row", "before", "after", "difference")
    changes = [
        [r[header.index(c)] for c in columns] + [r[header.index("classification")]] for r in rows
    ]
    improved, worse = "reliably improved", "reliably deteriorated"
    assert changes == [
        ["A", "second_change", "2", "4", "2", "0", "-2", improved],
        ["A", "second_change", "2", "3", "2", "1", "-1", improved],
        ["A", "second_change", "3", "4", "1", "0", "-1", improved],
        ["A", "top_change", "2", "4", "2.5", "0.0", "-2.5", improved],
        ["A", "top_change", "2", "3", "2.5", "1.0", "-1.5", improved],
        ["A", "top_change", "3", "4", "1.0", "0.0", "-1.0", improved],
        ["B", "second_change", "5", "7", "2", "3", "1", worse],
        ["B", "second_change", "5", "7", "2", "3", "1", worse],
        ["B", "top_change", "5", "7", "2.0", "3.0", "1.0", worse],
        ["B", "top_change", "5", "7", "2.0", "3.0", "1.0", worse],
    ]


def test_scores_computed_in_python_give_the_python_engines_files(tmp_path, mood):
    """The scores and the change scores, byte for byte; and the JSON document."""
    defs, data = mood
    for engine in ("python", "duckdb"):
        (tmp_path / engine).mkdir()
        for name in ("out.csv", "out.json"):
            out = tmp_path / engine / name
            result = run("mood-3", data, "-o", out, "--engine", engine, "--instruments", defs)
            assert result.exit_code == 0, result.output
    for name in ("out.csv", "out-changes.csv"):
        assert (tmp_path / "python" / name).read_bytes() == (
            tmp_path / "duckdb" / name
        ).read_bytes()
    python, duckdb_ = (
        json.loads((tmp_path / e / "out.json").read_text()) for e in ("python", "duckdb")
    )
    python.pop("provenance"), duckdb_.pop("provenance")
    assert python == duckdb_ and len(python["changes"]) == 10


@pytest.mark.parametrize("suffix, name", [(".parquet", "Parquet"), (".jsonl", "JSON Lines")])
def test_typed_output_refuses_scores_computed_in_python(tmp_path, mood, suffix, name):
    """DuckDB writes Parquet and JSON Lines alone; it cannot hold Python's scores."""
    defs, data = mood
    out = tmp_path / f"out{suffix}"
    result = run("mood-3", data, "-o", out, "--instruments", defs)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.splitlines()[-1] == (
        f"Error: {name} output is written by DuckDB and needs every score in SQL, but these are"
        " computed in Python (a rule without to_sql, or reading such a score): second, top_two;"
        " write csv, json or xlsx instead"
    )
    assert not out.exists()


def test_nefkit_sql_leaves_out_what_python_computes(mood):
    """The scores in SQL after one computed in Python are still there; the comment names every
    score and flag left out."""
    defs, _ = mood
    result = CliRunner().invoke(
        cli, ["sql", "mood-3", "--dialect", "duckdb", "--instruments", defs]
    )
    assert result.exit_code == 0, result.output
    assert (
        "-- Not in SQL (a rule without a SQL form, or reading a score that has none; score them"
        " with nefkit): second, top_two, flag_second_high"
    ) in result.output
    con = duckdb.connect()
    con.execute("CREATE TABLE answers AS SELECT 3 AS low, 2 AS tense, NULL::INTEGER AS alone")
    cursor = con.execute(result.output)
    row = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
    assert (row["total"], row["total_status"]) == (None, "not scorable")
    assert row["notes"] == "total: 1 of 3 answers missing (alone); every answer is needed"
    assert "second" not in row and "flag_second_high" not in row


def test_unreadable_files_get_the_python_engines_words(tmp_path):
    bad = tmp_path / "in.csv"
    good = "respondent_id," + ",".join(PHQ) + "\n" + ("x," + "1," * 8 + "1\n") * 3000
    bad.write_bytes(good.encode() + b"\xff\xfe,1\n")
    messages = [
        run("phq-9", bad, "-o", tmp_path / out, "--engine", e).output
        for e, out in (("python", "o.csv"), ("duckdb", "o.csv"), ("duckdb", "o.json"))
    ]
    assert "is not UTF-8 text" in messages[0]
    assert messages[0].splitlines()[-1] == messages[1].splitlines()[-1]
    assert messages[0].splitlines()[-1] == messages[2].splitlines()[-1]  # through a renderer
    lines = tmp_path / "in.jsonl"
    lines.write_text(
        json.dumps({"respondent_id": "a", **{i: 1 for i in PHQ}})
        + "\n"
        + json.dumps({"respondent_id": "b", "phq9_99": 1})
        + "\n"
    )
    messages = [
        run("phq-9", lines, "-o", tmp_path / "o.csv", "--engine", e).output
        for e in ("python", "duckdb")
    ]
    assert "line 2 has key(s) phq9_99" in messages[1]
    assert messages[0].splitlines()[-1] == messages[1].splitlines()[-1]


def phq_line(respondent: str) -> str:
    record = {"respondent_id": respondent, "site": "x", **{i: 1 for i in PHQ}}
    return json.dumps(record, ensure_ascii=False)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize(
    "name, content, line",
    [
        # Latin-1 (as a European spreadsheet or database export may write it) in the 4th line,
        # and after 5,000 good lines, which DuckDB reads itself before the reader sees line 5001
        ("latin-1", [*map(phq_line, "abc"), phq_line("José")], 4),
        ("latin-1, late", [*(phq_line(f"r{k}") for k in range(5000)), phq_line("José")], 5001),
        ("random bytes", None, 1),  # a binary file given a .jsonl name
    ],
)
def test_json_lines_that_are_not_utf8_are_named_with_their_line(
    tmp_path, engine, name, content, line
):
    data = tmp_path / "in.jsonl"
    if content is None:
        data.write_bytes(random.Random(14).randbytes(4096))
    else:
        data.write_bytes("\n".join(content).encode("latin-1") + b"\n")
    result = run("phq-9", data, "-o", tmp_path / "out.csv", "--engine", engine)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert result.output.splitlines()[-1] == (
        f"Error: {data}: line {line} is not UTF-8 text; save the file as UTF-8"
    )


def test_json_values_of_every_kind_score_as_in_the_python_engine(tmp_path):
    """The columnar engine reads strings and integers from DuckDB's JSON text (a digit alone,
    a quoted string, escapes, a minus sign) and leaves every other value to Python; a line may
    give the keys in any order."""
    values = [
        1,
        "1",
        1.0,
        2.5,
        True,
        False,
        [1],
        {"a": 1},
        -1,
        10,
        12345678901234567890,
        " 2 ",
        "",
        None,
        "Not at all",
        '2"',
        "caf\u00e9",
        "\\1",
        1e2,
        0,
    ]
    lines = tmp_path / "in.jsonl"
    with open(lines, "w", encoding="utf-8") as out:
        for k, value in enumerate(values):
            site = value if isinstance(value, str) else json.dumps(value)
            record = {"respondent_id": f"r{k}", "site": site, **{i: 1 for i in PHQ}}
            record["phq9_1"] = value
            if k % 2:  # the same keys in another order
                record = dict(reversed(record.items()))
            out.write(json.dumps(record) + "\n")
    outputs = []
    for engine in ("python", "duckdb"):
        result = run("phq-9", lines, "-o", tmp_path / f"{engine}.csv", "--engine", engine)
        assert result.exit_code == 1, result.output  # some values are not answers
        outputs.append(read_csv(tmp_path / f"{engine}.csv"))
    assert outputs[0] == outputs[1]
    reported = [row[1] for row in outputs[1][1:] if row[-2].startswith("row ")]
    # 2.5, true, false, [1], {"a": 1}, -1, 10, 12345678901234567890, '2"', 'café', '\\1', 1e2
    assert reported == [f"r{k}" for k in (3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 18)]


def test_regular_files_are_read_directly_and_irregular_ones_normalised(tmp_path):
    reg = nefkit.get_registry()
    plan = nefkit.get_plan("gad-7", reg)
    items = ",".join(f"gad7_{k}" for k in range(1, 8))
    regular = tmp_path / "regular.csv"
    regular.write_text(f"respondent_id,{items}\na,1,1,1,1,1,1,1\n\n")  # a trailing blank line
    blank = tmp_path / "blank.csv"
    blank.write_text(f"respondent_id,{items}\na,1,1,1,1,1,1,1\n\nb,1,1,1,1,1,1,1\n")
    for path, normalised in ((regular, False), (blank, True)):
        engine = ColumnarEngine(plan, path, "csv", reg.reader_for(path, "csv"))
        try:
            assert engine.source.normalised is normalised
        finally:
            engine.close()
    assert run("gad-7", blank, "-o", tmp_path / "o.csv", "--engine", "duckdb").exit_code == 0
    assert [r[0] for r in read_csv(tmp_path / "o.csv")] == ["row", "2", "4"]


def _irregular_by_the_book(text: bytes) -> bool:
    """What ``scan`` says of irregularity, on the whole text at once (slow, plain)."""
    import re

    for blank in re.finditer(rb"\n[ \t\r\f\v]*\n", text):
        if text[blank.end() :].strip():
            return True
    return bool(re.search(rb'(?:^|[,\n]) +"|" +(?:,|\r|\n|$)', text))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.sampled_from(["a", "1", ",", " ", '"', "\n", "\r\n", "\t", "\n\n"]), max_size=40),
    st.integers(1, 9),
)
def test_the_irregularity_scan_sees_across_its_blocks(monkeypatch, tmp_path_factory, parts, block):
    """Blank lines and spaces by quotes are found wherever the scan's blocks happen to cut."""
    from nefkit.engine import sources

    text = ("a,b\n" + "".join(parts)).encode()
    path = tmp_path_factory.mktemp("scan") / "in.csv"
    path.write_bytes(text)
    monkeypatch.setattr(sources, "SCAN_BLOCK", block)
    assert sources.scan(path, ",").irregular is _irregular_by_the_book(text)


def _records(text: bytes) -> int:
    return sum(1 for _ in csv.reader(io.StringIO(text.decode(), newline="")))


CELLS = ["a", "1", "", '"q,u""o\nte"', '"x\r\ny"', 'x"y', '"plain"', '""', "\u00e5"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.lists(st.sampled_from(CELLS), min_size=2, max_size=2), max_size=12),
    st.sampled_from(["\n", "\r\n"]),
    st.integers(1, 40),
    st.booleans(),
)
def test_the_scan_counts_records_at_its_marks(
    monkeypatch, tmp_path_factory, rows, newline, block, bom
):
    """Every mark is a record boundary with the number of records before it, as Python's csv
    module counts them: quoted newlines, doubled quotes and quotes inside unquoted cells
    included, wherever the blocks cut."""
    from nefkit.engine import sources

    lines = ["a,b", *(",".join(row) for row in rows)]
    text = ("\ufeff" if bom else "").encode() + (newline.join(lines) + newline).encode()
    path = tmp_path_factory.mktemp("scan") / "in.csv"
    path.write_bytes(text)
    monkeypatch.setattr(sources, "SCAN_BLOCK", block)
    found = sources.scan(path, ",")
    assert not found.irregular and found.marks is not None
    whole = _records(text)
    for offset, records in found.marks:
        assert records == _records(text[:offset])
        assert records + _records(text[offset:]) == whole


def test_many_rows_keep_their_order_and_numbers(tmp_path):
    """Tens of thousands of rows, read and scored in parallel: still in file order, every row
    number right, every problem in place, the same changes."""
    import random

    rng = random.Random(5)
    data = tmp_path / "in.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", *PHQ, "phq9_10"])
        for n in range(40_000):
            answers = [str(rng.randint(0, 3)) for _ in PHQ]
            if n % 997 == 0:
                answers[3] = "7"
            if n % 1301 == 0:
                answers[5] = ""
            writer.writerow([f"p{n // 4}", str(n % 4 + 1), *answers, "0"])
    outputs = []
    for engine in ("python", "duckdb"):
        out = tmp_path / engine / "out.csv"
        out.parent.mkdir()
        result = run("phq-9", data, "-o", out, "--engine", engine)
        outputs.append(
            (result.exit_code, read_csv(out), read_csv(out.with_name("out-changes.csv")))
        )
        assert "row 999, column phq9_4 (value '7')" in result.output
    assert outputs[0] == outputs[1]


def test_the_whitespace_class_is_pythons():
    from nefkit.engine.sources import SPACES

    assert SPACES == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def test_parquet_cells_keep_their_types_in_problems(tmp_path):
    parquet = tmp_path / "in.parquet"
    items = ", ".join(f"{v} AS phq9_{k}" for k, v in enumerate([1, 2, 7, 0, 0, 1, 1, 2, 0], 1))
    duckdb.execute(
        f"COPY (SELECT 'a' AS respondent_id, 1 AS session, {items}, NULL::INTEGER AS phq9_10"
        f" UNION ALL SELECT 'b', 2, {items.replace('7 AS', '3 AS')}, 1) TO '{parquet}' (FORMAT parquet)"
    )
    result = run("phq-9", parquet, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    assert "Problem: row 2, column phq9_3 (value 7): not an answer to phq9_3" in result.output
    assert [r[-3] for r in read_csv(tmp_path / "out.csv")[1:]] == ["invalid", "scored"]
