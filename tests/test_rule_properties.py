"""Invariants of the standard rules, and agreement of every rule's per-row and batch forms."""

from __future__ import annotations

import math

from helpers import plan, registry, score_both
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nefkit.reliable_change import band_of
from nefkit.rules import NOT_ASKED

RULES = registry().rule_map
answers_0_3 = st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=1, max_size=12)


def run(rule_name, values, **params):
    rule = RULES[rule_name]
    parsed = rule.parse_params(params)
    names = [f"i{k}" for k in range(len(values))]
    return rule.compute(values, parsed, names), rule, parsed, names


# What a batch may hold besides answers 0-3: blanks, questions not asked, and numbers that
# are not whole or are whole but written as decimals (2.0), which a file shows apart from 2.
any_answer = st.one_of(
    st.none(), st.just(NOT_ASKED), st.integers(0, 3), st.sampled_from([1.5, 2.0, 0.25])
)


def same(batch, expected):
    """Equal, and of the same kinds of number (3 == 3.0, but a file shows them differently)."""
    return batch == expected and [type(s.value) for s in batch] == [type(s.value) for s in expected]


@given(
    st.lists(st.lists(any_answer, min_size=1, max_size=12), min_size=1, max_size=30),
    st.integers(0, 3),
    st.booleans(),
)
def test_batch_form_agrees_with_per_row_form(rows, max_missing, round_):
    width = min(len(r) for r in rows)
    rows = [r[:width] for r in rows]
    columns = [list(col) for col in zip(*rows)]
    names = [f"i{k}" for k in range(width)]
    for name, params in (
        ("sum", {}),
        ("mean", {}),
        ("prorated_sum", {"max_missing": max_missing, "round": round_}),
        ("prorated_mean", {"max_missing": max_missing}),
        ("count", {"values": [2, 3]}),
        ("sum", {"reverse": {"items": names[:1], "low": 0, "high": 3}}),
    ):
        rule = RULES[name]
        parsed = rule.parse_params(params)
        expected = [rule.compute(r, parsed, names) for r in rows]
        assert same(rule.compute_batch(columns, parsed, names), expected), (name, params)


@given(st.lists(st.one_of(st.none(), st.integers(-2, 30), st.sampled_from([9.5, 10.0, 14.0]))))
def test_rules_on_a_score_agree_row_by_row_and_in_batch(scores):
    names = ["total"]
    bands = [{"min": 0, "max": 9, "label": "low"}, {"min": 10, "max": 27, "label": "high"}]
    for name, params in (
        ("bands", {"score": "total", "bands": bands}),
        ("threshold", {"score": "total", "at_least": 10}),
    ):
        rule = RULES[name]
        parsed = rule.parse_params(params)
        expected = [rule.compute([v], parsed, names) for v in scores]
        assert same(rule.compute_batch([scores], parsed, names), expected), name


@given(answers_0_3)
def test_sum_never_counts_a_blank_as_zero(values):
    result, *_ = run("sum", values)
    if None in values:
        assert result.value is None and result.status == "not scorable"
    else:
        assert result.value == sum(values) and 0 <= result.value <= 3 * len(values)


@given(answers_0_3, st.integers(0, 4))
def test_prorated_sum_is_the_sum_when_complete_and_scales_the_mean_otherwise(values, max_missing):
    result, *_ = run("prorated_sum", values, max_missing=max_missing)
    answered = [v for v in values if v is not None]
    missing = len(values) - len(answered)
    if missing > max_missing or not answered:
        assert result.value is None
    elif missing == 0:
        assert (result.value, result.status) == (sum(values), "complete")
    else:
        assert result.status == "prorated"
        assert math.isclose(result.value, sum(answered) / len(answered) * len(values))


@given(st.lists(st.integers(0, 3), min_size=1, max_size=10))
def test_reverse_keying_mirrors_every_answer(values):
    names = [f"i{k}" for k in range(len(values))]
    reversed_all, *_ = run("sum", values, reverse={"items": names, "low": 0, "high": 3})
    assert reversed_all.value == sum(3 - v for v in values)
    mirrored, *_ = run("sum", [3 - v for v in values])
    assert reversed_all.value == mirrored.value


@given(st.lists(st.one_of(st.integers(0, 3), st.just(NOT_ASKED)), min_size=1, max_size=10))
def test_questions_not_asked_are_not_missing(values):
    result, *_ = run("sum", values)
    assert result.status == "complete"
    assert result.value == sum(v for v in values if v is not NOT_ASKED)


neq_item = st.one_of(
    st.just((0, None, None)),
    st.tuples(st.just(1), st.integers(0, 4), st.sampled_from([0, 1])),
)


any_neq_item = st.tuples(
    st.sampled_from([None, 0, 1]),
    st.sampled_from([None, NOT_ASKED, 0, 1, 2, 3, 4, 2.5, 1.0]),
    st.sampled_from([None, NOT_ASKED, 0, 1]),
)


@given(st.lists(st.lists(any_neq_item, min_size=3, max_size=3), min_size=1, max_size=20))
def test_neq_batch_form_agrees_with_per_row_form_on_any_input(rows):
    """Even answers the plan would never pass on (a cause for an effect not experienced, an
    impact that is not a whole number)."""
    names = ["e1", "e2", "e3"]
    for name, params in (
        ("neq_count", {}),
        ("neq_count", {"attribution": "treatment"}),
        ("neq_count", {"attribution": "other", "max_missing": 1}),
        ("neq_impact", {}),
        ("neq_impact", {"statistic": "mean"}),
        ("neq_impact", {"attribution": "treatment"}),
        ("neq_impact", {"attribution": "other", "statistic": "mean", "max_missing": 1}),
    ):
        rule = RULES[name]
        parsed = rule.parse_params(params)
        parts = ["impact", "cause"] if name == "neq_impact" else ["cause"]
        parts = [p for p in parts if p != "cause" or parsed.attribution != "any"]
        inputs = names + [f"{n}_{p}" for p in parts for n in names]
        index = {"impact": 1, "cause": 2}
        flat = [
            [item[0] for item in row] + [item[index[p]] for p in parts for item in row]
            for row in rows
        ]
        columns = [list(column) for column in zip(*flat)]
        expected = [rule.compute(values, parsed, inputs) for values in flat]
        assert same(rule.compute_batch(columns, parsed, inputs), expected), (name, params)


@given(st.lists(neq_item, min_size=20, max_size=20))
def test_neq_scores_add_up(items):
    p = plan("neq-20")
    answers = {}
    for k, (experienced, impact, cause) in enumerate(items, 1):
        answers[f"neq{k:02d}"] = experienced
        if experienced:
            answers[f"neq{k:02d}_impact"] = impact
            answers[f"neq{k:02d}_cause"] = cause
    v = {key: r.value for key, r in score_both(p, answers).scores.items()}
    assert v["effects"] == sum(e for e, _, _ in items)
    assert v["effects"] == v["effects_treatment"] + v["effects_other"]
    assert v["impact_total"] == v["impact_treatment"] + v["impact_other"]
    if v["effects"]:
        assert math.isclose(v["impact_mean"] * v["effects"], v["impact_total"])
        assert 0 <= v["impact_mean"] <= 4


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_every_bundled_instrument_scores_alike_row_by_row_and_in_batch(data):
    instrument_id = data.draw(
        st.sampled_from(["phq-9", "gad-7", "neq-20", "neq-32", "therapy-reflection"])
    )
    p = plan(instrument_id)
    rows = []
    for _ in range(data.draw(st.integers(1, 4))):
        row = {}
        for item in p.items:
            codes = [c for c, _ in p.instrument.choices(item)]
            if item.type == "multiple":
                answer = st.lists(st.sampled_from(codes), unique=True).map(
                    lambda c: tuple(sorted(c)) or None
                )
            elif item.type == "text":
                answer = st.text(max_size=5).map(lambda t: t or None)
            else:
                answer = st.sampled_from(codes)
            row[item.id] = data.draw(st.one_of(st.none(), answer))
        rows.append(row)
    singles = [p.score(row) for row in rows]
    columns = {item.id: [row[item.id] for row in rows] for item in p.items}
    scores, flags, problems = p.score_batch(columns, len(rows))
    for index, single in enumerate(singles):
        assert {k: col[index] for k, col in scores.items()} == single.scores
        assert {k: col[index] for k, col in flags.items()} == single.flags
        assert [(i, r) for at, i, r in problems if at == index] == single.problems


@given(st.integers(0, 27), st.integers(0, 27))
def test_reliable_change_is_antisymmetric(before, after):
    [step] = plan("phq-9").changes
    forward = step.rule.classify(before, after, step.params)
    backward = step.rule.classify(after, before, step.params)
    if forward == "reliably deteriorated":
        assert backward in ("reliably improved", "recovered")
    if forward == "no reliable change":
        assert backward == "no reliable change"


def test_bands_follow_the_score_upwards():
    p = plan("phq-9")
    step = next(s for s in p.steps if s.score.id == "severity")
    labels = [step.rule.compute([t], step.params, ["total"]).value for t in range(28)]
    order = [b.label for b in step.params.bands]
    positions = [order.index(label) for label in labels]
    assert positions == sorted(positions)
    # A prorated 9.5 lies between the Mild (5-9) and Moderate (10-14) bands: it is Mild.
    assert step.rule.compute([9.5], step.params, ["total"]).value == "Mild"


def test_jacobson_truax_reliable_change_index_by_hand():
    rule = RULES["reliable_change"]
    params = rule.parse_params({"better": "lower", "reliability": 0.8, "sd": 5})
    # S_diff = 5 * sqrt(2) * sqrt(1 - 0.8) = 3.1623; 7 / 3.1623 = 2.21 > 1.96; 6 / 3.1623 = 1.90.
    assert math.isclose(band_of(params), 1.96 * 3.16227766, rel_tol=1e-8)  # in points
    assert rule.classify(20, 27, params) == "reliably deteriorated"
    assert rule.classify(20, 26, params) == "no reliable change"
    assert rule.classify(20, 13, params) == "reliably improved"


def test_jacobson_truax_cutoffs_a_b_c_by_hand():
    rule = RULES["reliable_change"]
    norms = {"clinical_mean": 20, "clinical_sd": 5, "functional_mean": 5, "functional_sd": 4}
    cutoffs = {}
    for kind in "abc":
        params = rule.parse_params(
            {"better": "lower", "threshold": 5, "cutoff_type": kind, **norms}
        )
        cutoffs[kind] = params.clinical_cutoff
    # a = 20 - 2*5 = 10; b = 5 + 2*4 = 13; c = (5*5 + 4*20) / (5 + 4) = 11.667
    assert cutoffs["a"] == 10 and cutoffs["b"] == 13
    assert math.isclose(cutoffs["c"], 105 / 9)
    params = rule.parse_params({"better": "lower", "threshold": 5, "cutoff_type": "c", **norms})
    assert rule.classify(18, 11, params) == "recovered"  # crosses 11.667
    assert rule.classify(18, 12, params) == "reliably improved"  # still above it


def test_higher_is_better_scales_flip_the_direction():
    rule = RULES["reliable_change"]
    params = rule.parse_params({"better": "higher", "threshold": 5, "cutoff": 40})
    assert rule.classify(30, 45, params) == "recovered"
    assert rule.classify(30, 25, params) == "reliably deteriorated"


def test_rule_parameters_are_checked():
    rule = RULES["reliable_change"]
    for bad in (
        {"better": "lower"},
        {"better": "lower", "threshold": 5, "sd": 3},
        {"better": "lower", "reliability": 0.8},
        {"better": "lower", "threshold": 5, "cutoff_type": "c"},
    ):
        try:
            rule.parse_params(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad}")
