"""A blank gate makes its follow-ups unknown, never "not asked" (issue #15): their blanks are
missing, so every score over them follows its missing-data policy, and an answer given to one
is kept and is no problem. Hand-computed for NEQ-20 and for a generic ``sum``, per row, per
batch and through ``nefkit score`` with both engines."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner
from helpers import registry, score_both, values

import nefkit
from nefkit.cli import cli
from nefkit.definitions.instrument import Score
from nefkit.definitions.plan import Plan
from nefkit.rules import NOT_ASKED

NEQ20 = [f"neq{k:02d}" for k in range(1, 21)]


def neq20(**answers) -> dict:
    """Every NEQ-20 effect answered No, then ``answers`` (item id: code or None)."""
    return {item: 0 for item in NEQ20} | answers


def neq20_plan(max_missing: int = 0) -> Plan:
    """NEQ-20 whose scores accept ``max_missing`` unknown answers (the shipped form accepts
    none), plus a score a service might add over the 20 impact follow-ups: a ``sum`` (every
    applicable answer needed) or, with ``max_missing``, a ``prorated_sum``."""
    instrument = registry().instrument("neq-20")
    scores = [
        s.model_copy(update={"params": {**s.params, "max_missing": max_missing}})
        if max_missing
        else s
        for s in instrument.scores
    ]
    impacts = [f"{item}_impact" for item in NEQ20]
    if max_missing:
        params = {"max_missing": max_missing}
        scores.append(
            Score(id="impacts", label="Impacts", rule="prorated_sum", items=impacts, params=params)
        )
    else:
        scores.append(Score(id="impacts", label="Impacts", rule="sum", items=impacts))
    return Plan(instrument.model_copy(update={"scores": scores}), registry().rule_map)


# neq01 left blank with its follow-ups; neq02 Yes (impact 3, the treatment), neq03 Yes
# (impact 1, other circumstances); the 17 other effects No.
BLANK_GATE = neq20(
    neq01=None,
    neq02=1,
    neq02_impact=3,
    neq02_cause=1,
    neq03=1,
    neq03_impact=1,
    neq03_cause=0,
)


def test_neq20_blank_gate_follows_the_shipped_policy():
    """NEQ-20 tolerates no unknown effect: every NEQ score is not scorable, 19 of 20 answered
    (as before: the NEQ rules never read the follow-ups of an unknown effect). The sum of the
    impacts has 3 applicable (neq01's unknown, neq02's and neq03's; the 17 others not asked),
    1 missing: not scorable, where it was 3 + 1 = 4, complete."""
    scored = score_both(neq20_plan(), BLANK_GATE)
    assert scored.problems == []
    impacts = scored.scores.pop("impacts")
    assert (impacts.value, impacts.status, impacts.answered) == (None, "not scorable", 2)
    assert impacts.reason == "1 of 3 answers missing (neq01_impact); every answer is needed"
    for result in scored.scores.values():
        assert (result.value, result.status, result.answered) == (None, "not scorable", 19)
        assert result.reason == "1 of 20 answers missing (neq01); every answer is needed"
    # neq10 is No: the risk is known to be clear; the treatment flag reads an unknown count.
    assert scored.flags == {"suicidal_thoughts": False, "effects_from_treatment": None}


def test_neq20_blank_gate_under_a_prorating_policy():
    scored = score_both(neq20_plan(max_missing=1), BLANK_GATE)
    # Known effects: neq02 (impact 3, treatment) and neq03 (impact 1, other); neq01 unknown.
    assert values(scored) == {
        "effects": 2,  # neq02 + neq03
        "effects_treatment": 1,  # neq02
        "effects_other": 1,  # neq03
        "impact_total": 4,  # 3 + 1
        "impact_mean": 2.0,  # 4 / 2 effects
        "impact_treatment": 3,  # neq02's 3
        "impact_other": 1,  # neq03's 1
        "impacts": 6.0,  # (3 + 1) * 3 applicable / 2 answered; was 4, complete
    }
    assert {r.status for r in scored.scores.values()} == {"prorated"}
    assert scored.flags == {"suicidal_thoughts": False, "effects_from_treatment": True}


def test_neq20_answers_to_follow_ups_of_a_blank_gate_are_kept_and_no_problem():
    """Impact and cause given, "experienced?" left blank: we cannot say they should not have
    been answered (before, the form was refused). The effect itself stays unknown to the NEQ
    rules, which count only what was experienced; the sum of the impacts counts the answer."""
    answers = BLANK_GATE | {"neq01_impact": 4, "neq01_cause": 1}
    scored = score_both(neq20_plan(), answers)
    assert scored.problems == []
    assert scored.scores["effects"].status == "not scorable"
    impacts = scored.scores["impacts"]
    assert (impacts.value, impacts.status) == (8, "complete")  # 4 + 3 + 1
    scored = score_both(neq20_plan(max_missing=1), answers)
    assert values(scored)["effects"] == 2 and values(scored)["impact_total"] == 4


def test_an_empty_neq20_form_is_not_zero_complete():
    scored = score_both(neq20_plan(), {})
    for result in scored.scores.values():
        assert (result.value, result.status, result.answered) == (None, "not scorable", 0)
    assert scored.scores["effects"].reason.startswith("20 of 20 answers missing (neq01, neq02,")
    # The impacts of an empty form are unknown, not "not asked": not 0, complete as before.
    assert scored.scores["impacts"].reason == (
        "20 of 20 answers missing (neq01_impact, neq02_impact, neq03_impact, neq04_impact,"
        " neq05_impact, …); every answer is needed"
    )
    assert scored.flags == {"suicidal_thoughts": None, "effects_from_treatment": None}


# A yes/no gate, two follow-ups and one follow-up of a follow-up; sums over the follow-ups.
GATED = """
id = "gated"
version = "1.0.0"
title = "Gated"
citation = "nefkit tests"
licence = "MIT"
source = "nefkit tests"

[scales.amount]
choices = [{ value = 0, label = "None" }, { value = 1, label = "Some" },
           { value = 2, label = "Much" }, { value = 3, label = "Most" }]

[[items]]
id = "gate"
text = "Did it happen?"
type = "yes_no"

[[items]]
id = "f1"
text = "How much?"
scale = "amount"
when = "gate == 1"

[[items]]
id = "f2"
text = "How often?"
scale = "amount"
when = "gate == 1"

[[items]]
id = "f3"
text = "And then?"
scale = "amount"
when = "f1 >= 2"

[[scores]]
id = "total"
label = "Sum of the follow-ups"
rule = "sum"
items = ["f1", "f2"]

[[scores]]
id = "tolerant"
label = "Prorated sum of the follow-ups"
rule = "prorated_sum"
items = ["f1", "f2"]
params = { max_missing = 1 }

[[scores]]
id = "deep"
label = "Sum with the follow-up of a follow-up"
rule = "sum"
items = ["f1", "f3"]

[[flags]]
id = "much"
label = "Much"
when = "f1 >= 2"
level = "risk"

[[flags]]
id = "high"
label = "High total"
when = "total >= 3"
"""


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gated")
    (directory / "gated.toml").write_text(GATED, encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def gated_plan(gated):
    return nefkit.get_plan("gated", nefkit.get_registry([gated]))


def test_a_sum_over_follow_ups_of_a_blank_gate_is_missing_not_zero(gated_plan):
    scored = score_both(gated_plan, {})
    total = scored.scores["total"]
    assert (total.value, total.status) == (None, "not scorable")  # was 0, complete
    assert total.reason == "2 of 2 answers missing (f1, f2); every answer is needed"
    assert scored.scores["tolerant"].status == "not scorable"  # 2 missing, 1 allowed
    assert scored.flags == {"much": None, "high": None}


def test_a_no_gate_makes_its_follow_ups_not_applicable(gated_plan):
    scored = score_both(gated_plan, {"gate": 0})
    assert (scored.scores["total"].value, scored.scores["total"].status) == (0, "complete")
    assert scored.scores["deep"].status == "complete"  # f3's gate f1 was not asked: nor was f3
    assert scored.flags == {"much": False, "high": False}


def test_a_follow_up_answered_after_a_blank_gate_counts(gated_plan):
    scored = score_both(gated_plan, {"f1": 3})
    assert scored.problems == []
    assert scored.scores["total"].status == "not scorable"  # f2 is missing
    tolerant = scored.scores["tolerant"]
    assert (tolerant.value, tolerant.status) == (6.0, "prorated")  # 3 * 2 items / 1 answered
    # f1 = 3 asks f3, which is blank: missing.
    assert scored.scores["deep"].reason == "1 of 2 answers missing (f3); every answer is needed"
    assert scored.flags == {"much": True, "high": None}


@pytest.mark.parametrize(
    "answers, f3",
    [
        ({"gate": 0}, NOT_ASKED),  # f1 not asked, so f3 is not either
        ({}, None),  # f1 unknown and blank: f3 unknown
        ({"f1": 1}, NOT_ASKED),  # f1 known below 2
        ({"gate": 1, "f1": 2}, None),  # asked, left blank
    ],
)
def test_follow_ups_of_follow_ups_chain_in_item_order(gated_plan, answers, f3):
    values = {item.id: [answers.get(item.id)] for item in gated_plan.items}
    gated_plan.apply_conditions(values)
    assert values["f3"] == [f3]


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_nefkit_score_writes_missing_for_follow_ups_of_a_blank_gate(gated, tmp_path, engine):
    data = tmp_path / "in.csv"
    data.write_text(
        "respondent_id,gate,f1,f2,f3\n"
        "a,,,,\n"  # all blank
        "b,0,,,\n"  # No: not asked
        "c,,3,,\n"  # gate blank, f1 answered: kept
        "d,1,2,1,0\n"
        "e,0,3,,\n",  # No, yet f1 answered: invalid; its flags read f1 as not asked
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    args = ["score", "gated", data, "-o", out, "--instruments", gated, "--engine", engine]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    with open(out, encoding="utf-8", newline="") as handle:
        rows = {r["respondent_id"]: r for r in csv.DictReader(handle)}
    shown = {
        k: (r["total"], r["total_status"], r["tolerant"], r["deep_status"]) for k, r in rows.items()
    }
    assert shown == {
        "a": ("", "not scorable", "", "not scorable"),
        "b": ("0", "complete", "", "complete"),
        "c": ("", "not scorable", "6.0", "not scorable"),
        "d": ("3", "complete", "3", "complete"),
        "e": ("", "", "", ""),
    }
    assert rows["b"]["tolerant_status"] == "not scorable"  # no question of it applied
    flags = {k: (r["flag_much"], r["flag_high"]) for k, r in rows.items()}
    assert flags == {
        "a": ("unknown", "unknown"),
        "b": ("no", "no"),
        "c": ("yes", "unknown"),
        "d": ("yes", "yes"),
        "e": ("no", "no"),  # total over f1 and f2 not asked is 0, not 3
    }
    assert result.exit_code == 1  # row e's answer to a question not asked
    assert "Problem: row 6, column f1 (value '3'): answered, but" in result.stderr
    assert "could not be checked in 1 row (row 2)" in result.stderr
    assert "; a flag could not be checked in 2 rows" in result.stderr
