"""The reliable-change methods against published figures.

Sources (the numbers below are copied from them; the primary papers' own examples could not be
read, see docs/reliable-change.md):
- CS: the R package clinicalsignificance (Claus et al.), github.com/benediktclaus/
  clinicalsignificance at 7b2f20bdd2421ef07312327529a9f39e0240eb41: its dataset claus_2020
  (40 complete pre/post pairs of the BDI-II and HAMD; ids 4, 17, 27 have no post score), the
  counts its test snapshots and README print (tests/testthat/_snaps/cs_distribution.md,
  README.md), and its unit tests' inputs (tests/testthat/test-calc_rci.R), whose expected
  values the tests there compute from the formula, as here.
- suddengains (Wiedemann et al.) tests/testthat/test-define_crit1_cutoff.R at e964e74: S_diff.
- scan (Wilbert & Lüke) docs/reference/rci.md at 64320bb: Christensen & Mendoza against
  Jacobson, Follette & Revenstorf on one example.
"""

from __future__ import annotations

import math
from collections import Counter
from statistics import correlation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nefkit.reliable_change import METHODS, Norms, direction, index, sample_norms

# claus_2020, complete cases in id order (CS README and snapshots use these 40).
BDI_PRE = [
    33,
    26,
    15,
    39,
    22,
    25,
    33,
    23,
    47,
    43,
    51,
    42,
    38,
    40,
    37,
    39,
    31,
    51,
    51,
    33,
    36,
    38,
    45,
    38,
    37,
    28,
    37,
    36,
    25,
    30,
    36,
    35,
    37,
    35,
    31,
    28,
    35,
    49,
    33,
    31,
]
BDI_POST = [
    27,
    19,
    5,
    46,
    28,
    18,
    30,
    8,
    24,
    13,
    44,
    51,
    17,
    27,
    30,
    48,
    27,
    44,
    25,
    34,
    22,
    38,
    53,
    16,
    36,
    4,
    22,
    32,
    2,
    19,
    23,
    38,
    7,
    8,
    27,
    19,
    23,
    37,
    9,
    28,
]
HAMD_PRE = [
    25,
    15,
    28,
    30,
    21,
    26,
    31,
    21,
    27,
    28,
    23,
    24,
    28,
    26,
    27,
    32,
    27,
    25,
    28,
    25,
    22,
    24,
    24,
    21,
    18,
    27,
    25,
    27,
    22,
    23,
    25,
    25,
    26,
    22,
    24,
    23,
    26,
    28,
    24,
    21,
]
HAMD_POST = [
    13,
    11,
    4,
    25,
    9,
    17,
    15,
    2,
    8,
    7,
    13,
    30,
    9,
    8,
    14,
    27,
    20,
    28,
    14,
    24,
    10,
    18,
    22,
    8,
    20,
    2,
    13,
    18,
    2,
    16,
    16,
    24,
    8,
    6,
    22,
    20,
    18,
    24,
    9,
    25,
]


def counts(method, before, after, reliability):
    norms = sample_norms(before, after, reliability)
    found = Counter(direction(method, x1, x2, norms, "lower") for x1, x2 in zip(before, after))
    return found["improved"], found["unchanged"], found["deteriorated"]


@pytest.mark.parametrize(
    "method, expected",
    [
        # CS snapshot cs_distribution.md: HAMD, reliability .80, lower is better.
        ("jacobson-truax", (29, 10, 1)),
        ("gulliksen-lord-novick", (29, 10, 1)),
        ("edwards-nunnally", (32, 5, 3)),
        ("hsu-linn-lord", (12, 16, 12)),
        ("hageman-arrindell", (32, 7, 1)),  # one-sided 5 %, post reliability from constant SE
    ],
)
def test_hamd_counts_as_clinicalsignificance_publishes_them(method, expected):
    assert counts(method, HAMD_PRE, HAMD_POST, 0.80) == expected


def test_bdi_shares_as_clinicalsignificance_publishes_them():
    # CS README and vignette: BDI-II, reliability .801: 45 % improved by Jacobson & Truax
    # (18 of 40; none deteriorated), 62.5 % by Hageman & Arrindell.
    assert counts("jacobson-truax", BDI_PRE, BDI_POST, 0.801) == (18, 22, 0)
    assert counts("hageman-arrindell", BDI_PRE, BDI_POST, 0.801)[0] == 25


def test_the_sample_statistics_behind_them():
    """Intermediate values the CS figures rest on (as recomputed from its formulas)."""
    hamd = sample_norms(HAMD_PRE, HAMD_POST, 0.80)
    assert math.isclose(hamd.pre_mean, 24.85) and math.isclose(hamd.pre_sd, 3.3401, abs_tol=1e-4)
    assert math.isclose(hamd.post_mean, 14.975)
    assert math.isclose(hamd.correlation, 0.1631, abs_tol=1e-4)
    assert math.isclose(hamd.post_reliability_or_derived, 0.9625, abs_tol=1e-4)


def test_jacobson_truax_s_diff_as_suddengains_tests_it():
    norms = Norms(pre_mean=0, pre_sd=10.5, reliability=0.961)
    assert math.isclose(norms.se, 2.073584, abs_tol=1e-6)
    # An index of exactly 1 is a change of S_diff: 2.93249.
    assert math.isclose(index("jacobson-truax", 0, 2.93249, norms), 1, abs_tol=1e-5)


def test_christensen_mendoza_as_scan_documents_it():
    """scan's rci(): SE 0.2449 (SD 0.548, reliability .8), a change of 12.4: Christensen and
    Mendoza 35.796, where Jacobson, Follette & Revenstorf's 1984 index (÷ SE) is 50.623."""
    norms = Norms(pre_mean=0.4, pre_sd=0.5477226, reliability=0.8)
    assert round(index("christensen-mendoza", 0, 12.4, norms), 3) == 35.796
    assert round(12.4 / norms.se, 3) == 50.623


PRE, HA_POST = [30, 20, 10, 8, 6, 4, 2], [3, 2, 2, 2, 2, 2, 1]


@pytest.mark.parametrize(
    "method, norms, post, expected",
    [
        # CS test-calc_rci.R, pre = (30, 20, 10, 8, 6, 4, 2) throughout.
        (
            "gulliksen-lord-novick",
            Norms(5, 7, 0.8),
            [2] * 7,
            [-5.4762, -3.5714, -1.6667, -1.2857, -0.9048, -0.5238, -0.1429],
        ),
        (
            "edwards-nunnally",
            Norms(10, 5, 0.8),
            [2] * 7,
            [-10.7331, -7.1554, -3.5777, -2.8622, -2.1466, -1.4311, -0.7155],
        ),
        (
            "hsu-linn-lord",
            Norms(10, 5, 0.8, post_mean=7),
            [3, 2, 2, 2, 2, 2, 1],
            [-6.6667, -4.3333, -1.6667, -1.1333, -0.6, -0.0667, 0.1333],
        ),
        (
            "hageman-arrindell",
            Norms(10, 5, 0.8, post_mean=7, post_sd=6, correlation=correlation(PRE, HA_POST)),
            [3, 2, 2, 2, 2, 2, 1],
            [-5.5636, -4.2453, -2.7804, -2.4875, -2.1945, -1.9015, -1.7551],
        ),
    ],
)
def test_indices_of_clinicalsignificance_unit_cases(method, norms, post, expected):
    found = [index(method, x1, x2, norms) for x1, x2 in zip(PRE, post)]
    assert found == pytest.approx(expected, abs=2e-4)


def test_mcnemar_by_hand():
    """No published example was found for the standard error of a difference of two fallible
    scores; checked by hand (S1 5, S2 6, both reliabilities .8: S_ED = sqrt(25 x .2 + 36 x .2)
    = sqrt(12.2) = 3.4928; 25 to 11 is -14 / 3.4928 = -4.0082), and against an independent
    form: with equal SDs and reliabilities it is Jacobson & Truax's index."""
    norms = Norms(20, 5, 0.8, post_sd=6, post_reliability=0.8)
    assert math.isclose(index("mcnemar", 25, 11, norms), -14 / math.sqrt(12.2))
    assert round(index("mcnemar", 25, 11, norms), 4) == -4.0082


@given(
    before=st.floats(0, 60),
    after=st.floats(0, 60),
    sd=st.floats(1, 20),
    reliability=st.floats(0.5, 0.98),
)
def test_mcnemar_is_jacobson_truax_with_equal_errors(before, after, sd, reliability):
    norms = Norms(30, sd, reliability, post_sd=sd, post_reliability=reliability)
    assert math.isclose(
        index("mcnemar", before, after, norms),
        index("jacobson-truax", before, after, norms),
        rel_tol=1e-9,
        abs_tol=1e-9,
    )


@given(before=st.floats(0, 60), after=st.floats(0, 60), reliability=st.floats(0.5, 0.98))
def test_every_method_is_symmetric_in_direction(before, after, reliability):
    """What counts as improvement for lower-is-better counts as deterioration for
    higher-is-better, for every method."""
    norms = Norms(30, 8, reliability, post_mean=25, post_sd=9, correlation=0.5)
    flipped = {"improved": "deteriorated", "deteriorated": "improved", "unchanged": "unchanged"}
    for method in METHODS:
        lower = direction(method, before, after, norms, "lower")
        assert direction(method, before, after, norms, "higher") == flipped[lower]


def test_a_method_says_what_it_needs():
    with pytest.raises(ValueError, match="hageman-arrindell needs post_mean, post_sd, correlation"):
        index("hageman-arrindell", 20, 10, Norms(20, 5, 0.8))


# The rule in a definition: each method by name, the same classes from Python and from SQL.
from nefkit_rules.change import ReliableChangeParams, ReliableChangeRule  # noqa: E402

from nefkit.sql import DIALECTS, SqlBuilder  # noqa: E402

NORM_PARAMS = {
    "mean": 20.0,
    "sd": 5.0,
    "reliability": 0.8,
    "post_mean": 12.0,
    "post_sd": 6.0,
    "correlation": 0.5,
}


def params(method, **more):
    return ReliableChangeParams(better="lower", method=method, **NORM_PARAMS, **more)


def test_the_rule_classifies_by_the_method_named():
    """The hand-computed example of docs/reliable-change.md: 25 to 11, lower is better
    (reference: pre 20 ± 5, post 12 ± 6, reliability .8, correlation .5). Only Hsu-Linn-Lord,
    which removes the group's own improvement of 8 points, calls it no reliable change."""
    rule = ReliableChangeRule()
    found = {method: rule.classify(25, 11, params(method)) for method in METHODS}
    assert found == {m: "reliably improved" for m in METHODS} | {
        "hsu-linn-lord": "no reliable change"
    }
    # With Jacobson & Truax's cut-off c (functional 6 ± 4): 12.22; 11 is past it.
    recovered = params(
        "jacobson-truax",
        cutoff_type="c",
        clinical_mean=20,
        clinical_sd=5,
        functional_mean=6,
        functional_sd=4,
    )
    assert rule.classify(25, 11, recovered) == "recovered"


def test_a_method_without_what_it_needs_is_a_definition_problem():
    with pytest.raises(ValueError, match="hageman-arrindell needs mean, post_mean"):
        ReliableChangeParams(better="lower", method="hageman-arrindell", sd=5, reliability=0.8)
    with pytest.raises(ValueError, match="a fixed threshold has no method"):
        ReliableChangeParams(better="lower", threshold=6, method="mcnemar")


@given(
    method=st.sampled_from(METHODS),
    pairs=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=30),
    better=st.sampled_from(["lower", "higher"]),
)
def test_sql_classifies_as_python_does(method, pairs, better):
    duckdb = pytest.importorskip("duckdb")
    rule = ReliableChangeRule()
    p = ReliableChangeParams(better=better, method=method, **NORM_PARAMS)
    expr = rule.to_sql(p, '"b"', '"a"', SqlBuilder(DIALECTS["duckdb"], "c_"))
    values = ", ".join(f"({b}, {a})" for b, a in pairs)
    found = [
        r[0] for r in duckdb.sql(f'SELECT {expr} FROM (VALUES {values}) t("b", "a")').fetchall()
    ]
    assert found == [rule.classify(b, a, p) for b, a in pairs]


def test_the_documented_example_is_a_valid_change_rule():
    """docs/reliable-change.md's TOML (the HAMD figures of the dataset above) makes a rule."""
    import re
    import tomllib
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "reliable-change.md").read_text()
    block = re.search(r"```toml\n(.*?)```", doc, re.S)[1]
    [change] = tomllib.loads(block)["changes"]
    assert change["rule"] == "reliable_change"
    p = ReliableChangeParams(**change["params"])
    norms = sample_norms(HAMD_PRE, HAMD_POST, 0.80)
    assert p.mean == round(norms.pre_mean, 2) and p.post_sd == round(norms.post_sd, 2)
    assert ReliableChangeRule().classify(25, 13, p) == "reliably improved"


def test_analyze_compares_the_methods_side_by_side():
    """`nefkit analyze` on the demo's PHQ-9 course: each respondent's first and last total,
    classified by the definition's own rule (the same classes the engine gives baseline to
    latest) and by every method with the sample's own figures and alpha."""
    from importlib.resources import files
    from pathlib import Path

    import nefkit
    from nefkit.research.analysis import analyze

    results = nefkit.score("phq-9", Path(str(files("nefkit_demo") / "data")) / "phq-9.csv")
    [comparison] = analyze(results).changes
    ends = [c for c in results.changes if c.comparison == "baseline to latest"]
    engine = Counter(c.classification for c in ends)
    by = {m.method: m for m in comparison.methods}
    rule = by["the definition's rule"]
    assert comparison.pairs == len(ends) == 12
    assert (rule.improved, rule.unchanged, rule.deteriorated) == (
        engine["recovered"] + engine["reliably improved"],
        engine["no reliable change"],
        engine["reliably deteriorated"],
    )
    assert comparison.reliability_source == "Cronbach's alpha of this data"
    norms = sample_norms([c.before for c in ends], [c.after for c in ends], comparison.reliability)
    for method in METHODS:
        expected = Counter(direction(method, c.before, c.after, norms, "lower") for c in ends)
        found = by[method]
        assert (found.improved, found.unchanged, found.deteriorated) == (
            expected["improved"],
            expected["unchanged"],
            expected["deteriorated"],
        )


def test_the_comparison_reaches_the_workbook_and_the_page(tmp_path):
    from importlib.resources import files
    from pathlib import Path

    import openpyxl
    from click.testing import CliRunner

    from nefkit.cli import cli

    data = Path(str(files("nefkit_demo") / "data")) / "phq-9.csv"
    for name in ("a.xlsx", "a.html"):
        done = CliRunner().invoke(cli, ["analyze", "phq-9", str(data), "-o", str(tmp_path / name)])
        assert done.exit_code == 0, done.output
    sheet = openpyxl.load_workbook(tmp_path / "a.xlsx")["Change methods"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = next(i for i, row in enumerate(rows) if row[:2] == ["change", "method"])
    by = {row[1]: row for row in rows[header + 1 :] if row[0] == "total_change"}
    assert set(by) == {"the definition's rule", *METHODS}
    assert by["hsu-linn-lord"][2:6] == [1, 9, 2, 12]  # numbers, not text
    page = (tmp_path / "a.html").read_text()
    assert "Reliable change by method" in page and "hageman-arrindell" in page


def test_the_jacobson_truax_plot(tmp_path):
    """The analysis page's plot of the demo's PHQ-9: a mark per distinct pair, each inside the
    plot, the kind of mark by the definition's class, the legend in words, and the numbers in
    its description."""
    import re
    import xml.etree.ElementTree as ET
    from importlib.resources import files
    from pathlib import Path

    from click.testing import CliRunner

    from nefkit.cli import cli

    data = Path(str(files("nefkit_demo") / "data")) / "phq-9.csv"
    out = tmp_path / "a.html"
    assert CliRunner().invoke(cli, ["analyze", "phq-9", str(data), "-o", str(out)]).exit_code == 0
    page = out.read_text()
    svg = re.search(r'<svg class="chart" id="chart-change-total-change".*?</svg>', page, re.S)[0]
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    desc = root.find("s:desc", ns).text
    assert (
        "12 respondents" in desc
        and "9 reliably improved, 2 no reliable change, 1 reliably deteriorated" in desc
    )
    words = " ".join(
        t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}tspan")
    ) + " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for said in (
        "within 6 points of no change",
        "Clinical cut-off: 10",
        "Reliably improved",
        "Reliably deteriorated",
        "First score",
        "Last score",
    ):
        assert said in words
    # Marks: diamonds (improved), circles (no change), a triangle (deteriorated), inside the area.
    area = root.find("s:rect", ns)  # the plot's square
    x0, y0 = float(area.get("x")), float(area.get("y"))
    x1, y1 = x0 + float(area.get("width")), y0 + float(area.get("height"))
    circles = [c for c in root.iter("{http://www.w3.org/2000/svg}circle")]
    for circle in circles[:-1]:  # the last is the legend's
        assert x0 < float(circle.get("cx")) < x1 and y0 < float(circle.get("cy")) < y1


def test_a_method_the_figures_leave_undefined_is_said_not_guessed():
    """Everyone changed by the same amount: Hageman & Arrindell's reliability of a change is
    undefined; the others still count, and the comparison says why one is missing."""
    norms = sample_norms([10, 12, 14, 16], [6, 8, 10, 12], 0.8)
    with pytest.raises(ValueError, match="every change is the same"):
        index("hageman-arrindell", 10, 6, norms)
    # SD sqrt(20/3) = 2.582, SE 1.155, S_diff 1.633: -4 / 1.633 = -2.45, reliably lower.
    assert direction("jacobson-truax", 10, 6, norms, "lower") == "improved"


def test_hageman_arrindell_clinical_significance_as_clinicalsignificance_publishes_it():
    """CS snapshot cs_combined.md: HAMD, reliability .80, functional group 8 ± 8, cut-off c:
    recovered 23, improved 9, unchanged 7, deteriorated 1; the group level: changed 90.31 %,
    functional 75.55 %. Intermediate: true cut-off 20.2091 (note)."""
    from nefkit.reliable_change import functional_at_end, group_figures, true_cutoff

    norms = sample_norms(HAMD_PRE, HAMD_POST, 0.80)
    assert round(true_cutoff(norms, 8, 8), 4) == 20.2091
    found = Counter()
    for x1, x2 in zip(HAMD_PRE, HAMD_POST):
        moved = direction("hageman-arrindell", x1, x2, norms, "lower")
        if moved == "improved" and functional_at_end(x1, x2, norms, 8, 8, "lower"):
            moved = "recovered"
        found[moved] += 1
    assert (found["recovered"], found["improved"], found["unchanged"], found["deteriorated"]) == (
        23,
        9,
        7,
        1,
    )
    changed, functional = group_figures(HAMD_PRE, HAMD_POST, norms, 8, 8, "lower")
    assert (round(100 * changed, 2), round(100 * functional, 2)) == (90.31, 75.55)
