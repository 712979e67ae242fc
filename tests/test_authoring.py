"""Authoring a definition: the starter file, and the lint warnings of nefkit validate."""

import nefkit

LINT = """\
id = "lint"
version = "1"
title = "Lint"
citation = "c"
licence = "l"
source = "s"

[scales.f]
choices = [{ value = 0, label = "No" }, { value = 1, label = "Some" }, { value = 2, label = "Lots" }]

[[items]]
id = "a"
text = "A?"
scale = "f"

[[items]]
id = "b"
text = "B?"
scale = "f"

[[items]]
id = "c"
text = "C?"
scale = "f"
when = "a == 1 and a == 2"
scored = false

[[scores]]
id = "t"
label = "T"
rule = "sum"
items = ["a"]

[[flags]]
id = "never"
label = "Never"
when = "a > 1 and a < 2"
"""


def test_the_starter_validates_and_shows_every_feature(nefkit_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = nefkit_cli("new", "my-scale")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "my-scale.toml").read_text()
    assert 'id = "my-scale"' in text
    for feature in (
        "[scales.",
        'type = "yes_no"',
        'type = "multiple"',
        'type = "number"',
        'type = "text"',
        "when = ",
        'rule = "prorated_sum"',
        "reverse = ",
        'rule = "bands"',
        'rule = "threshold"',
        "[[flags]]",
        "[[changes]]",
        "[[norms]]",
        "[[examples]]",
    ):
        assert feature in text, feature
    assert nefkit.validate(tmp_path / "my-scale.toml", check_examples=True) == []
    again = nefkit_cli("new", "my-scale")
    assert again.exit_code == 1 and "exists" in again.output
    bad = nefkit_cli("new", "My Scale")
    assert bad.exit_code == 2 and "lowercase letters" in bad.output


def test_validate_warns_about_what_is_legal_but_suspicious(tmp_path):
    path = tmp_path / "lint.toml"
    path.write_text(LINT)
    problems = {(p.level, p.where, p.message) for p in nefkit.validate(path)}
    assert problems == {
        (
            "warning",
            'item "c" › when',
            "'a == 1 and a == 2' can never hold, so this question is never asked",
        ),
        (
            "warning",
            'flag "never" › when',
            "'a > 1 and a < 2' can never hold, so this flag is never raised",
        ),
        (
            "warning",
            'item "b"',
            "no score uses it and no flag tests it; if it is only asked, mark it scored = false",
        ),
    }


def test_warnings_alone_do_not_fail_validation(nefkit_cli, tmp_path):
    path = tmp_path / "lint.toml"
    path.write_text(LINT)
    result = nefkit_cli("validate", path)
    assert result.exit_code == 0
    assert result.stderr.count("warning: ") == 3
    # The warnings go to stderr; stdout has only the summary of a valid definition.
    assert result.stdout.startswith(f"{path}: valid (lint 1") and result.stdout.count("\n") == 1
