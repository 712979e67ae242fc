"""The plugin as nefkit finds it once installed (pip install .): through its entry point.

Nothing here registers the plugin by hand. The fixtures ``nefkit_cli`` and ``nefkit_register``
come with nefkit itself (its pytest11 entry point), so there is no conftest.py to write.
"""

import json
from importlib.resources import files
from pathlib import Path

import nefkit
from nefkit.testing import assert_scores

ORIGIN = "nefkit-tscore 0.1.0 (plugin tscore)"
DEFINITION = files("nefkit_tscore") / "definitions" / "wellbeing-5.toml"
DATA = Path(__file__).parents[1] / "data.csv"


def test_nefkit_loads_the_plugin_from_its_entry_point(nefkit_cli):
    result = nefkit_cli("plugins", "--json")
    assert result.exit_code == 0, result.output
    [plugin] = [p for p in json.loads(result.output) if p["name"] == "tscore"]
    assert plugin == {
        "name": "tscore",
        "distribution": "nefkit-tscore",
        "version": "0.1.0",
        "builtin": False,
        "hooks": ["register_instruments", "register_renderers", "register_scoring_rules"],
        "provides": {
            "instruments": ["wellbeing-5"],
            "renderers": [
                "markdown (.md .markdown): Scores as Markdown tables, one section per instrument."
            ],
            "rules": [
                "tscore: T-score looked up from the raw sum of the items in a table given in"
                " params."
            ],
        },
        "failures": [],
    }


def test_everything_it_registers_is_there():
    registry = nefkit.get_registry()
    assert registry.rules["tscore"].origin == ORIGIN
    assert registry.renderers["markdown"].origin == ORIGIN
    assert registry.instruments["wellbeing-5"].origin == ORIGIN
    assert registry.instruments["wellbeing-5"].path == str(DEFINITION)


def test_the_definition_is_valid_and_its_golden_cases_agree(nefkit_cli):
    result = nefkit_cli("validate", "--check-examples", str(DEFINITION))
    assert result.exit_code == 0, result.output
    assert "valid (wellbeing-5 0.1.0, 5 questions, 3 scores, 8 examples agree)" in result.output


def test_golden_cases_by_both_forms_of_every_rule():
    instrument = nefkit.get_registry().instrument("wellbeing-5")
    assert_scores(instrument, instrument.examples)


def test_more_hand_computed_cases():
    assert_scores(
        "wellbeing-5",
        [
            {
                "label": "raw 7 is T 40, the first 'Average'",
                "answers": {"wb1": 1, "wb2": 2, "wb3": 1, "wb4": 1, "wb5": 2},
                "expected": {"raw": 7, "t": 40, "band": "Average"},
            },
            {
                "label": "raw 6 is T 38, still 'Low'",
                "fill": 1,
                "answers": {"wb1": 2},
                "expected": {"raw": 6, "t": 38, "band": "Low"},
            },
            {
                "label": "one blank: 3 of four answers prorates to 3.75, rounded to 4 (T 33)",
                "answers": {"wb1": 0, "wb2": 1, "wb3": 1, "wb5": 1},
                "expected": {"raw": "not scorable", "t": 33, "band": "Low"},
                "flags": {"not_hopeful": False},
            },
        ],
    )


def test_scoring_the_sample_data_into_markdown(nefkit_cli, tmp_path):
    out = tmp_path / "scores.md"
    result = nefkit_cli("score", "wellbeing-5", DATA, "-o", out)
    assert result.exit_code == 0, result.output
    rows = [line for line in out.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    by_row = {line.split(" | ")[0][2:]: line for line in rows}
    # row (as the spreadsheet numbers it): the T-score cell, computed by hand from the table
    expected = {
        "2": "| 40 |",
        "3": "| 53 |",
        "4": "| 60 |",
        "5": "| 58 (prorated) |",
        "6": "| 40 |",
        "7": "| not scorable | not scorable |",
        "8": "| 70 |",
    }
    for row, cell in expected.items():
        assert cell in by_row[row], by_row[row]
    assert "| C02 | t\\_change | baseline to latest |" in out.read_text(encoding="utf-8")
