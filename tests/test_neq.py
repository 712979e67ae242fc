"""NEQ-20 and NEQ-32 scored against hand-computed cases of the official three-part format
(neqscale.com): experienced yes/no; if yes, impact 0-4 and cause (treatment = 1, other = 0)."""

import pytest
from helpers import plan, score_both, values

TREATMENT, OTHER = 1, 0


def neq(n: int, **effects):
    """All n items answered No, except effects given as neqKK=(impact, cause)."""
    answers = {f"neq{k:02d}": 0 for k in range(1, n + 1)}
    for item, (impact, cause) in effects.items():
        answers.update({item: 1, f"{item}_impact": impact, f"{item}_cause": cause})
    return answers


@pytest.fixture(
    scope="module",
    params=[("neq-20", 20, "neq10"), ("neq-32", 32, "neq15")],
    ids=["neq-20", "neq-32"],
)
def form(request):
    instrument_id, n, suicide_item = request.param
    return plan(instrument_id), n, suicide_item


def test_no_negative_effects(form):
    p, n, _ = form
    scored = score_both(p, neq(n))
    assert values(scored) == {
        "effects": 0,
        "effects_treatment": 0,
        "effects_other": 0,
        "impact_total": 0,
        "impact_mean": None,
        "impact_treatment": 0,
        "impact_other": 0,
    }
    # With nothing experienced there is no mean impact, and nefkit says so instead of inventing 0.
    assert "no negative effect" in scored.scores["impact_mean"].reason
    assert scored.flags == {"suicidal_thoughts": False, "effects_from_treatment": False}


def test_effects_split_by_attribution(form):
    p, n, _ = form
    scored = score_both(p, neq(n, neq01=(3, TREATMENT), neq08=(4, OTHER), neq12=(1, TREATMENT)))
    assert values(scored) == {
        "effects": 3,
        "effects_treatment": 2,
        "effects_other": 1,
        "impact_total": 8,
        "impact_mean": 8 / 3,
        "impact_treatment": 4,
        "impact_other": 4,
    }
    assert scored.flags["effects_from_treatment"] is True
    assert all(r.status == "complete" for r in scored.scores.values())


def test_yes_with_impact_not_at_all_still_counts_as_experienced(form):
    p, n, _ = form
    assert values(score_both(p, neq(n, neq02=(0, OTHER)))) == {
        "effects": 1,
        "effects_treatment": 0,
        "effects_other": 1,
        "impact_total": 0,
        "impact_mean": 0,
        "impact_treatment": 0,
        "impact_other": 0,
    }


def test_thoughts_of_ending_life_raise_the_risk_flag_whatever_the_cause(form):
    p, n, suicide_item = form
    for cause in (TREATMENT, OTHER):
        scored = score_both(p, neq(n, **{suicide_item: (1, cause)}))
        assert scored.flags["suicidal_thoughts"] is True
    assert score_both(p, neq(n, neq01=(4, TREATMENT))).flags["suicidal_thoughts"] is False


def test_unanswered_suicide_item_leaves_the_flag_unknown(form):
    p, n, suicide_item = form
    answers = neq(n)
    answers[suicide_item] = None
    assert score_both(p, answers).flags["suicidal_thoughts"] is None


def test_unanswered_experienced_question_makes_every_score_not_scorable(form):
    p, n, _ = form
    answers = neq(n, neq01=(2, TREATMENT))
    answers["neq05"] = None
    scored = score_both(p, answers)
    for result in scored.scores.values():
        assert result.status == "not scorable"
        assert "neq05" in result.reason
        assert result.answered == n - 1


def test_blank_cause_blocks_only_the_attribution_scores(form):
    p, n, _ = form
    answers = neq(n, neq03=(2, None), neq04=(1, OTHER))
    scored = score_both(p, answers)
    assert values(scored)["effects"] == 2
    assert values(scored)["impact_total"] == 3
    for score_id in ("effects_treatment", "effects_other", "impact_treatment", "impact_other"):
        assert scored.scores[score_id].status == "not scorable"
        assert "neq03 cause" in scored.scores[score_id].reason


def test_blank_impact_blocks_only_the_impact_scores(form):
    p, n, _ = form
    scored = score_both(p, neq(n, neq03=(None, TREATMENT)))
    assert values(scored)["effects"] == 1 and values(scored)["effects_treatment"] == 1
    for score_id in ("impact_total", "impact_mean", "impact_treatment"):
        assert scored.scores[score_id].status == "not scorable"
        assert "neq03 impact" in scored.scores[score_id].reason
    assert values(scored)["impact_other"] == 0  # no effect attributed to other circumstances


def test_follow_up_answered_for_an_effect_not_experienced_is_a_problem(form):
    p, n, _ = form
    answers = neq(n)
    answers["neq06_impact"] = 3
    [(item, reason)] = score_both(p, answers).problems
    assert item == "neq06_impact"
    assert (
        reason == "answered, but this question is asked only when neq06 == 1, and neq06 is 0 (No)"
    )


def test_every_effect_at_maximum_impact(form):
    p, n, _ = form
    scored = score_both(p, neq(n, **{f"neq{k:02d}": (4, TREATMENT) for k in range(1, n + 1)}))
    assert values(scored) == {
        "effects": n,
        "effects_treatment": n,
        "effects_other": 0,
        "impact_total": 4 * n,
        "impact_mean": 4,
        "impact_treatment": 4 * n,
        "impact_other": 0,
    }
