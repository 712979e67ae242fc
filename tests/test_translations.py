"""A definition in several languages: every text checked, and --lang choosing one."""

from __future__ import annotations

import csv
import os
import sys

import pexpect
import pytest

import nefkit

BILINGUAL = """\
id = "mood-2"
version = "1"
title = "Two mood questions"
citation = "Test."
licence = "Test."
source = "Test."
languages = ["en", "de"]
instructions = "Over the last week:"

[scales.often]
choices = [{ value = 0, label = "Never" }, { value = 1, label = "Sometimes" }, { value = 2, label = "Often" }]

[[items]]
id = "low"
text = "I felt low."
scale = "often"

[[items]]
id = "worse"
text = "Did anything get worse?"
type = "yes_no"

[[scores]]
id = "total"
label = "Total"
rule = "sum"
items = ["low", "worse"]

[translations.de]
title = "Zwei Fragen zur Stimmung"
instructions = "In der letzten Woche:"
items = { low = "Ich war niedergeschlagen.", worse = "Ist etwas schlechter geworden?" }
scales = { often = ["Nie", "Manchmal", "Oft"] }
yes_no = ["Nein", "Ja"]
"""


def write(tmp_path, text=BILINGUAL):
    directory = tmp_path / "mine"
    directory.mkdir(exist_ok=True)
    (directory / "mood-2.toml").write_text(text)
    return directory


def test_a_complete_translation_validates(tmp_path):
    assert nefkit.validate(write(tmp_path) / "mood-2.toml") == []


def test_every_declared_language_needs_every_text(tmp_path):
    text = BILINGUAL.replace(', worse = "Ist etwas schlechter geworden?"', "")
    text = text.replace('["Nie", "Manchmal", "Oft"]', '["Nie", "Oft"]').replace(
        'yes_no = ["Nein", "Ja"]\n', ""
    )
    text = text.replace('languages = ["en", "de"]', 'languages = ["en", "de", "fr"]')
    problems = [
        (p.where, p.message) for p in nefkit.validate(write(tmp_path, text) / "mood-2.toml")
    ]
    assert problems == [
        ("translations", "'fr' is in languages but there is no [translations.fr]"),
        ("translations › de", "1 items have no de text: worse"),
        ("translations › de", "scale 'often' has 3 answers but 2 de labels"),
        ("translations › de", 'give the de words for No and Yes: yes_no = ["…", "…"]'),
    ]


def test_the_translated_instrument_keeps_its_definitions_identity(tmp_path):
    registry = nefkit.get_registry([write(tmp_path)])
    english = registry.instrument("mood-2")
    german = english.in_language("de")
    assert german.title == "Zwei Fragen zur Stimmung"
    assert german.choices(german.item_map["worse"]) == ((0, "Nein"), (1, "Ja"))
    assert german.content_hash == english.content_hash


def test_scoring_german_labels_with_lang(nefkit_cli, tmp_path, make_clinic_db):
    directory = write(tmp_path)
    make_clinic_db(tmp_path / "c.db")
    data = tmp_path / "de.csv"
    data.write_text("respondent_id,low,worse\nP1,Oft,Ja\n")
    result = nefkit_cli(
        "record",
        "mood-2",
        "--file",
        data,
        "--lang",
        "de",
        "--instruments",
        directory,
        "--db",
        tmp_path / "c.db",
    )
    assert result.exit_code == 0, result.output
    assert "Zwei Fragen zur Stimmung: client P1" in result.output and "Total: 3" in result.output
    unknown = nefkit_cli(
        "record",
        "mood-2",
        "--file",
        data,
        "--lang",
        "fr",
        "--instruments",
        directory,
        "--db",
        tmp_path / "c.db",
    )
    assert (
        unknown.exit_code == 1
        and "mood-2 is not available in 'fr'; it has en, de" in unknown.output
    )


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_scoring_and_analysing_a_german_file_with_lang(nefkit_cli, tmp_path, engine):
    """German labels score with --lang de, and only with it."""
    directory = write(tmp_path)
    data = tmp_path / "de.csv"
    data.write_text("respondent_id,low,worse\nP1,Oft,Ja\nP2,nie,Nein\n")
    common = ("--instruments", directory)
    out = tmp_path / "out.csv"
    result = nefkit_cli(
        "score", "mood-2", data, "-o", out, "--engine", engine, "--lang", "de", *common
    )
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8", newline="") as handle:
        assert [(r["respondent_id"], r["total"]) for r in csv.DictReader(handle)] == [
            ("P1", "3"),
            ("P2", "0"),
        ]
    english = nefkit_cli("score", "mood-2", data, "-o", out, "--engine", engine, *common)
    assert english.exit_code == 1 and "Oft" in english.output
    analysed = nefkit_cli(
        "analyze", "mood-2", data, "-o", tmp_path / "a.html", "--lang", "de", *common
    )
    assert analysed.exit_code == 0, analysed.output
    assert "Analysed 2 administrations" in analysed.output and "problems" not in analysed.output


def test_template_and_show_in_german(nefkit_cli, tmp_path):
    from openpyxl import load_workbook

    directory = write(tmp_path)
    template = tmp_path / "t.xlsx"
    result = nefkit_cli(
        "template", "mood-2", "-o", template, "--lang", "de", "--instruments", directory
    )
    assert result.exit_code == 0, result.output
    lists = {v.formula1 for v in load_workbook(template)["Entry"].data_validations.dataValidation}
    assert '"Nie,Manchmal,Oft"' in lists and '"Nein,Ja"' in lists
    shown = nefkit_cli("show", "mood-2", "--lang", "de", "--instruments", directory)
    assert shown.exit_code == 0 and "Zwei Fragen zur Stimmung" in shown.output
    assert "Ich war niedergeschlagen." in shown.output


def test_administering_in_german(tmp_path, make_clinic_db):
    directory = write(tmp_path)
    db = make_clinic_db(tmp_path / "c.db")
    env = {**os.environ, "NEFKIT_DB": str(db), "NEFKIT_LOAD_PLUGINS": ""}
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "nefkit",
            "administer",
            "mood-2",
            "--client",
            "P2",
            "--lang",
            "de",
            "--instruments",
            str(directory),
            "--no-handback",
        ],
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect_exact("In der letzten Woche:")
    child.expect_exact("Ich war niedergeschlagen.")
    child.expect_exact("Manchmal")
    child.expect_exact("Your answer: ")
    child.sendline("manchmal")
    child.expect_exact("Ist etwas schlechter geworden?")
    child.expect_exact("Your answer: ")
    child.sendline("Nein")
    child.expect_exact("press Enter to finish: ")
    child.sendline("")
    child.expect_exact("Total: 1")
    child.expect(pexpect.EOF)
