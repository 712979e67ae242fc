"""PHQ-9 and GAD-7 scored against hand-computed cases from their published scoring: totals,
severity bands at every cut-point, NHS Talking Therapies caseness and reliable change, the PHQ-9
item 9 risk flag, and the missing-answer policy (no prorating: the sources give none)."""

import pytest
from helpers import plan, score_both, values


def phq(*answers):
    return {f"phq9_{i}": a for i, a in enumerate(answers, 1)}


def gad(*answers):
    return {f"gad7_{i}": a for i, a in enumerate(answers, 1)}


@pytest.fixture(scope="module")
def phq9():
    return plan("phq-9")


@pytest.fixture(scope="module")
def gad7():
    return plan("gad-7")


@pytest.mark.parametrize(
    "answers, total, band, case",
    [
        ((0, 0, 0, 0, 0, 0, 0, 0, 0), 0, "Minimal", False),
        ((1, 1, 1, 1, 0, 0, 0, 0, 0), 4, "Minimal", False),
        ((1, 1, 1, 1, 1, 0, 0, 0, 0), 5, "Mild", False),
        ((1, 2, 1, 2, 1, 2, 0, 0, 0), 9, "Mild", False),
        ((1, 2, 3, 0, 1, 2, 1, 0, 0), 10, "Moderate", True),
        ((3, 3, 3, 3, 2, 0, 0, 0, 0), 14, "Moderate", True),
        ((3, 3, 3, 3, 3, 0, 0, 0, 0), 15, "Moderately severe", True),
        ((3, 3, 3, 3, 3, 3, 1, 0, 0), 19, "Moderately severe", True),
        ((3, 3, 3, 3, 3, 3, 2, 0, 0), 20, "Severe", True),
        ((3, 3, 3, 3, 3, 3, 3, 3, 3), 27, "Severe", True),
    ],
)
def test_phq9_total_band_and_caseness(phq9, answers, total, band, case):
    scored = score_both(phq9, phq(*answers))
    assert values(scored) == {"total": total, "severity": band, "case": case}
    assert all(r.status == "complete" for r in scored.scores.values())


def test_phq9_item9_raises_the_risk_flag_at_any_frequency(phq9):
    for frequency in (1, 2, 3):
        assert score_both(phq9, phq(0, 0, 0, 0, 0, 0, 0, 0, frequency)).flags == {
            "self_harm_thoughts": True
        }
    assert score_both(phq9, phq(3, 3, 3, 3, 3, 3, 3, 3, 0)).flags == {"self_harm_thoughts": False}


def test_phq9_missing_answer_makes_total_not_scorable_and_says_which(phq9):
    scored = score_both(phq9, phq(2, 2, 2, None, 2, 2, 2, 2, 0))
    total = scored.scores["total"]
    assert (total.value, total.status, total.answered) == (None, "not scorable", 8)
    assert "phq9_4" in total.reason and "1 of 9" in total.reason
    assert scored.scores["severity"].status == "not scorable"
    assert scored.scores["case"].value is None
    # Item 9 was answered 0, so the risk flag is known to be down.
    assert scored.flags["self_harm_thoughts"] is False


def test_phq9_unanswered_item9_leaves_the_risk_flag_unknown_not_down(phq9):
    scored = score_both(phq9, phq(0, 0, 0, 0, 0, 0, 0, 0, None))
    assert scored.flags["self_harm_thoughts"] is None


def test_phq9_functional_question_is_asked_only_after_a_problem_and_never_scored(phq9):
    with_problem = phq(0, 1, 0, 0, 0, 0, 0, 0, 0) | {"phq9_10": 2}
    assert score_both(phq9, with_problem).problems == []
    assert values(score_both(phq9, with_problem))["total"] == 1
    none = phq(0, 0, 0, 0, 0, 0, 0, 0, 0) | {"phq9_10": 2}
    [(item, reason)] = score_both(phq9, none).problems
    assert item == "phq9_10" and "asked only when" in reason


@pytest.mark.parametrize(
    "before, after, expected",
    [
        (17, 24, "reliably deteriorated"),  # +7
        (15, 21, "reliably deteriorated"),  # +6 is reliable
        (15, 20, "no reliable change"),  # +5 is not
        (12, 7, "no reliable change"),  # -5
        (17, 11, "reliably improved"),  # -6, still a case (11 >= 10)
        (17, 8, "recovered"),  # -9 and below caseness
        (16, 10, "reliably improved"),  # -6 but 10 is still a case
        (9, 3, "reliably improved"),  # -6, but was never a case, so not "recovered"
    ],
)
def test_phq9_reliable_change_nhs_talking_therapies(phq9, before, after, expected):
    [step] = phq9.changes
    assert step.rule.classify(before, after, step.params) == expected


@pytest.mark.parametrize(
    "answers, total, band, case",
    [
        ((0, 0, 0, 0, 0, 0, 0), 0, "Minimal", False),
        ((1, 1, 1, 1, 0, 0, 0), 4, "Minimal", False),
        ((1, 1, 1, 1, 1, 1, 1), 7, "Mild", False),
        ((2, 1, 1, 1, 1, 1, 1), 8, "Mild", True),
        ((2, 2, 2, 1, 1, 1, 1), 10, "Moderate", True),
        ((3, 3, 3, 3, 2, 0, 0), 14, "Moderate", True),
        ((3, 3, 3, 3, 3, 0, 0), 15, "Severe", True),
        ((3, 3, 3, 3, 3, 3, 3), 21, "Severe", True),
    ],
)
def test_gad7_total_band_and_caseness(gad7, answers, total, band, case):
    assert values(score_both(gad7, gad(*answers))) == {
        "total": total,
        "severity": band,
        "case": case,
    }


def test_gad7_missing_answer_is_not_counted_as_zero(gad7):
    scored = score_both(gad7, gad(3, 3, 3, 3, 3, 3, None))
    assert scored.scores["total"].value is None
    assert "gad7_7" in scored.scores["total"].reason


@pytest.mark.parametrize(
    "before, after, expected",
    [
        (12, 8, "reliably improved"),  # -4, 8 is still a case
        (12, 7, "recovered"),
        (10, 13, "no reliable change"),
        (10, 14, "reliably deteriorated"),
        (6, 2, "reliably improved"),
    ],
)
def test_gad7_reliable_change_nhs_talking_therapies(gad7, before, after, expected):
    [step] = gad7.changes
    assert step.rule.classify(before, after, step.params) == expected
