"""The deliberately broken definition that the README walks a newcomer through."""

from pathlib import Path

import nefkit

BROKEN = Path(__file__).parent.parent / "examples" / "definitions" / "broken.toml"


def test_the_readme_broken_definition_names_every_mistake():
    problems = [f"{p.where}: {p.message}" for p in nefkit.validate(BROKEN)]
    expected = [
        'scale "agree" › choice #2 › value: input should be a valid integer (found 1.5)',
        "item \"hopeful\": unknown key 'scael' (did you mean 'scale'?)",
        "top level: unknown key 'colour'",
        'item "calm": the id is used by 2 items',
        "item \"worse_how\" › when: 'worse == 2' uses 2, which is not an answer to worse (0 = No, 1 = Yes)",
        "score \"band\": bands leave a gap between 1 ('Low') and 3 ('High')",
        "score \"band\": band 'High' ends at 5, above the highest possible total (3)",
        "score \"mean\": unknown scoring rule 'avg'",
        "score \"sleep_score\": unknown item or earlier score 'sleep' (used by rule 'sum')",
    ]
    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem
