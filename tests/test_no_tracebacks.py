"""Every command, given bad arguments and bad files, ends in one ``Error:`` line (exit 1) or a
usage message (exit 2), never a traceback. A new command fails this test until it has cases."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from nefkit.cli import cli

DEMO = Path(__file__).parents[1] / "plugins" / "nefkit_demo" / "data"
PHQ_ANSWERS = [f"phq9_{i}=1" for i in range(1, 11)]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Bad files of every kind a user might hand nefkit, and a clinic with one form."""
    made = {
        "random.csv": os.urandom(4000),
        "random.xlsx": os.urandom(4000),
        "random.jsonl": os.urandom(4000),
        "random.parquet": os.urandom(4000),
        "random.toml": os.urandom(4000),
        "latin1.csv": "respondent_id,phq9_1\nR1,caf\xe9\n".encode("latin-1"),
        "latin1.jsonl": '{"respondent_id": "caf\xe9"}\n'.encode("latin-1"),
        "empty.csv": b"",
        "header-only.csv": b"respondent_id\n",
        "no-id.csv": b"client,phq9_1\nR1,1\n",
        "ragged.csv": b'respondent_id,phq9_1\nR1,1,2,3\n"R2,1\n',
        "broken.toml": b'id = "x"\nversion = [\n',
        "empty.toml": b"",
        "not-json.jsonl": b"{not json}\n[1, 2]\n",
        "zip.xlsx": b"",
        "not-sqlite.db": b"hello, I am not a database" * 100,
    }
    paths = {}
    for name, content in made.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(content)
    with zipfile.ZipFile(paths["zip.xlsx"], "w") as archive:
        archive.writestr("hello.txt", "a zip that is not a workbook")
    paths["folder"] = tmp_path / "folder"
    paths["folder"].mkdir()
    paths["missing"] = tmp_path / "missing" / "out.csv"
    paths["db"] = tmp_path / "clinic.db"
    return paths


# Each command with the ways a user gets it wrong; {name} is a file from the fixture.
CASES: dict[str, list[list[str]]] = {
    "administer": [
        ["no-such-instrument", "--client", "C1"],
        ["phq-9", "--client", "C1", "--expected", "{broken.toml}"],
        ["phq-9"],
        ["phq-9", "--client", "C1", "--db", "{not-sqlite.db}"],
        ["phq-9", "--client", "C1", "--session", "first"],
        ["phq-9", "--client", "C1", "--context", "no-equals-sign"],
    ],
    "alerts": [["--db", "{not-sqlite.db}"], ["--ack", "999", "--note", "x"], ["--ack", "x"]],
    "analyze": [
        ["phq-9", "{random.csv}", "-o", "{folder}/a.html"],
        ["phq-9", "{empty.csv}", "-o", "{folder}/a.html"],
        ["phq-9", "{zip.xlsx}", "-o", "{folder}/a.html"],
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}/a.nope"],
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{missing}"],
    ],
    "clients": [["--db", "{not-sqlite.db}"], ["--db", "{folder}"]],
    "codebook": [["no-such", "-o", "{folder}/c.html"], ["phq-9", "-o", "{folder}/c.nope"]],
    "correct": [
        ["999", "phq9_1=1", "--reason", "r"],
        ["1", "phq9_1=7", "--reason", "r"],
        ["1", "nonsense", "--reason", "r"],
        ["1", "phq9_1=1"],
    ],
    "db": [
        ["init", "{not-sqlite.db}"],
        ["init", "{random.csv}/clinic.db"],
        ["check", "--db", "{random.csv}"],
        ["audit", "--since", "last week"],
        ["audit", "--db", "{missing}"],
        ["backup", "{not-sqlite.db}"],
        ["backup", "{missing}"],
        ["export", "{not-sqlite.db}"],
        ["erase", "--client", "nobody", "--reason", "r", "--yes"],
        ["erase", "--client", "C1", "--yes"],
        ["erase", "--finish", "--client", "C1"],
        ["vacuum"],
        ["expected", "--stop", "phq-9", "total"],
        ["expected", "--stop", "phq-9"],
    ],
    "demo": [["-o", "{not-sqlite.db}"]],
    "export-definition": [["no-such", "-o", "{folder}/d.xlsx"], ["phq-9", "-o", "{missing}"]],
    "history": [["--client", "nobody"], ["--db", "{random.csv}", "--client", "C1"]],
    "import-definition": [
        ["{random.xlsx}"],
        ["{zip.xlsx}"],
        ["{random.csv}"],
        ["{folder}"],
        ["no-such-file.xlsx"],
    ],
    "info-sheet": [["neq-20", "-o", "{folder}/s.nope"], ["neq-20", "-o", "{missing}"]],
    "install": [[]],
    "instruments": [["--instruments", "no-such-folder"], ["--json", "extra"]],
    "new": [["Bad Id!"], ["calm-3", "-o", "{random.toml}"], ["calm-3", "-o", "{missing}"]],
    "plugins": [["--bogus"]],
    "record": [
        ["phq-9", "--client", "C1", "phq9_1=7"],
        ["phq-9", "--client", "C2", *PHQ_ANSWERS, "--expected", "{random.toml}"],
        ["phq-9", "--client", "C2", *PHQ_ANSWERS, "--expected", "{empty.toml}"],
        ["phq-9", "--client", "C2", *PHQ_ANSWERS, "--expected", "{missing}"],
        ["phq-9", "--client", "C1", "--file", "{random.csv}"],
        ["phq-9", "--client", "C1", "--file", "{zip.xlsx}"],
        ["phq-9", "--file", "{latin1.csv}"],
        ["phq-9", "--client", "C1", "--date", "01/10/2026", *PHQ_ANSWERS],
        ["phq-9", "--client", "C1", "--db", "{not-sqlite.db}", *PHQ_ANSWERS],
    ],
    "report": [
        [],
        ["--client", "nobody", "-o", "{folder}/r.html"],
        ["--cohort", "-o", "{folder}/r.nope"],
        ["--client", "C1", "-o", "{missing}"],
        ["--cohort", "--client", "C1", "-o", "{folder}/r.html"],
    ],
    "schema": [["extra"]],
    "score": [
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}/s.csv", "--expected", "{random.toml}"],
        [
            "phq-9",
            str(DEMO / "phq-9.csv"),
            "-o",
            "{folder}/s.html",
            "--respondent",
            "C005",
            "--expected",
            "{broken.toml}",
        ],
        ["no-such", str(DEMO / "phq-9.csv"), "-o", "{folder}/o.csv"],
        ["phq-9", "no-such.csv", "-o", "{folder}/o.csv"],
        *(
            ["phq-9", "{" + name + "}", "-o", "{folder}/o.csv", "--engine", engine]
            for name in (
                "random.csv",
                "random.xlsx",
                "random.jsonl",
                "latin1.csv",
                "latin1.jsonl",
                "empty.csv",
                "header-only.csv",
                "no-id.csv",
                "ragged.csv",
                "not-json.jsonl",
                "zip.xlsx",
            )
            for engine in ("python", "duckdb")
            if not (engine == "duckdb" and name.endswith(".xlsx"))
        ),
        ["phq-9", "{random.parquet}", "-o", "{folder}/o.csv"],
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}/o.nope"],
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{missing}"],
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}"],
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}/o.html", "--by", "nope"],
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}/o.csv", "--engine", "fast"],
        ["phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}/o.csv", "--lang", "xx"],
    ],
    "show": [["no-such"], ["phq-9", "--lang", "xx"]],
    "sql": [["phq-9", "--dialect", "oracle"], ["no-such", "--dialect", "duckdb"]],
    "template": [["phq-9", "-o", "{folder}/t.nope"], ["phq-9", "-o", "{missing}"]],
    "uninstall": [["nefkit-something"]],
    "validate": [
        ["{random.toml}"],
        ["{broken.toml}"],
        ["{empty.toml}"],
        ["{folder}"],
        ["no-such-file.toml"],
    ],
    "void": [["999", "--reason", "r"], ["1"]],
    "invite": [
        ["no-such", "--client", "C1"],
        ["phq-9"],
        ["phq-9", "--client", "C1", "--expires", "forever"],
        ["phq-9", "--client", "C1", "--layout", "scroll"],
        ["phq-9", "--client", "C1", "--qr", "{missing}"],
        ["phq-9", "--client", "C1", "--db", "{not-sqlite.db}"],
        ["phq-9", "--client", "C1", "--lang", "xx"],
    ],
    "serve": [
        ["--host", "0.0.0.0"],
        ["--db", "{not-sqlite.db}"],
        ["--certfile", "{random.csv}"],
        ["--port", "0"],
    ],
    "trajectories": [
        ["fit", "phq-9", "{random.csv}", "-o", "{folder}/e.toml"],
        ["fit", "gad-7", str(DEMO / "phq-9.csv"), "-o", "{folder}/e.toml"],
        ["fit", "phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}/e.toml", "--score", "x"],
        ["fit", "phq-9", str(DEMO / "phq-9.csv"), "-o", "{missing}"],
        ["fit", "phq-9", str(DEMO / "phq-9.csv"), "-o", "{folder}/e.toml", "--percentiles", "a"],
        ["fit", "neq-20", str(DEMO / "neq-20.csv"), "-o", "{folder}/e.toml"],
    ],
    "user": [
        ["add", "bad name!"],
        ["add", "dr-x", "--db", "{not-sqlite.db}"],
        ["password", "nobody"],
        ["frobnicate"],
    ],
}


def test_every_command_has_cases():
    assert sorted(CASES) == sorted(cli.commands)


@pytest.mark.parametrize(
    "args", [[name, *args] for name, cases in CASES.items() for args in cases], ids=" ".join
)
def test_bad_input_is_an_error_line_not_a_traceback(args, files, monkeypatch):
    monkeypatch.setenv("NEFKIT_DB", str(files["db"]))
    monkeypatch.setenv("NEFKIT_USER", "dr-test")
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "init", str(files["db"])]).exit_code == 0
    setup = runner.invoke(cli, ["record", "phq-9", "--client", "C1", *PHQ_ANSWERS])
    assert setup.exit_code == 0, setup.output
    filled = [re.sub(r"\{([^}]+)\}", lambda m: str(files[m[1]]), arg) for arg in args]
    result = runner.invoke(cli, filled)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r}\n{result.output}"
    )
    assert "Traceback" not in result.output
    assert "failed unexpectedly" not in result.output  # a mistake of the user's is foreseen
    assert result.exit_code in (1, 2), result.output
    assert "Error" in result.output, result.output
    if result.exit_code == 1:
        last = result.output.rstrip().splitlines()[-1]
        assert last.startswith("Error: "), result.output


def test_the_cases_reach_every_subcommand_of_user():
    assert {case[0] for case in CASES["user"]} >= set(cli.commands["user"].commands)


def test_the_cases_reach_every_subcommand_of_db():
    db = cli.commands["db"]
    assert isinstance(db, click.Group)
    assert {case[0] for case in CASES["db"]} >= set(db.commands)
