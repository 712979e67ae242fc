"""A definition in several languages: every text checked, and --lang choosing one."""

from __future__ import annotations

import os
import sys

import pexpect

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


def test_scoring_german_labels_with_lang(nefkit_cli, tmp_path):
    directory = write(tmp_path)
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


def test_administering_in_german(tmp_path):
    directory = write(tmp_path)
    env = {**os.environ, "NEFKIT_DB": str(tmp_path / "c.db"), "NEFKIT_LOAD_PLUGINS": ""}
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
