"""The columnar (DuckDB) engine against the Python engine: the same random datasets in, the same
files out, cell for cell, with the same problems and exit status."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from helpers import registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_support import (
    choice_cell,
    dataset,
    read_csv,
    write_csv,
    write_instrument,
    write_jsonl,
)

from nefkit.cli import cli

pytest.importorskip("duckdb")

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FREQUENCY = {
    0: "Not at all",
    1: "Several days",
    2: "More than half the days",
    3: "Nearly every day",
}
DIFFICULTY = {
    0: "Not difficult at all",
    1: "Somewhat difficult",
    2: "Very difficult",
    3: "Extremely difficult",
}
YES_NO = {0: "No", 1: "Yes"}
AGREE = {1: "Disagree", 2: "Neutral", 3: "Agree", 4: "Strongly agree"}
IMPACT = {0: "Not at all", 1: "Slightly", 2: "Moderately", 3: "Very", 4: "Extremely"}
CAUSE = {1: "The treatment I received", 0: "Other circumstances"}


@pytest.fixture(params=["pieces", "two passes"])
def cut(request, monkeypatch):
    """A regular CSV or JSON Lines file of an instrument without change scores (NEQ-20) is
    scored in pieces, each numbered on a thread of its own (here three, cut at the marks the
    scan leaves every 50 bytes); a CSV file whose records the scan cannot count (here: told
    that any quote is too many) in two passes, as are the files of instruments with change
    scores (the other tests here)."""
    from nefkit_duckdb import sources

    if request.param == "pieces":
        monkeypatch.setattr(sources, "SCAN_BLOCK", 50)
        monkeypatch.setenv("NEFKIT_DUCKDB_THREADS", "3")
    else:
        monkeypatch.setattr(sources, "QUOTES", -1)


def run(*args):
    return CliRunner().invoke(cli, ["score", *map(str, args)])


def said(output: str, out) -> list[str]:
    """The problems, the warnings (risk flags unknown or raised on invalid rows) and the last
    line (rows scored, flags that could not be checked), wherever the output went."""
    lines = output.replace(str(out.parent), "OUT").splitlines()
    return [line for line in lines if line.startswith(("Problem:", "Warning:", "Scored", "Error:"))]


def compare(tmp_path, instrument: str, data, extra=()):
    """Score ``data`` with both engines; every output file, problem, warning and the exit status
    agree."""
    outcomes = {}
    for engine in ("python", "duckdb"):
        out = tmp_path / engine / "out.csv"
        out.parent.mkdir(exist_ok=True)
        result = run(instrument, data, "-o", out, "--engine", engine, *extra)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        files = {p.name: read_csv(p) for p in sorted(out.parent.glob("out*.csv")) if p.exists()}
        outcomes[engine] = (result.exit_code, said(result.output, out), files)
    python, duckdb = outcomes["python"], outcomes["duckdb"]
    assert duckdb[0] == python[0], (python[1], duckdb[1])
    assert duckdb[1] == python[1]
    assert set(duckdb[2]) == set(python[2])
    for name in python[2]:
        for index, (want, got) in enumerate(zip(python[2][name], duckdb[2][name])):
            assert got == want, f"{name} line {index + 1}"
        assert len(duckdb[2][name]) == len(python[2][name])
    return python


PHQ = [f"phq9_{k}" for k in range(1, 10)]


@SETTINGS
@given(
    dataset(
        {**{i: choice_cell(FREQUENCY) for i in PHQ}, "phq9_10": choice_cell(DIFFICULTY)},
        max_rows=15,
    )
)
def test_phq9(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("phq")
    data = write_csv(tmp / "in.csv", [*PHQ, "phq9_10"], rows)
    compare(tmp, "phq-9", data)


GAD = [f"gad7_{k}" for k in range(1, 8)]


@SETTINGS
@given(dataset({i: choice_cell(FREQUENCY) for i in GAD}, max_rows=15))
def test_gad7(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("gad")
    data = write_csv(tmp / "in.csv", GAD, rows)
    compare(tmp, "gad-7", data)


def _neq_item():
    """Mostly consistent answers (yes with impact and cause, no with blanks), sometimes not."""
    consistent = st.one_of(
        st.tuples(
            choice_cell(YES_NO, ()).filter(lambda c: c.strip().lower() in ("1", "1.0", "yes")),
            choice_cell(IMPACT, ()),
            choice_cell(CAUSE, ()),
        ),
        st.just(("0", "", "")),
        st.just(("No", "", "")),
    )
    anything = st.tuples(choice_cell(YES_NO), choice_cell(IMPACT), choice_cell(CAUSE))
    return st.one_of(consistent, consistent, consistent, anything)


NEQ_IDS = [f"neq{k:02d}" for k in range(1, 21)]


@st.composite
def neq_rows(draw):
    items = {}
    for item in NEQ_IDS:
        yes, impact, cause = draw(_neq_item())
        items |= {
            item: st.just(yes),
            f"{item}_impact": st.just(impact),
            f"{item}_cause": st.just(cause),
        }
    items["other"] = st.sampled_from(["", "felt rushed", "-not sure", 'Ångest, "svår"'])
    return draw(dataset(items, max_rows=6))


@settings(SETTINGS, max_examples=15)
@given(neq_rows(), st.sampled_from(["csv", "jsonl"]))
def test_neq20(tmp_path_factory, cut, rows, fmt):
    """NEQ-20 has no change scores, so its CSV and JSON Lines files are scored in pieces."""
    tmp = tmp_path_factory.mktemp("neq")
    ids = [i.id for i in registry().instrument("neq-20").items]
    if fmt == "csv":
        data = write_csv(tmp / "in.csv", ids, rows)
    else:
        data = write_jsonl(tmp / "in.jsonl", ids, rows, native=False)
    compare(tmp, "neq-20", data)


ENGINE_ITEMS = {
    **{f"a{k}": choice_cell(AGREE) for k in range(1, 7)},
    "gate": choice_cell(YES_NO),
    "gate_how": choice_cell(AGREE),
    "gate_why": choice_cell(AGREE),
    "hours": st.sampled_from(["", "3", "2.5", "0", "24", "25", "x", "4,5", " 7 "]),
    "sup": st.sampled_from(["", "1", "1;3", "Family, Faith", "friends|3", "4", ";", "2"]),
    "sup_more": st.sampled_from(["", "St Mary", "  "]),
    "comment": st.sampled_from(["", "fine", "=cmd", "  ", "\u00a0"]),
}
ENGINE_IDS = list(ENGINE_ITEMS)


@SETTINGS
@given(dataset(ENGINE_ITEMS, max_rows=15))
def test_every_standard_rule(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("rules")
    definitions = write_instrument(tmp / "defs")
    data = write_csv(tmp / "in.csv", ENGINE_IDS, rows)
    compare(tmp, "engine-test", data, ("--instruments", definitions.parent))


@SETTINGS
@given(dataset(ENGINE_ITEMS, max_rows=12), st.booleans())
def test_json_lines_input(tmp_path_factory, rows, native):
    """JSON Lines with numbers as numbers (or everything as text): the same rows either way."""
    tmp = tmp_path_factory.mktemp("jsonl")
    definitions = write_instrument(tmp / "defs")
    data = write_jsonl(tmp / "in.jsonl", ENGINE_IDS, rows, native)
    compare(tmp, "engine-test", data, ("--instruments", definitions.parent))


@SETTINGS
@given(
    dataset({i: choice_cell(FREQUENCY) for i in GAD}, max_rows=10),
    st.lists(st.sampled_from(["blank", "short", "long", "long-empty", "quote-space"]), max_size=3),
)
def test_irregular_csv(tmp_path_factory, rows, oddities):
    """Blank lines, short and long rows, spaces before quotes: the rows DuckDB would read
    differently go through nefkit's own reader first, and still agree."""
    tmp = tmp_path_factory.mktemp("odd")
    data = write_csv(tmp / "in.csv", GAD, rows)
    lines = data.read_text(encoding="utf-8").splitlines()
    for k, oddity in enumerate(oddities):
        at = 1 + (k * 3) % len(lines)
        if oddity == "blank":
            lines.insert(at, "")
        elif oddity == "short" and at < len(lines):
            lines[at] = ",".join(lines[at].split(",")[:5])
        elif oddity == "long" and at < len(lines):
            lines[at] += ",extra"
        elif oddity == "long-empty" and at < len(lines):
            lines[at] += ",,"
        elif oddity == "quote-space" and at < len(lines) and lines[at].count(",") >= 3:
            cells = lines[at].split(",")
            cells[3] = ' "site"'
            lines[at] = ",".join(cells)
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    compare(tmp, "gad-7", data)
