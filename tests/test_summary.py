"""Cohort figures and the codebook, checked against counts made by hand."""

import math

import nefkit
from nefkit.codebook import codebook
from nefkit.summary import GroupedSummary

NEQ_ITEMS = [f"neq{k:02d}" for k in range(1, 21)]


def neq_csv(tmp_path, rows):
    """rows: (respondent, site, {item: (impact, cause)}) with every other effect answered No."""
    header = ["respondent_id", "site"]
    for item in NEQ_ITEMS:
        header += [item, f"{item}_impact", f"{item}_cause"]
    lines = [",".join(header)]
    for respondent, site, effects in rows:
        cells = [respondent, site]
        for item in NEQ_ITEMS:
            if item in effects:
                impact, cause = effects[item]
                cells += ["1", str(impact), str(cause)]
            else:
                cells += ["0", "", ""]
        lines.append(",".join(cells))
    path = tmp_path / "neq.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def summarise(path, by=None):
    results = nefkit.score("neq-20", path)
    summary = GroupedSummary(results.plan, by)
    for row in results.rows:
        summary.add(row)
    for change in results.changes:
        summary.add_change(change)
    return summary


def test_effect_prevalence_attribution_and_impact(tmp_path):
    path = neq_csv(
        tmp_path,
        [
            ("a", "north", {"neq08": (4, 1), "neq01": (2, 0)}),
            ("b", "north", {"neq08": (2, 0)}),
            ("c", "south", {}),
            ("d", "south", {"neq08": (3, 1)}),
        ],
    )
    summary = summarise(path)
    effects = {e.item_id: e for e in summary.overall.effects}
    memories = effects["neq08"]  # "Unpleasant memories resurfaced"
    assert memories.text == "Unpleasant memories resurfaced"
    assert (memories.answered, memories.experienced, memories.treatment_count) == (4, 3, 2)
    assert memories.percent_experienced == 75 and memories.percent_treatment == 50
    assert memories.impact.average == 3  # (4 + 2 + 3) / 3
    assert math.isclose(memories.impact.sd, 1.0)
    # Impact questions of effects not experienced were not asked: not counted as missing.
    impact = summary.overall.items["neq08_impact"]
    assert (impact.answered, impact.missing, impact.not_asked) == (3, 0, 1)
    effects_score = summary.overall.scores["effects"]
    assert effects_score.scored == 4 and effects_score.moments.average == 1  # (2+1+0+1)/4
    mean_impact = summary.overall.scores["impact_mean"]
    assert (mean_impact.scored, mean_impact.not_scorable) == (3, 1)  # c reported nothing
    assert summary.overall.flags["effects_from_treatment"] == 2


def test_breakdown_hides_small_groups(tmp_path):
    rows = [(f"n{i}", "north", {"neq08": (3, 1)}) for i in range(5)]
    rows += [(f"s{i}", "south", {}) for i in range(2)]
    summary = summarise(neq_csv(tmp_path, rows), by="site")
    shown, hidden = summary.shown_groups(min_cell=5)
    assert list(shown) == ["north"] and hidden == 1
    assert shown["north"].effects[7].percent_experienced == 100
    assert len(summary.overall.respondents) == 7


def test_codebook_states_every_missing_data_policy():
    book = codebook(nefkit.get_plan("phq-9"))
    total = next(row for row in book["scores"] if row["score"] == "total")
    assert total["missing answers"] == "every applicable answer is needed; otherwise not scorable"
    assert total["from"].startswith("phq9_1, phq9_2")
    severity = next(row for row in book["scores"] if row["score"] == "severity")
    assert severity["missing answers"] == "not scorable when total is not scorable"
    item9 = next(row for row in book["items"] if row["column"] == "phq9_9")
    assert item9["answers"].startswith("0 = Not at all; 1 = Several days")
    [flag] = book["flags"]
    assert flag["raised when"] == "phq9_9 > 0" and flag["level"] == "risk"
    functional = next(row for row in book["items"] if row["column"] == "phq9_10")
    assert functional["scored"] == "no" and functional["asked when"].startswith("phq9_1 > 0 or")
