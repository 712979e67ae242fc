"""The columnar engine's own behaviour: choosing an engine, Parquet and JSON Lines in and out,
the renderers' path, rules without SQL, errors in the Python engine's words."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nefkit_duckdb.engine
import nefkit_duckdb.sources
import pytest
from click.testing import CliRunner
from nefkit_duckdb.engine import ColumnarEngine
from test_engine_support import read_csv

import nefkit
from nefkit.cli import cli

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


def test_auto_takes_python_for_small_files_and_says_why(tmp_path):
    data = phq_csv(tmp_path / "in.csv")
    result = run("phq-9", data, "-o", tmp_path / "out.csv")
    [line] = [line for line in result.output.splitlines() if line.startswith("Engine:")]
    assert line.startswith("Engine: python (about 6 rows of 10 items: python ~0.0 s, duckdb ~")


def test_auto_weighs_rows_items_and_change_scores(tmp_path, monkeypatch):
    """The measured models: small files to the row engine (DuckDB's start costs more than it
    saves), large ones to DuckDB; a large file with change scores never to the row engine,
    whose memory grows with them. When every row goes to Python (a workbook, a report), DuckDB
    makes each an object at more cost than the row engine scores it: the row engine, where it
    may."""
    registry = nefkit.get_registry()
    data = phq_csv(tmp_path / "in.csv")
    reader = type(registry.readers["csv"].value)

    def choose(instrument, rows, rendered=False):
        monkeypatch.setattr(reader, "count_rows", lambda self, path: rows)
        plan = nefkit.get_plan(instrument, registry)
        entry, reason = registry.engine_for("auto", data, plan, rendered=rendered)
        return entry.value.name, reason

    for instrument in ("phq-9", "neq-20"):
        assert choose(instrument, 1_000)[0] == "python"
        assert choose(instrument, 1_000_000)[0] == "duckdb"
        assert choose(instrument, 100_000, rendered=True)[0] == "python"
    name, reason = choose("phq-9", 5_000_000)
    assert name == "duckdb" and reason.endswith("; not for this input: python")
    # Rows that go to Python anyway: the row engine's change history is the lesser memory.
    assert choose("phq-9", 5_000_000, rendered=True)[0] == "python"
    assert choose("neq-20", 5_000_000)[1].startswith("about 5,000,000 rows of 61 items: duckdb ~")
    name, reason = choose("neq-20", 1_000_000, rendered=True)
    assert name == "python"
    assert reason.startswith("about 1,000,000 rows of 61 items, written row by row: python ~")


def test_auto_weighs_the_output(tmp_path, monkeypatch):
    """A workbook is written from every row; CSV may be written by DuckDB itself, unless only
    one respondent's rows are wanted."""
    data = phq_csv(tmp_path / "in.csv")
    registry = nefkit.get_registry()
    monkeypatch.setattr(type(registry.readers["csv"].value), "count_rows", lambda s, p: 150_000)
    monkeypatch.setattr("nefkit.cli.registry_for", lambda paths: registry)

    def chose(*args):
        result = run("phq-9", data, *args)
        [line] = [line for line in result.output.splitlines() if line.startswith("Engine:")]
        return line

    assert chose("-o", tmp_path / "out.csv").startswith(
        "Engine: duckdb (about 150,000 rows of 10 items:"
    )
    assert chose("-o", tmp_path / "out.xlsx").startswith(
        "Engine: python (about 150,000 rows of 10 items, written row by row:"
    )
    assert chose("-o", tmp_path / "a.csv", "--respondent", "a").startswith("Engine: python")


def test_auto_counts_rows_from_a_sample(tmp_path):
    """Exact for a small file; for a large one within a few per cent (rows differ in length)."""
    registry = nefkit.get_registry()
    small = phq_csv(tmp_path / "small.csv")
    assert registry.readers["csv"].value.count_rows(small) == 6
    large = tmp_path / "large.csv"
    with open(large, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", *PHQ])
        for n in range(60_000):
            writer.writerow([f"R{n}" * (1 + n % 3), *"012301230"])
    assert 57_000 <= registry.readers["csv"].value.count_rows(large) <= 63_000
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"respondent_id": "a"}\n{"respondent_id": "b"}\n')
    assert registry.readers["jsonl"].value.count_rows(lines) == 2
    parquet = tmp_path / "in.parquet"
    duckdb.sql(f"COPY (SELECT range AS respondent_id FROM range(1234)) TO '{parquet}'")
    assert registry.readers["parquet"].value.count_rows(parquet) == 1234


def test_engine_choice_by_format(tmp_path):
    registry = nefkit.get_registry()
    plan = nefkit.get_plan("phq-9", registry)

    def choose(engine, data):
        entry, reason = registry.engine_for(engine, Path(data), plan)
        return entry.value.name, reason

    assert choose("auto", tmp_path / "x.xlsx") == ("python", "no other engine reads xlsx")
    assert choose("python", "x.parquet") == ("python", "asked for")  # through the Parquet reader
    with pytest.raises(nefkit.NefkitError, match="the duckdb engine reads csv, jsonl, parquet"):
        choose("duckdb", "x.xlsx")
    with pytest.raises(nefkit.NefkitError, match="unknown engine 'polars'"):
        choose("polars", "x.csv")


def test_a_format_whose_plugin_is_disabled_is_missing_for_every_engine(tmp_path):
    """The DuckDB engine writes CSV faster itself, but only in the CSV renderer's place: with
    the csv plugin left out there is no .csv output, whichever engine scores."""
    data = tmp_path / "in.jsonl"
    data.write_text('{"respondent_id": "a", ' + ", ".join(f'"{i}": 1' for i in PHQ) + "}\n")
    environment = {**os.environ, "NEFKIT_DISABLE_PLUGINS": "csv"}
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        args = ["score", "phq-9", str(data), "-o", str(out), "--engine", engine]
        done = subprocess.run(
            [sys.executable, "-m", "nefkit", *args], capture_output=True, text=True, env=environment
        )
        assert done.returncode == 1
        assert "Error: nefkit has no output format for '.csv' files" in done.stderr
        assert not out.exists()


def test_help_does_not_import_duckdb():
    code = "import sys; from nefkit.cli import cli; assert 'duckdb' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_parquet_input_scores_as_the_same_csv(tmp_path):
    data = DEMO / "phq-9.csv"
    parquet = tmp_path / "in.parquet"
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{data}')) TO '{parquet}' (FORMAT parquet)")
    assert run("phq-9", data, "-o", tmp_path / "a.csv", "--engine", "python").exit_code == 0
    result = run("phq-9", parquet, "-o", tmp_path / "b.csv", "--engine", "duckdb")
    assert result.exit_code == 0, result.output
    python = run("phq-9", parquet, "-o", tmp_path / "c.csv", "--engine", "python")
    assert python.exit_code == 0, python.output  # the Parquet reader, for the row engine
    assert read_csv(tmp_path / "a.csv") == read_csv(tmp_path / "c.csv")
    assert read_csv(tmp_path / "a.csv") == read_csv(tmp_path / "b.csv")
    assert read_csv(tmp_path / "a-changes.csv") == read_csv(tmp_path / "b-changes.csv")


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_parquet_and_json_lines_output_hold_the_csv_values_typed(tmp_path, suffix):
    data = phq_csv(tmp_path / "in.csv")
    assert run("phq-9", data, "-o", tmp_path / "out.csv", "--engine", "python").exit_code == 1
    result = run("phq-9", data, "-o", tmp_path / f"out{suffix}", "--engine", "duckdb")
    assert result.exit_code == 1
    reader = "read_parquet" if suffix == ".parquet" else "read_json"
    con = duckdb.connect()
    # The row engine's rows, through the renderer, make the very same file.
    assert run("phq-9", data, "-o", tmp_path / f"py{suffix}", "--engine", "python").exit_code == 1
    for name in (f"{{}}{suffix}", f"{{}}-changes{suffix}"):
        native, rendered = (tmp_path / name.format(stem) for stem in ("out", "py"))
        rows = [
            con.execute(f"SELECT * FROM {reader}('{f}')").fetchall() for f in (native, rendered)
        ]
        assert rows[0] == rows[1] and rows[0]
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
    monkeypatch.setattr(nefkit_duckdb.sources, "normalise_csv", lambda *a: normalised.append(1))
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


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_typed_output_of_scores_computed_in_python_is_the_row_engines(tmp_path, mood, suffix):
    """The DuckDB engine writes Parquet and JSON Lines itself only where every score is SQL;
    with scores computed in Python the renderer writes the rows, as for the row engine."""
    defs, data = mood
    tables = []
    for engine in ("python", "duckdb"):
        out = tmp_path / f"{engine}{suffix}"
        result = run("mood-3", data, "-o", out, "--engine", engine, "--instruments", defs)
        assert result.exit_code == 0, result.output
        reader = "read_parquet" if suffix == ".parquet" else "read_json"
        tables.append(duckdb.sql(f"SELECT * FROM {reader}('{out}')").fetchall())
    assert tables[0] == tables[1] and len(tables[0]) > 3
