"""Cohort figures and the codebook, checked against counts made by hand."""

import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# The cohort figures are counted a column at a time; here they are counted again the plain way,
# one answer at a time, for both engines (whose rows hold their answers differently).
# An effect not experienced (or not answered) has its follow-ups left blank, as they are not asked.
_EFFECT = st.one_of(
    st.sampled_from([("0", "", ""), ("", "", "")]),
    st.tuples(
        st.just("1"),
        st.sampled_from(["0", "1", "2", "3", "4", ""]),
        st.sampled_from(["0", "1", ""]),
    ),
)
_ROW = st.tuples(
    st.sampled_from(["a", "b", "c", "d", "e"]),
    st.sampled_from(["north", "south"]),
    st.lists(_EFFECT, min_size=20, max_size=20),
    st.sampled_from([False, False, False, True]),  # an unreadable impact: an invalid row
)


def _plain_figures(summary):
    """What the per-row count would say, from the rows themselves: see _by_hand."""
    items = {
        item_id: (
            s.answered,
            s.missing,
            s.not_asked,
            dict(s.counts),
            s.moments.n,
            s.moments.average,
            s.moments.sd,
        )
        for item_id, s in summary.items.items()
    }
    effects = [
        (
            e.item_id,
            e.answered,
            e.experienced,
            e.treatment_count,
            e.impact.n,
            e.impact.average,
            e.impact.sd,
        )
        for e in summary.effects
    ]
    scores = {
        sid: (s.scored, s.not_scorable, dict(s.counts), s.moments.average, s.moments.sd)
        for sid, s in summary.scores.items()
    }
    return (
        summary.rows,
        summary.invalid,
        set(summary.respondents),
        items,
        effects,
        scores,
        dict(summary.flags),
        dict(summary.unknown_flags),
    )


def _by_hand(rows, plan):
    """The figures of ``rows`` counted one answer at a time."""
    import statistics

    from nefkit.rules import NOT_ASKED
    from nefkit.summary import effect_items

    def moments(values):
        return (
            len(values),
            statistics.fmean(values) if values else None,
            statistics.stdev(values) if len(values) > 1 else None,
        )

    valid = [row for row in rows if row.valid]
    items = {}
    for item in plan.items:
        if item.type == "text":
            continue
        answers = [row.answers.get(item.id) for row in valid]
        given = [a for a in answers if a is not None and a is not NOT_ASKED]
        items[item.id] = (
            len(given),
            answers.count(None),
            sum(a is NOT_ASKED for a in answers),
            dict(Counter(given)),
            *moments([a for a in given if isinstance(a, (int, float))]),
        )
    effects = []
    for effect in effect_items(plan):
        answered = [row.answers for row in valid if row.answers.get(effect.item_id) is not None]
        yes = [a for a in answered if a.get(effect.item_id) == 1]
        impacts = [a.get(effect.impact_id) for a in yes]
        effects.append(
            (
                effect.item_id,
                len(answered),
                len(yes),
                sum(a.get(effect.cause_id) == effect.treatment for a in yes),
                *moments([i for i in impacts if isinstance(i, (int, float))]),
            )
        )
    scores = {}
    for step in plan.steps:
        values = [row.scores[step.score.id].value for row in valid]
        given = [v for v in values if v is not None]
        words = [v for v in given if isinstance(v, (bool, str))]
        numbers = [v for v in given if not isinstance(v, (bool, str))]
        scores[step.score.id] = (
            len(given),
            values.count(None),
            dict(Counter(words)),
            *moments(numbers)[1:],
        )
    flags = Counter(f for row in valid for f, raised in row.flags.items() if raised)
    unknown = Counter(f for row in valid for f, raised in row.flags.items() if raised is None)
    return (
        len(rows),
        len(rows) - len(valid),
        {row.respondent_id for row in valid},
        items,
        effects,
        scores,
        dict(flags),
        dict(unknown),
    )


def _close(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(_ROW, min_size=1, max_size=20),
    copies=st.integers(2, 3),  # the same answers again: counts above one
    batch=st.sampled_from([1, 5, 4096]),
)
def test_column_counts_agree_with_counting_one_answer_at_a_time(
    tmp_path, engine, rows, copies, batch
):
    rows = rows * copies
    header = ["respondent_id", "site"]
    for item in NEQ_ITEMS:
        header += [item, f"{item}_impact", f"{item}_cause"]
    lines = [",".join(header)]
    for respondent, site, answers, broken in rows:
        cells = [cell for triple in answers for cell in triple]
        if broken:
            cells[1] = "x"  # neq01's impact
        lines.append(",".join([respondent, site, *cells]))
    path = tmp_path / "neq.csv"
    path.write_text("\n".join(lines) + "\n")
    results = nefkit.score("neq-20", path, engine=engine)
    scored = list(results.rows)
    summary = GroupedSummary(results.plan, "site")
    summary.BATCH = batch  # batches that split the engine's chunks, and one that holds them all
    for row in scored:
        summary.add(row)
    assert _close(_plain_figures(summary.overall), _by_hand(scored, results.plan))
    for site, group in summary.groups.items():
        first_site = {}
        for row in scored:
            if row.valid:
                first_site.setdefault(row.respondent_id, row.context["site"])
        members = [r for r in scored if r.valid and first_site[r.respondent_id] == site]
        assert _close(_plain_figures(group)[2:], _by_hand(members, results.plan)[2:])
