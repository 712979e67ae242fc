"""Text from instruments, data files and the clinic's records reaches a terminal as text: control
characters and bidi controls are refused in definitions and shown as escapes everywhere else.
(``nefkit administer`` in a real terminal: tests/test_administer.py.)"""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest

from nefkit.clinic.sqlite import open_store

# A third party's definition: TOML escapes, as such a file would carry them.
HOSTILE = r"""
id = "hostile"
version = "1"
title = "Calm check\u001b]0;pwned\u0007"
citation = "x"
licence = "x"
source = "x"
instructions = "Answer each question.\nTake your time.\tThere is no hurry."

[scales.agree]
choices = [
  { value = 0, label = "No\u001b[1A\u001b[2K" },
  { value = 1, label = "Yes\u001b[8m" },
  { value = 2, label = "Maybe \u202eseY" },
]

[[items]]
id = "calm"
text = "\u001b[2JI felt calm"
scale = "agree"

[[scores]]
id = "total"
label = "Total"
rule = "sum"
items = ["calm"]
"""
CONTROLS = ("\x1b", "\x07", "\u202e")


def shows_no_controls(text: str) -> bool:
    return not any(control in text for control in CONTROLS)


@pytest.fixture
def hostile(tmp_path):
    path = tmp_path / "hostile.toml"
    path.write_text(HOSTILE, encoding="utf-8")
    return path


def test_validate_names_each_field_holding_a_control_character(nefkit_cli, hostile):
    result = nefkit_cli("validate", hostile)
    assert result.exit_code == 1
    for where, found in (
        ("title", r"\x07, \x1b"),
        ('item "calm" › text', r"\x1b"),
        ('scale "agree" › choice #1 › label', r"\x1b"),
        ('scale "agree" › choice #2 › label', r"\x1b"),
        ('scale "agree" › choice #3 › label', r"\u202e"),
    ):
        assert (
            f"error: {hostile}: {where}: holds control or bidirectional-text characters ({found})"
            in result.output
        )
    assert "instructions" not in result.output  # line breaks and tabs are layout
    assert f"{hostile}: 5 errors" in result.output
    assert shows_no_controls(result.output)


def test_a_definition_with_control_characters_is_not_loaded(hostile):
    done = subprocess.run(
        [sys.executable, "-m", "nefkit", "show", "hostile", "--instruments", str(hostile)],
        capture_output=True,
        text=True,
        env={**os.environ, "NEFKIT_LOAD_PLUGINS": ""},
        timeout=60,
    )
    assert done.returncode == 1
    assert f"Warning: {hostile} was left out because it has errors" in done.stderr
    assert f'{hostile}: scale "agree" › choice #3 › label: holds control' in done.stderr
    assert done.stderr.endswith(
        "Error: unknown instrument 'hostile'. Known: gad-7, neq-20,"
        " neq-32, phq-9, therapy-reflection.\n"
    )
    assert shows_no_controls(done.stdout + done.stderr)


def test_an_unknown_key_is_named_as_text(nefkit_cli, tmp_path):
    path = tmp_path / "keys.toml"
    path.write_text(
        HOSTILE.replace('source = "x"', 'source = "x"\n"\\u001b[2J" = 1'), encoding="utf-8"
    )
    result = nefkit_cli("validate", path)
    assert result.exit_code == 1
    assert r"unknown key '\x1b[2J'" in result.output
    assert shows_no_controls(result.output)


@pytest.fixture
def cli(nefkit_cli, clinic_db, monkeypatch):
    monkeypatch.setenv("NEFKIT_USER", "dr-test")
    return nefkit_cli


RISK = [f"phq9_{i}=0" for i in range(1, 9)] + ["phq9_9=2", "phq9_10=1"]


def test_notes_and_reasons_are_shown_as_text_on_one_line(cli):
    assert cli("record", "phq-9", "--client", "C1", *RISK).exit_code == 0
    note = "Seen\n[2] 2026-01-01 C9 phq-9 RISK: none\x1b[2J"
    assert cli("alerts", "--ack", "1", "--note", note).exit_code == 0
    listed = cli("alerts", "--all")
    assert listed.exit_code == 0
    [line] = [line for line in listed.output.splitlines() if line.startswith("[")]
    assert r"Seen\n[2] 2026-01-01 C9 phq-9 RISK: none\x1b[2J)" in line
    assert cli("void", "1", "--reason", "entered twice\x1b]0;pwned\x07").exit_code == 0
    history = cli("history", "--client", "C1")
    assert r"voided (entered twice\x1b]0;pwned\x07)" in history.output
    assert shows_no_controls(listed.output + history.output)


def test_a_client_id_stored_before_ids_were_checked_is_shown_as_text(cli, tmp_path):
    """Client ids are checked as they enter (tests/test_client_ids.py); a database written
    before that may hold any: listing it still takes one line a client."""
    assert cli("record", "phq-9", "--client", "C1", *RISK).exit_code == 0
    store = open_store(tmp_path / "clinic.db")
    try:
        store.start("C2\n\x1b[1AC3: 9 administrations", "phq-9", "1", "x", 1, {}, "old-nefkit")
    finally:
        store.close()
    listed = cli("clients")
    assert listed.exit_code == 0
    assert len(listed.output.splitlines()) == 2
    assert r"C2\n\x1b[1AC3: 9 administrations: 1 administrations" in listed.output
    assert shows_no_controls(listed.output)


def test_score_shows_a_data_file_s_column_names_and_cells_as_text(nefkit_cli, tmp_path):
    data = tmp_path / "data.csv"
    with open(data, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["respondent_id", "site\x1b]0;pwned\x07", *[f"gad7_{i}" for i in range(1, 8)]]
        )
        writer.writerow(["R1", "north", "\x1b[2J", *["1"] * 6])
    result = nefkit_cli("score", "gad-7", data, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1
    assert r"Carrying through as context: site\x1b]0;pwned\x07" in result.output
    assert r"row 2, column gad7_1 (value '\x1b[2J')" in result.output
    assert shows_no_controls(result.output)
