"""The Therapy Reflection Inventory has no scores: it is reported item by item. These cases check
what scoring still must get right: answers read as codes or labels, follow-ups asked only when
their condition holds, and an all-blank form (every question may be skipped) accepted."""

import pytest
from helpers import plan, score_both

from nefkit.definitions.responses import AnswerParser, CellError


@pytest.fixture(scope="module")
def tri():
    return plan("therapy-reflection")


def parser(tri, item_id):
    return AnswerParser(tri.instrument, tri.instrument.item_map[item_id])


def test_it_has_no_total_and_says_it_is_not_validated(tri):
    assert tri.steps == [] and tri.flags == []
    assert "not a validated scale" in tri.instrument.title


def test_bipolar_answers_read_as_codes_or_labels(tri):
    resilience = parser(tri, "resilience")
    assert resilience.parse("-2") == -2
    assert resilience.parse("clearly DIMINISHED it") == -2
    assert resilience.parse(2) == 2
    with pytest.raises(CellError, match="not an answer to resilience"):
        resilience.parse("3")


def test_multiple_choice_reads_codes_and_labels_in_any_order(tri):
    supports = parser(tri, "supports")
    assert supports.parse("Friends; Family") == (1, 2)
    assert supports.parse("9,3") == (3, 9)
    assert supports.parse([7, 8]) == (7, 8)
    # A label may hold a comma: alone it is one answer; with semicolons they separate.
    assert supports.parse("Movement, exercise or sport") == (5,)
    assert supports.parse("Family; movement, exercise or sport") == (1, 5)
    with pytest.raises(CellError):
        supports.parse("Family; Television")


def test_other_support_is_asked_only_when_something_else_was_chosen(tri):
    assert score_both(tri, {"supports": (1, 9), "supports_other": "choir"}).problems == []
    [(item, _)] = score_both(tri, {"supports": (1, 2), "supports_other": "choir"}).problems
    assert item == "supports_other"


def test_banking_follow_up_needs_a_yes(tri):
    assert score_both(tri, {"banking": 1, "banking_helpful": 2}).problems == []
    [(item, reason)] = score_both(tri, {"banking": 0, "banking_helpful": 2}).problems
    assert item == "banking_helpful" and "banking is 0 (No)" in reason


def test_an_entirely_blank_form_is_valid(tri):
    scored = score_both(tri, {})
    assert scored.problems == [] and scored.scores == {}
