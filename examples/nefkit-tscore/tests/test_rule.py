"""The tscore rule on its own: parameters, checks on a definition, and both forms of scoring."""

from itertools import product

import nefkit
import pytest

from nefkit_tscore.rule import TScoreRule

RULE = TScoreRule()
TABLE = [{"raw": raw, "t": 20 + 3 * raw} for raw in range(0, 13)]  # three items answered 0-4


def definition(params, items=None):
    """A three-item instrument (items a, b, c answered 0-4 unless ``items`` says otherwise)
    whose score "t" looks up their sum with ``params``."""
    data = {
        "id": "three",
        "version": "1",
        "title": "Three items",
        "citation": "None (a test).",
        "licence": "MIT.",
        "source": "This test.",
        "scales": {"four": {"choices": [{"value": v, "label": f"L{v}"} for v in range(5)]}},
        "items": items or [{"id": i, "text": f"Item {i}", "scale": "four"} for i in "abc"],
        "scores": [
            {"id": "t", "label": "T", "rule": "tscore", "items": list("abc"), "params": params}
        ],
    }
    return nefkit.Instrument.model_validate(data)


def problems(instrument) -> list[str]:
    with pytest.raises(nefkit.DefinitionError) as failure:
        nefkit.get_plan(instrument)
    return [f"{p.where}: {p.message}" for p in failure.value.problems]


def test_a_table_with_a_gap_is_refused():
    table = [entry for entry in TABLE if entry["raw"] not in (7, 8, 10)]
    assert problems(definition({"table": table})) == [
        'score "t": the table has no T-score for raw 7-8, 10; it must cover every raw total'
        " from 0 to 12"
    ]


def test_a_table_for_another_scale_is_refused():
    table = [*TABLE, {"raw": 13, "t": 59}, {"raw": 14, "t": 62}]
    [message] = problems(definition({"table": table}))
    assert "the table gives raw 13-14, but the raw total lies between 0 and 12" in message


def test_parameters_are_checked_by_their_model():
    assert problems(definition({"table": TABLE, "maxmissing": 1})) == [
        "score \"t\" › params › maxmissing: unknown parameter 'maxmissing';"
        " did you mean 'max_missing'? (rule 'tscore' takes table, max_missing)"
    ]
    [twice] = problems(definition({"table": [*TABLE, {"raw": 3, "t": 1}]}))
    assert "the table gives raw 3 more than once" in twice
    [text] = problems(definition({"table": [*TABLE[1:], {"raw": "0", "t": 20}]}))
    assert text == (
        "score \"t\" › params › table › 12 › raw: input should be a valid integer (found '0')"
    )


def test_max_missing_must_leave_an_answer_needed():
    [message] = problems(definition({"table": TABLE, "max_missing": 3}))
    assert "max_missing is 3 but there are 3 items" in message


def test_follow_ups_and_text_items_cannot_be_looked_up():
    items = [
        {"id": "a", "text": "A", "scale": "four"},
        {"id": "b", "text": "B", "scale": "four", "when": "a > 0"},
        {"id": "c", "text": "C", "type": "text"},
    ]
    found = problems(definition({"table": TABLE}, items=items))
    assert any("'b' is a follow-up (asked only when a > 0)" in p for p in found)
    assert any("'c' needs whole-number answers" in p for p in found)


def test_output_and_missing_policy_come_from_the_params():
    params = RULE.parse_params({"table": TABLE, "max_missing": 1})
    output = RULE.output(None, params, None, {})
    assert (output.kind, output.minimum, output.maximum, output.integer) == (
        "number",
        20,
        56,
        True,
    )
    assert RULE.missing_policy(RULE.parse_params({"table": TABLE})).startswith(
        "every answer is needed"
    )
    assert "up to 1 blank answers: the raw sum is prorated" in RULE.missing_policy(params)


@pytest.mark.parametrize("max_missing", [0, 1, 2])
def test_the_batch_form_agrees_with_the_per_row_form_on_every_input(max_missing):
    params = RULE.parse_params({"table": TABLE, "max_missing": max_missing})
    names = ["a", "b", "c"]
    rows = list(product([None, nefkit.NOT_ASKED, 0, 1, 2, 3, 4], repeat=3))
    columns = [list(column) for column in zip(*rows)]
    batch = RULE.compute_batch(columns, params, names)
    for row, together in zip(rows, batch):
        alone = RULE.compute(row, params, names)
        assert alone == together, row
        # a value exactly when scorable, and a reason then
        assert (alone.value is None) == (alone.status == "not scorable"), row
        assert alone.status != "not scorable" or alone.reason


def test_statuses():
    params = RULE.parse_params({"table": TABLE, "max_missing": 1})
    names = ["a", "b", "c"]
    assert RULE.compute([1, 2, 3], params, names) == nefkit.ScoreValue(38, "complete", 3)
    prorated = RULE.compute([1, None, 2], params, names)  # 3 * 3 / 2 = 4.5, half up to 5
    assert (prorated.value, prorated.status, prorated.answered) == (35, "prorated", 2)
    assert prorated.reason == "raw sum prorated to 5 from 2 of 3 answers"
    assert RULE.compute([1, None, None], params, names) == nefkit.ScoreValue(
        None, "not scorable", 1, "2 of 3 answers missing (b, c); at most 1 may be missing"
    )
