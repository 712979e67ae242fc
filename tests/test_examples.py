"""The deliberately broken definition that the README walks a newcomer through."""

from pathlib import Path

import nefkit

BROKEN = Path(__file__).parent.parent / "examples" / "definitions" / "broken.toml"


def test_the_readme_broken_definition_names_every_mistake():
    problems = [f"{p.where}: {p.message}" for p in nefkit.validate(BROKEN) if p.level == "error"]
    expected = [
        'scale "agree" › choice #2 › value: input should be a valid integer (found 1.5)',
        "item \"hopeful\": unknown key 'scael' (did you mean 'scale'?)",
        "top level: unknown key 'colour'",
        'item "calm": the id is used by 2 items',
        "item \"worse_how\" › when: 'worse == 2' uses 2, which is not an answer to worse (0 = No, 1 = Yes)",
        'item "hopeful": a choice item needs a scale = "..."',
        "score \"band\": bands leave a gap between 1 ('Low') and 3 ('High')",
        "score \"band\": band 'High' ends at 5, above the highest possible total (3)",
        "score \"mean\": unknown scoring rule 'avg'",
        "score \"sleep_score\": unknown item or earlier score 'sleep' (used by rule 'sum')",
    ]
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem


def test_every_bundled_instrument_carries_golden_cases_that_agree():
    for path in sorted((Path(__file__).parent.parent / "instruments").glob("*.toml")):
        instrument = nefkit.load_instrument(path)
        assert len(instrument.examples) >= 2, path.name
        assert nefkit.validate(path, check_examples=True) == [], path.name


GOLDEN = """\
id = "golden"
version = "1"
title = "Golden"
citation = "Test."
licence = "Test."
source = "Test."

[scales.three]
choices = [{ value = 0, label = "None" }, { value = 1, label = "Some" }, { value = 2, label = "Lots" }]

[[items]]
id = "a"
text = "A?"
scale = "three"

[[items]]
id = "b"
text = "B?"
scale = "three"

[[scores]]
id = "total"
label = "Total"
rule = "RULE"
items = ["a", "b"]

[[examples]]
label = "Some and lots"
answers = { a = "Some", b = 2 }
expected = { total = 3 }
"""


def test_a_case_that_disagrees_fails_validation(tmp_path):
    path = tmp_path / "golden.toml"
    path.write_text(GOLDEN.replace("RULE", "sum").replace("total = 3", "total = 4"))
    problems = nefkit.validate(path, check_examples=True)
    assert [p.where for p in problems] == ['example "Some and lots"'] * 2
    assert [p.message for p in problems] == [
        "total is 3, expected 4",
        "total is 3 (batch form), expected 4",
    ]
    # Without --check-examples the definition itself is valid.
    assert nefkit.validate(path) == []
    path.write_text(GOLDEN.replace("RULE", "sum").replace('a = "Some"', 'a = "Plenty"'))
    [problem] = nefkit.validate(path, check_examples=True)
    assert "an answer is not valid: not an answer to a" in problem.message


class MaxRule(nefkit.ScoringRule):
    """A third party's rule that claims to sum but takes the largest answer."""

    name = "plugin_sum"
    summary = "Sum (wrongly implemented)."

    def output(self, score, params, instrument, outputs):
        return nefkit.Output("number", 0, 4, integer=True)

    def compute(self, values, params, names):
        return nefkit.ScoreValue(max(values), "complete", len(values))


def test_a_third_party_rule_that_disagrees_with_its_cases_fails_validation(
    tmp_path, register_plugin
):
    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(MaxRule())

    register_plugin(Plugin(), name="bad-sum", distribution="nefkit-bad-sum")
    path = tmp_path / "golden.toml"
    path.write_text(GOLDEN.replace("RULE", "plugin_sum"))
    problems = [p.message for p in nefkit.validate(path, check_examples=True)]
    assert problems == ["total is 2, expected 3", "total is 2 (batch form), expected 3"]
