"""Every failure a user can cause is one ``Error:`` line naming what failed and what to do, and
an output is written whole or not at all; a plugin that raises is named with its version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import nefkit
from nefkit.documents import Scores
from nefkit.readers import Table

DEMO = Path(__file__).parents[1] / "plugins" / "nefkit_demo" / "data"
PHQ = DEMO / "phq-9.csv"


def one_error_line(result) -> str:
    """The run failed with exactly one ``Error:`` line and no traceback; returns that line."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------------------------
# Outputs: a missing folder is said plainly; a failed writer leaves nothing behind


@pytest.mark.parametrize(
    "engine, suffix",
    [
        *(("python", s) for s in (".csv", ".json", ".txt", ".html", ".xlsx")),
        *(("duckdb", s) for s in (".csv", ".json", ".jsonl", ".parquet")),
    ],
)
def test_score_into_a_folder_that_does_not_exist(nefkit_cli, tmp_path, engine, suffix):
    target = tmp_path / "no-such-folder" / f"out{suffix}"
    line = one_error_line(nefkit_cli("score", "phq-9", PHQ, "-o", target, "--engine", engine))
    assert f"{target}: the folder {target.parent} does not exist" in line
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "command",
    [
        ["info-sheet", "neq-20", "-o", "{out}.html"],
        ["info-sheet", "neq-20", "-o", "{out}.txt"],
        ["template", "phq-9", "-o", "{out}.csv"],
        ["template", "phq-9", "-o", "{out}.xlsx"],
        ["codebook", "phq-9", "-o", "{out}.html"],
        ["export-definition", "phq-9", "-o", "{out}.xlsx"],
        ["analyze", "phq-9", str(PHQ), "-o", "{out}.html"],
        ["new", "calm-3", "-o", "{out}.toml"],
    ],
)
def test_every_writing_command_names_a_missing_folder(nefkit_cli, tmp_path, command):
    out = str(tmp_path / "missing" / "out")
    line = one_error_line(nefkit_cli(*(arg.replace("{out}", out) for arg in command)))
    assert f"the folder {tmp_path / 'missing'} does not exist" in line


def test_clinic_outputs_into_a_missing_folder(clinic_db, nefkit_cli, tmp_path):
    answers = [f"phq9_{i}=1" for i in range(1, 11)]
    for client in ("C1", "C2"):
        assert nefkit_cli("record", "phq-9", "--client", client, *answers).exit_code == 0
    missing = tmp_path / "missing"
    for command in (
        ["report", "--client", "C1", "-o", missing / "c1.html"],
        ["report", "--cohort", "--min-cell", "2", "-o", missing / "cohort.html"],
        ["db", "backup", missing / "backup.db"],
    ):
        assert f"the folder {missing} does not exist" in one_error_line(nefkit_cli(*command))


class HalfWayRenderer(nefkit.Renderer):
    """Writes part of its file and a side file, then fails, as a renderer with a bug would."""

    format = "halfway"
    extensions = (".half",)
    summary = "Fails half-way."
    writes = (Scores,)

    def write(self, document, path, options):
        with open(path, "w") as out:
            out.write("respondent_id,total\n")
            for n, row in enumerate(document.results[0].rows):
                if n == 3:
                    raise ValueError("cannot format this row")
                out.write(f"{row.respondent_id},\n")
        path.with_name("side.txt").write_text("side")


@pytest.fixture
def halfway(register_plugin):
    class Plugin:
        @nefkit.hookimpl
        def register_renderers(self, register):
            register(HalfWayRenderer())

    register_plugin(Plugin(), name="halfway", distribution="nefkit-halfway", version="1.2")


def test_a_renderer_that_fails_is_named_and_leaves_no_file(nefkit_cli, tmp_path, halfway):
    out = tmp_path / "scores.half"
    line = one_error_line(nefkit_cli("score", "phq-9", PHQ, "-o", out))
    assert line == (
        f"Error: renderer 'halfway' from nefkit-halfway 1.2 (plugin halfway) failed writing"
        f" {out}: ValueError: cannot format this row"
    )
    assert leftovers(tmp_path) == []  # no partial file, no staging folder


def test_an_existing_output_survives_a_failed_rewrite(nefkit_cli, tmp_path, halfway):
    out = tmp_path / "scores.half"
    out.write_text("last week's scores\n")
    one_error_line(nefkit_cli("score", "phq-9", PHQ, "-o", out))
    assert out.read_text() == "last week's scores\n"
    assert leftovers(tmp_path) == ["scores.half"]


def test_a_finished_output_replaces_the_old_one_with_its_side_files(nefkit_cli, tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text("old\n")
    result = nefkit_cli("score", "phq-9", PHQ, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("row,respondent_id,")
    assert leftovers(tmp_path) == [
        "scores-changes.csv",
        "scores-provenance.json",
        "scores.csv",
    ]


def test_debug_shows_the_traceback_behind_the_error(tmp_path):
    """NEFKIT_DEBUG=1 is what the error line tells a user to set for a bug report."""
    target = tmp_path / "missing" / "out.csv"
    env = {**os.environ, "NEFKIT_DEBUG": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "nefkit", "score", "phq-9", str(PHQ), "-o", str(target)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 1
    assert "Traceback" in run.stderr and "written_whole" in run.stderr
    assert run.stderr.rstrip().splitlines()[-1].startswith("Error: ")


# --------------------------------------------------------------------------------------------
# A plugin's rule or reader that raises


class FragileRule(nefkit.ScoringRule):
    """Fails on a total of exactly 5, a stand-in for a bug on some rows only."""

    name = "fragile"
    summary = "Fails on some rows."

    def output(self, score, params, instrument, outputs):
        return nefkit.Output("number", 0, 27, integer=True)

    def compute(self, values, params, names):
        total = sum(v or 0 for v in values)
        if total == 5:
            raise ZeroDivisionError("division by zero")
        return nefkit.ScoreValue(total, "complete", len(values))


class FragileChange(nefkit.ChangeRule):
    name = "fragile_change"
    summary = "Fails when the score went up."

    def classify(self, before, after, params):
        if after > before:
            raise KeyError("up")
        return "no reliable change"


FRAGILE = """\
id = "fragile"
version = "1.0"
title = "Uses a fragile rule"
citation = "Nobody (2026)."
licence = "Public domain."
source = "nefkit's test suite."

[scales.freq]
choices = [{ value = 0, label = "Never" }, { value = 1, label = "Sometimes" },
           { value = 2, label = "Often" }, { value = 3, label = "Always" }]

[[items]]
id = "a"
text = "A?"
scale = "freq"

[[items]]
id = "b"
text = "B?"
scale = "freq"

[[scores]]
id = "odd"
label = "Odd"
rule = "fragile"
items = ["a", "b"]
"""


@pytest.fixture
def fragile(register_plugin, tmp_path):
    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(FragileRule())
            register(FragileChange())

    register_plugin(Plugin(), name="fragile", distribution="nefkit-fragile", version="0.3")
    (tmp_path / "defs").mkdir()
    return tmp_path / "defs"


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_a_scoring_rule_that_raises_names_plugin_row_and_score(
    nefkit_cli, tmp_path, fragile, engine
):
    (fragile / "fragile.toml").write_text(FRAGILE)
    data = tmp_path / "data.csv"
    # a + b: 2, 4, 5 (row 4, which fails), 1
    data.write_text("respondent_id,a,b\nR1,1,1\nR2,2,2\nR3,3,2\nR4,1,0\n")
    result = nefkit_cli(
        "score",
        "fragile",
        data,
        "-o",
        tmp_path / "out.csv",
        "--engine",
        engine,
        "--instruments",
        fragile,
    )
    line = one_error_line(result)
    assert line.startswith(
        "Error: scoring rule 'fragile' from nefkit-fragile 0.3 (plugin fragile) failed on row 4,"
        " score 'odd': ZeroDivisionError: division by zero."
    ), line
    assert leftovers(tmp_path) == ["data.csv", "defs"]


def test_a_change_rule_that_raises_names_plugin_and_rows(nefkit_cli, tmp_path, fragile):
    (fragile / "fragile.toml").write_text(
        FRAGILE
        + '\n[[changes]]\nid = "odd_change"\nlabel = "Change"\nscore = "odd"\nrule = "fragile_change"\n'
    )
    data = tmp_path / "data.csv"
    data.write_text("respondent_id,session,a,b\nR1,1,1,1\nR1,2,0,0\nR1,3,2,2\n")
    line = one_error_line(
        nefkit_cli("score", "fragile", data, "-o", tmp_path / "out.csv", "--instruments", fragile)
    )
    assert line.startswith(
        "Error: change rule 'fragile_change' from nefkit-fragile 0.3 (plugin fragile) failed on"
        " rows 2 and 4, change 'odd_change' (2 to 4): KeyError: 'up'."
    ), line


class BrokenReader(nefkit.Reader):
    format = "broken"
    extensions = (".brk",)
    summary = "Fails on its third row."

    def read(self, path):
        def rows():
            yield 2, ["R1", *["0"] * 9]
            yield 3, ["R2", *["0"] * 9]
            raise UnicodeError("bad byte in row 4")

        return Table(str(path), ["respondent_id", *[f"phq9_{i}" for i in range(1, 10)]], rows())


def test_a_reader_that_raises_is_named(nefkit_cli, tmp_path, register_plugin):
    class Plugin:
        @nefkit.hookimpl
        def register_readers(self, register):
            register(BrokenReader())

    register_plugin(Plugin(), name="broken", distribution="nefkit-broken", version="2.0")
    data = tmp_path / "data.brk"
    data.write_text("whatever")
    line = one_error_line(nefkit_cli("score", "phq-9", data, "-o", tmp_path / "out.csv"))
    assert line == (
        f"Error: reader 'broken' from nefkit-broken 2.0 (plugin broken) failed reading {data}:"
        " UnicodeError: bad byte in row 4"
    )
    assert leftovers(tmp_path) == ["data.brk"]


def test_an_unexpected_failure_is_one_line_saying_how_to_report_it(nefkit_cli, monkeypatch):
    """The last resort: a bug nobody foresaw still ends in one line, not a traceback."""

    def bug(*args, **kwargs):
        raise AttributeError("'NoneType' object has no attribute 'items'")

    monkeypatch.setattr("nefkit.definitions.describe.describe_instrument", bug)
    line = one_error_line(nefkit_cli("show", "phq-9"))
    assert line == (
        "Error: nefkit failed unexpectedly (AttributeError: 'NoneType' object has no attribute"
        " 'items'). Run it again with NEFKIT_DEBUG=1 to see where, and report it with that output"
    )


# --------------------------------------------------------------------------------------------
# The terminal and the database


def test_uninstall_without_a_terminal_asks_for_yes(nefkit_cli):
    result = nefkit_cli("uninstall", "nefkit-something")
    assert result.exit_code == 2
    assert "add --yes" in result.output and "Traceback" not in result.output


def test_output_cut_short_by_its_reader_stops_quietly(tmp_path):
    run = subprocess.run(
        f"{sys.executable} -m nefkit show neq-32 | head -1",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert run.stdout.count("\n") == 1
    assert run.stderr == ""


def make_read_only(path: Path) -> None:
    """Read-only even for root (CI runs as root, for whom permissions are no barrier)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    subprocess.run(["chattr", "+i", str(path)], check=True)


def undo_read_only(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    path.chmod(0o644)


def test_a_read_only_database_is_read_and_not_written(nefkit_cli, clinic_db):
    db = clinic_db
    answers = [f"phq9_{i}=1" for i in range(1, 11)]
    assert nefkit_cli("record", "phq-9", "--client", "C1", *answers).exit_code == 0
    before = db.read_bytes()
    make_read_only(db)
    try:
        assert "PHQ-9 total: 9" in nefkit_cli("history", "--client", "C1").output
        for command in (
            ["record", "phq-9", "--client", "C2", *answers],
            ["alerts", "--ack", "1", "--note", "seen"],
            ["db", "erase", "--client", "C1", "--reason", "request", "--yes"],
        ):
            line = one_error_line(nefkit_cli(*command))
            assert line.startswith(f"Error: {db} is read-only, so nothing was written;"), line
    finally:
        undo_read_only(db)
    assert db.read_bytes() == before
