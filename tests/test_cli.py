"""The ``nefkit`` command line as a researcher uses it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import nefkit
from nefkit.cli import cli
from nefkit.registry import DefinitionWarning

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_IDS = ["gad-7", "neq-20", "neq-32", "phq-9", "therapy-reflection"]

MY_SCALE = textwrap.dedent(
    """\
    id = "{id}"
    version = "0.9"
    title = "My own scale"
    citation = "Me (2026). My own scale."
    licence = "Mine; ask first."
    source = "Written for nefkit's tests."

    [[items]]
    id = "felt_worse"
    text = "Did you feel worse after a session?"
    type = "yes_no"
    """
)


def invoke(*args: str, **kwargs):
    """Run the CLI; an uncaught exception (a traceback for the user) fails the test."""
    result = CliRunner().invoke(cli, list(args), **kwargs)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"nefkit {' '.join(args)} crashed:\n{result.output}") from (
            result.exception
        )
    assert "Traceback" not in result.output
    return result


def instrument_ids(*args: str) -> list[str]:
    result = invoke("instruments", "--json", *args)
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)]


@pytest.fixture
def my_dir(tmp_path) -> Path:
    directory = tmp_path / "my-instruments"
    directory.mkdir()
    (directory / "my-scale.toml").write_text(MY_SCALE.format(id="my-scale"))
    return directory


# --------------------------------------------------------------------------------------------
# Help


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(name):
    command = cli.commands[name]
    assert command.help and command.help.strip(), f"nefkit {name} has no help text"
    assert command.get_short_help_str().strip()
    result = invoke(name, "--help")
    assert result.exit_code == 0
    usage = result.output.splitlines()[0]
    assert usage.startswith("Usage: ") and f" {name}" in usage
    first_line = command.help.strip().splitlines()[0]
    assert " ".join(first_line.split()) in " ".join(result.output.split())


def test_top_level_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for name in cli.commands:
        assert f"  {name} " in result.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output == f"nefkit, version {nefkit.__version__}\n"


# --------------------------------------------------------------------------------------------
# instruments, show, schema


def test_instruments_json_lists_the_bundled_instruments():
    result = invoke("instruments", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [row["id"] for row in rows] == BUNDLED_IDS
    phq9 = next(row for row in rows if row["id"] == "phq-9")
    assert phq9["items"] == 10
    assert phq9["title"] == "Patient Health Questionnaire-9 (PHQ-9)"
    assert phq9["from"] == f"nefkit {nefkit.__version__} (built-in plugin instruments)"


def test_instruments_text_lists_one_line_each():
    result = invoke("instruments")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == BUNDLED_IDS
    assert "Patient Health Questionnaire-9 (PHQ-9) (version 1.0.0, 10 questions)" in result.output


def test_show_gives_citation_licence_and_items():
    phq9 = nefkit.get_registry().instrument("phq-9")
    result = invoke("show", "phq-9")
    assert result.exit_code == 0
    text = " ".join(result.output.split())  # the description is wrapped to the terminal
    assert "Citation:" in result.output and "Licence and permitted use:" in result.output
    assert " ".join(phq9.citation.split()) in text
    assert " ".join(phq9.licence.split()) in text
    assert "Kroenke K, Spitzer RL, Williams JBW (2001)" in text
    assert "No permission required to reproduce, translate, display or distribute." in text
    assert "Items (10):" in result.output
    for item in phq9.items:
        assert f"{item.id}: {' '.join(item.text.split())}" in text
    assert phq9.content_hash in result.output


def test_show_json_includes_the_content_hash():
    phq9 = nefkit.get_registry().instrument("phq-9")
    result = invoke("show", "phq-9", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["id"] == "phq-9"
    assert data["content_hash"] == phq9.content_hash
    assert data["content_hash"].startswith("sha256:")
    assert data["citation"] == phq9.citation
    assert data["licence"] == phq9.licence
    assert [item["id"] for item in data["items"]] == [f"phq9_{i}" for i in range(1, 11)]


def test_show_names_the_plugin_behind_each_rule(nefkit_register, tmp_path):
    from nefkit_rules.aggregate import SumRule

    class MySum(SumRule):  # a third party's rule, under its own name
        name = "my_sum"

    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(MySum())

    nefkit_register(Plugin(), name="my-sum", distribution="nefkit-mysum", version="1.2")
    definition = (DEFINITIONS / "phq-9.toml").read_text(encoding="utf-8")
    mine = definition.replace('rule = "sum"', 'rule = "my_sum"', 1)
    (tmp_path / "phq-9-mine.toml").write_text(mine.replace('id = "phq-9"', 'id = "phq-9-mine"', 1))
    result = invoke("show", "phq-9-mine", "--instruments", str(tmp_path))
    assert result.exit_code == 0, result.output
    scores = result.output.split("Scores:")[1].split("Flags:")[0]
    total, severity, _ = re.split(r"\n  (?=\S)", scores)[1:]
    assert "rule from nefkit-mysum 1.2" in total
    assert "rule from nefkit 0.1.0 (built-in plugin rules)" in severity
    data = json.loads(invoke("show", "phq-9-mine", "--json", "--instruments", str(tmp_path)).stdout)
    assert data["rules"]["my_sum"].startswith("nefkit-mysum 1.2")
    assert set(data["rules"]) == {"my_sum", "bands", "threshold", "reliable_change"}


def test_show_an_unknown_instrument():
    result = invoke("show", "nosuch")
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown instrument 'nosuch'.")
    assert "Known: gad-7, neq-20, neq-32, phq-9, therapy-reflection." in result.output
    assert "Did you mean" not in result.output


@pytest.mark.parametrize("typo, meant", [("phq9", "phq-9"), ("gad7", "gad-7"), ("neq20", "neq-20")])
def test_show_suggests_a_near_miss(typo, meant):
    result = invoke("show", typo)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: unknown instrument '{typo}'. Did you mean '{meant}'?")


def test_schema_is_json_schema_of_the_definition_format():
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert {"id", "version", "title", "citation", "licence", "source", "items", "scores"} <= set(
        schema["properties"]
    )
    assert {"id", "version", "title", "citation", "licence", "source"} <= set(schema["required"])
    assert schema.get("additionalProperties") is False  # unknown keys are errors


DEFINITIONS = Path(__file__).resolve().parents[1] / "plugins/nefkit_instruments/definitions"


@pytest.fixture(scope="module")
def validator():
    """An independent JSON Schema validator over ``nefkit schema``, as an editor would use it."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(invoke("schema").stdout)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", sorted(DEFINITIONS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_definition_meets_the_schema(validator, path):
    import tomllib

    assert list(validator.iter_errors(tomllib.loads(path.read_text(encoding="utf-8")))) == []


@pytest.mark.parametrize(
    "params, wrong",
    [
        ({"maxmissing": 1}, "'maxmissing' was unexpected"),  # a typo of max_missing
        ({"max_missing": "1"}, "'1' is not of type 'integer'"),
        (
            {"max_missing": 1, "reverse": {"items": ["a"], "lo": 0, "high": 3}},
            "'lo' was unexpected",
        ),
    ],
)
def test_the_schema_checks_params_by_the_rule_named(validator, params, wrong):
    import tomllib

    definition = tomllib.loads((DEFINITIONS / "phq-9.toml").read_text(encoding="utf-8"))
    definition["scores"][0] = {**definition["scores"][0], "rule": "prorated_sum", "params": params}
    errors = list(validator.iter_errors(definition))
    messages = [e.message for error in errors for e in (error, *error.context)]
    assert any(wrong in message for message in messages), messages
    # The same parameters under a rule that takes them are fine: it is the rule that decides.
    definition["scores"][0]["params"] = {"max_missing": 1}
    assert list(validator.iter_errors(definition)) == []


def test_an_unknown_parameter_error_lists_what_the_rule_takes(tmp_path):
    text = (DEFINITIONS / "phq-9.toml").read_text(encoding="utf-8")
    path = tmp_path / "phq-9-custom.toml"
    path.write_text(text.replace('rule = "sum"', 'rule = "sum"\nparams = { maxmissing = 1 }', 1))
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert (
        "score \"total\" › params › maxmissing: unknown parameter 'maxmissing'"
        " (rule 'sum' takes reverse)"
    ) in result.output


# --------------------------------------------------------------------------------------------
# A researcher's own definitions


def test_instruments_option_adds_my_definitions(my_dir):
    assert "my-scale" not in instrument_ids()
    assert instrument_ids("--instruments", str(my_dir)) == sorted([*BUNDLED_IDS, "my-scale"])
    rows = json.loads(invoke("instruments", "--json", "--instruments", str(my_dir)).stdout)
    mine = next(row for row in rows if row["id"] == "my-scale")
    assert mine["from"] == f"your file {my_dir / 'my-scale.toml'}"


def test_instruments_option_takes_a_file_too(my_dir):
    assert "my-scale" in instrument_ids("--instruments", str(my_dir / "my-scale.toml"))


def test_show_uses_my_definitions(my_dir):
    result = invoke("show", "my-scale", "--instruments", str(my_dir))
    assert result.exit_code == 0
    assert "felt_worse: Did you feel worse after a session?" in result.output
    assert "Mine; ask first." in result.output


def test_instruments_path_environment_variable(my_dir, tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    (other / "another.toml").write_text(MY_SCALE.format(id="another-scale"))
    monkeypatch.setenv("NEFKIT_INSTRUMENTS_PATH", os.pathsep.join([str(my_dir), str(other)]))
    assert instrument_ids() == sorted([*BUNDLED_IDS, "my-scale", "another-scale"])
    result = invoke("show", "another-scale", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["from"] == f"your file {other / 'another.toml'}"


def test_an_instruments_path_that_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("NEFKIT_INSTRUMENTS_PATH", str(tmp_path / "nowhere"))
    result = invoke("instruments")
    assert result.exit_code == 1
    assert result.output == f"Error: instrument path {tmp_path / 'nowhere'} does not exist\n"


def test_an_invalid_file_of_mine_is_a_warning_and_the_rest_works(my_dir, monkeypatch):
    (my_dir / "broken.toml").write_text(MY_SCALE.format(id="broken").replace("yes_no", "yes-no"))
    monkeypatch.setenv("NEFKIT_INSTRUMENTS_PATH", str(my_dir))
    with pytest.warns(DefinitionWarning) as caught:
        ids = instrument_ids()
    assert ids == sorted([*BUNDLED_IDS, "my-scale"])
    [warning] = caught
    message = str(warning.message)
    assert message.startswith(f"{my_dir / 'broken.toml'} was left out because it has errors")
    assert f"nefkit validate {my_dir / 'broken.toml'}" in message
    assert 'item "felt_worse" › type' in message


def test_my_definition_with_a_bundled_id_names_both_origins(my_dir):
    (my_dir / "my-phq.toml").write_text(MY_SCALE.format(id="phq-9"))
    result = invoke("instruments", "--instruments", str(my_dir))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: instrument 'phq-9' is registered twice: by nefkit {nefkit.__version__} "
        f"(built-in plugin instruments) and by your file {my_dir / 'my-phq.toml'}. "
        "Uninstall one, or leave one out with NEFKIT_DISABLE_PLUGINS.\n"
    )


def test_two_of_my_files_with_one_id(my_dir):
    (my_dir / "copy.toml").write_text(MY_SCALE.format(id="my-scale"))
    result = invoke("instruments", "--instruments", str(my_dir))
    assert result.exit_code == 1
    assert f"by your file {my_dir / 'copy.toml'}" in result.output
    assert f"by your file {my_dir / 'my-scale.toml'}" in result.output


# --------------------------------------------------------------------------------------------
# As a real process: messages for people, never tracebacks


def run_nefkit(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nefkit", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=60,
    )


def test_process_unknown_instrument_is_a_plain_error():
    process = run_nefkit("show", "nosuch")
    assert process.returncode == 1
    assert process.stderr.startswith("Error: unknown instrument 'nosuch'.")
    assert "Traceback" not in process.stderr + process.stdout
    assert process.stdout == ""


def test_process_broken_definition_is_a_plain_warning(tmp_path, my_dir):
    (my_dir / "broken.toml").write_text(MY_SCALE.format(id="broken").replace("yes_no", "yes-no"))
    process = run_nefkit("instruments", NEFKIT_INSTRUMENTS_PATH=str(my_dir))
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr + process.stdout
    warnings = [line for line in process.stderr.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        f"Warning: {my_dir / 'broken.toml'} was left out because it has errors "
        f"(run nefkit validate {my_dir / 'broken.toml'}):"
    ]
    assert "registry.py" not in process.stderr  # no file names from inside nefkit
    assert "my-scale" in process.stdout and "phq-9" in process.stdout
