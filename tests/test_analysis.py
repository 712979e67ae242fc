"""nefkit.research.analysis and nefkit.research.psychometrics: figures checked by hand, against pingouin, pandas and
scipy (test-only dependencies), and for streaming."""

from __future__ import annotations

import csv
import json
import math
import random
import tempfile
import tracemalloc
from fractions import Fraction
from pathlib import Path

import pytest
from helpers import registry
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import nefkit
from nefkit.definitions.instrument import Instrument
from nefkit.research import psychometrics as pm
from nefkit.research.analysis import Analysis, analyze
from nefkit.results import ScoredRow

DEMO = Path(__file__).resolve().parent.parent / "plugins" / "nefkit_demo" / "data"
SLOW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- helpers ----------------------------------------------------------------------------------


def scale_instrument(
    items: list[str], high: int = 4, reverse: list[str] = (), extra_scores=()
) -> Instrument:
    """A k-item scale answered 0..high, with a 'total' sum (reverse-keying ``reverse``)."""
    params = {"reverse": {"items": list(reverse), "low": 0, "high": high}} if reverse else {}
    return Instrument.model_validate(
        {
            "id": "scale-test",
            "version": "1",
            "title": "A test scale",
            "citation": "none",
            "licence": "none",
            "source": "none",
            "scales": {
                "agree": {"choices": [{"value": v, "label": f"level {v}"} for v in range(high + 1)]}
            },
            "items": [{"id": i, "text": f"Item {i}", "scale": "agree"} for i in items],
            "scores": [
                {"id": "total", "label": "Total", "rule": "sum", "items": items, "params": params},
                *extra_scores,
            ],
        }
    )


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def analyse_table(instrument, header, rows, **kwargs) -> Analysis:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(Path(tmp) / "data.csv", header, rows)
        return analyze(nefkit.score(instrument, path, registry()), **kwargs)


def by_id(entries, key="item_id"):
    return {getattr(e, key): e for e in entries}


def latent_data(seed: int, n: int, k: int, strength: float, missing: float, high: int = 4):
    """n respondents x k items from one latent trait, rounded into 0..high; None where missing."""
    rng = random.Random(seed)
    data = []
    for _ in range(n):
        trait = rng.gauss(0, 1)
        row = []
        for _ in range(k):
            value = round(high / 2 + strength * trait + rng.gauss(0, 1))
            value = min(high, max(0, value))
            row.append(None if rng.random() < missing else value)
        data.append(row)
    return data


def feldt_reference(alpha: float, n: int, k: int):
    """pingouin's interval formula, without its rounding to 3 decimals."""
    f = pytest.importorskip("scipy.stats").f

    df1, df2 = n - 1, (n - 1) * (k - 1)
    return 1 - (1 - alpha) * f.isf(0.025, df1, df2), 1 - (1 - alpha) * f.isf(0.975, df1, df2)


def assert_matches_pingouin(reliability, keyed):
    """``keyed``: a DataFrame of the score's items after reverse keying, NaN where blank."""
    pg = pytest.importorskip("pingouin")
    # Listwise deletion done here: pingouin's own nan_policy="listwise" takes n before dropping
    # rows, which would give its interval the wrong degrees of freedom.
    complete = keyed.dropna()
    n, k = complete.shape
    assert reliability.n_complete == n
    assert reliability.n_incomplete == len(keyed) - n
    if n < 2 or complete.sum(axis=1).var() == 0:
        assert reliability.alpha is None
        return
    alpha, ci = pg.cronbach_alpha(complete, ci=0.95)
    assert reliability.alpha == pytest.approx(alpha, abs=1e-9, rel=1e-9)
    low, high = feldt_reference(alpha, n, k)
    assert reliability.alpha_ci_low == pytest.approx(low, abs=1e-9, rel=1e-9)
    assert reliability.alpha_ci_high == pytest.approx(high, abs=1e-9, rel=1e-9)
    # pingouin itself reports the interval rounded to 3 decimals.
    assert abs(reliability.alpha_ci_low - ci[0]) <= 0.0005 + 1e-9
    assert abs(reliability.alpha_ci_high - ci[1]) <= 0.0005 + 1e-9
    for entry in reliability.item_total:
        item = entry.item_id
        rest = complete.drop(columns=[item])
        expected_r = complete[item].corr(rest.sum(axis=1))
        if math.isnan(expected_r):
            assert entry.corrected_r is None
        else:
            assert entry.corrected_r == pytest.approx(expected_r, abs=1e-9)
        if k >= 3 and rest.sum(axis=1).var() > 0:
            expected_alpha = pg.cronbach_alpha(rest)[0]
            assert entry.alpha_if_deleted == pytest.approx(expected_alpha, abs=1e-9, rel=1e-9)


def assert_matches_pandas_corr(matrix, keyed):
    expected = keyed.corr()  # pandas: Pearson, pairwise complete
    present = keyed.notna().astype(int)
    counts = present.T @ present
    for i, a in enumerate(matrix.items):
        for j, b in enumerate(matrix.items):
            assert matrix.n[i][j] == counts.loc[a, b]
            value = expected.loc[a, b]
            if math.isnan(value):
                assert matrix.r[i][j] is None
            else:
                assert matrix.r[i][j] == pytest.approx(value, abs=1e-9)


# --- the F distribution -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 2000),
    st.integers(1, 200_000),
    st.floats(1e-6, 1 - 1e-6),
)
def test_f_quantile_matches_scipy(df1, df2, p):
    f = pytest.importorskip("scipy.stats").f
    assert pm.f_ppf(p, df1, df2) == pytest.approx(f.ppf(p, df1, df2), rel=1e-9)


@pytest.mark.parametrize(
    "df1, df2",
    [(1, 1), (1, 2), (3, 6), (9, 72), (299, 4186), (9_999, 139_986), (99_999, 9_999_900)],
)
@pytest.mark.parametrize("p", [0.025, 0.975, 0.5, 1e-6, 1 - 1e-6])
def test_f_quantile_at_the_extremes(df1, df2, p):
    f = pytest.importorskip("scipy.stats").f
    assert pm.f_ppf(p, df1, df2) == pytest.approx(f.ppf(p, df1, df2), rel=1e-9)
    assert pm.f_cdf(pm.f_ppf(p, df1, df2), df1, df2) == pytest.approx(p, rel=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.floats(0.05, 5000), st.floats(0.05, 5000), st.floats(0, 1))
def test_incomplete_beta_matches_scipy(a, b, x):
    special = pytest.importorskip("scipy.special")
    # Above 1/2, scipy is asked for 1 - I(1 - x; b, a): 1 - x is exact there, and close to 1
    # scipy's direct form loses digits (I(0.9999999999999999; 1/2, 1/2) is 1 - 6.708e-9,
    # scipy says 1 - 9.486e-9).
    want = special.betainc(a, b, x) if x <= 0.5 else 1 - special.betainc(b, a, 1 - x)
    assert pm.betainc(a, b, x) == pytest.approx(want, rel=1e-9, abs=1e-15)


# --- alpha, item-total, correlations: by hand -------------------------------------------------

# Three items answered 0-3; c is reverse-keyed (stored answer = 3 - keyed value). Keyed values:
#
#   row  a  b  c(keyed)  c(as answered)   total
#    1   0  1  0         3                 1
#    2   1  1  2         1                 4
#    3   2  3  1         2                 6
#    4   3  3  3         0                 9
#    5   1  -  1         2                 not scorable (b blank): not a complete case
#
# Complete cases (rows 1-4): means a 1.5, b 2, c 1.5.
#   deviations a: -1.5 -0.5 0.5 1.5   b: -1 -1 1 1   c: -1.5 0.5 -0.5 1.5
#   sums of squares / cross-products (= 3 x covariance):
#     aa 5, bb 4, cc 5, ab 1.5+0.5+0.5+1.5 = 4, ac 2.25-0.25-0.25+2.25 = 4, bc 1.5-0.5-0.5+1.5 = 2
#   total: 1 4 6 9, mean 5, deviations -4 -1 1 4: SS 34 (= 5+4+5 + 2(4+4+2))
#   alpha = 3/2 (1 - 14/34) = 15/17
# Corrected item-total (item vs the other two) and alpha if deleted (k = 2: 2 (1 - trace/SS)):
#   a: rest b+c = 1 3 4 6, SS 13; cross 4+4 = 8: r = 8/sqrt(5*13);  alpha = 2 (1 - 9/13) = 8/13
#   b: rest a+c = 0 3 3 6, SS 18; cross 4+2 = 6: r = 6/sqrt(4*18);  alpha = 2 (1 - 10/18) = 8/9
#   c: rest a+b = 1 2 5 6, SS 17; cross 4+2 = 6: r = 6/sqrt(5*17);  alpha = 2 (1 - 9/17) = 16/17
# Pairwise correlations: ab, bc on rows 1-4: 4/sqrt(5*4), 2/sqrt(4*5).
#   ac on rows 1-5: a 0 1 2 3 1, c 0 2 1 3 1, both mean 1.4:
#   deviations a -1.4 -0.4 0.6 1.6 -0.4, c -1.4 0.6 -0.4 1.6 -0.4
#   SS a = 1.96+0.16+0.36+2.56+0.16 = 5.2, SS c = 5.2, cross 1.96-0.24-0.24+2.56+0.16 = 4.2
#   r = 4.2/5.2 = 21/26
# One factor: with 3 items it fits exactly, lambda_a^2 = r_ab r_ac / r_bc
#   = (4/sqrt(20)) (4/5) / (2/sqrt(20)) = 8/5 > 1: a Heywood case, so no omega.

HAND_HEADER = ["respondent_id", "a", "b", "c"]
HAND_ROWS = [["r1", 0, 1, 3], ["r2", 1, 1, 1], ["r3", 2, 3, 2], ["r4", 3, 3, 0], ["r5", 1, None, 2]]
PRORATED = {
    "id": "prorated",
    "label": "Prorated total",
    "rule": "prorated_sum",
    "items": ["a", "b", "c"],
    "params": {"max_missing": 1, "reverse": {"items": ["c"], "low": 0, "high": 3}},
}


def hand_analysis() -> Analysis:
    instrument = scale_instrument(["a", "b", "c"], high=3, reverse=["c"], extra_scores=[PRORATED])
    return analyse_table(instrument, HAND_HEADER, HAND_ROWS)


def test_alpha_item_total_and_correlations_by_hand():
    analysis = hand_analysis()
    total = by_id(analysis.scores, "score_id")["total"]
    rel = total.reliability
    assert rel.items == ("a", "b", "c") and rel.reversed == ("c",)
    assert (rel.n_complete, rel.n_incomplete) == (4, 1)
    assert rel.alpha == float(Fraction(15, 17))  # exact co-moments, rounded once
    # Feldt with n = 4, k = 3: F(3, 6). From printed F tables: F_.975(3, 6) = 6.5988 and
    # F_.025(3, 6) = 1 / F_.975(6, 3) = 1 / 14.735, so the interval is
    # 1 - (2/17)·6.5988 = 0.22367 to 1 - (2/17)/14.735 = 0.99202.
    assert rel.alpha_ci_low == pytest.approx(0.22367, abs=1e-5)
    assert rel.alpha_ci_high == pytest.approx(0.99202, abs=1e-5)
    expected = {
        "a": (8 / math.sqrt(65), 8 / 13),
        "b": (6 / math.sqrt(72), 8 / 9),
        "c": (6 / math.sqrt(85), 16 / 17),
    }
    for entry in rel.item_total:
        r, deleted = expected[entry.item_id]
        assert entry.corrected_r == pytest.approx(r, abs=1e-15)
        assert entry.alpha_if_deleted == pytest.approx(deleted, abs=1e-15)
        assert entry.reversed == (entry.item_id == "c") and entry.n == 4
    corr = rel.correlations
    assert corr.n == ((5, 4, 5), (4, 4, 4), (5, 4, 5))
    assert corr.r[0][1] == pytest.approx(4 / math.sqrt(20), abs=1e-15)
    assert corr.r[1][2] == pytest.approx(2 / math.sqrt(20), abs=1e-15)
    assert corr.r[0][2] == corr.r[2][0] == pytest.approx(21 / 26, abs=1e-15)
    assert corr.r[0][0] == corr.r[1][1] == corr.r[2][2] == 1.0
    assert rel.omega is None and "Heywood" in rel.omega_note and "for a)" in rel.omega_note
    # The item table points at the same figures.
    b_entries = by_id(analysis.items)["b"].item_total
    assert [e.score_id for e in b_entries] == ["total", "prorated"]
    assert b_entries[0] == rel.item_total[1]
    # The prorated score is computed for row 5 too, but its reliability stays listwise.
    prorated = by_id(analysis.scores, "score_id")["prorated"]
    assert (prorated.n, prorated.complete, prorated.prorated) == (5, 4, 1)
    assert prorated.mean == pytest.approx((1 + 4 + 6 + 9 + 3) / 5)  # row 5: (1 + 1) * 3/2 = 3
    assert prorated.reliability.alpha == rel.alpha and prorated.reliability.n_complete == 4


def test_item_and_score_statistics_by_hand():
    analysis = hand_analysis()
    assert (analysis.rows_read, analysis.invalid_rows, analysis.rows_analysed) == (5, 0, 5)
    assert analysis.respondents == 5 and analysis.notes == ()
    items = by_id(analysis.items)
    a, b, c = items["a"], items["b"], items["c"]
    # a: 0 1 2 3 1 -> mean 1.4, SS 5.2, SD sqrt(5.2/4); one 0 and one 3 of 5 answers.
    assert (a.answered, a.missing, a.missing_percent, a.not_asked) == (5, 0, 0, 0)
    assert a.mean == 1.4 and a.sd == pytest.approx(math.sqrt(1.3), abs=1e-15)
    assert [(x.code, x.label, x.count, x.percent) for x in a.distribution] == [
        (0, "level 0", 1, 20.0),
        (1, "level 1", 2, 40.0),
        (2, "level 2", 1, 20.0),
        (3, "level 3", 1, 20.0),
    ]
    assert (a.floor_percent, a.ceiling_percent, a.minimum, a.maximum) == (20, 20, 0, 3)
    # b: 1 1 3 3 and a blank: 1 of 5 asked is missing; nobody at the floor, half at the ceiling.
    assert (b.asked, b.answered, b.missing, b.missing_percent) == (5, 4, 1, 20.0)
    assert b.mean == 2 and b.sd == pytest.approx(math.sqrt(4 / 3), abs=1e-15)
    assert [x.count for x in b.distribution] == [0, 2, 0, 2]
    assert [x.percent for x in b.distribution] == [0, 50, 0, 50]
    assert (b.floor_percent, b.ceiling_percent) == (0, 50)
    # c is described as answered (3 1 2 0 2), not as keyed: reverse keying is for the scale.
    assert c.mean == 1.6 and [x.count for x in c.distribution] == [1, 1, 2, 1]
    # total: 1 4 6 9 (row 5 not scorable): mean 5, SS 34, SD sqrt(34/3).
    total = by_id(analysis.scores, "score_id")["total"]
    assert (total.n, total.complete, total.prorated, total.not_scorable) == (4, 4, 0, 1)
    assert total.mean == 5 and total.sd == pytest.approx(math.sqrt(34 / 3), abs=1e-15)
    assert (total.minimum, total.maximum) == (1, 9)
    assert total.reliability_note == ""


def test_hand_interval_to_full_precision():
    rel = hand_analysis().scores[0].reliability
    low, high = feldt_reference(15 / 17, 4, 3)
    assert rel.alpha_ci_low == pytest.approx(low, abs=1e-12)
    assert rel.alpha_ci_high == pytest.approx(high, abs=1e-12)


def test_reverse_keying_is_applied_before_the_statistics():
    # The same answers, once with c declared reverse-keyed and once already re-keyed by hand.
    declared = hand_analysis()
    keyed_rows = [[r, a, b, 3 - c] for r, a, b, c in HAND_ROWS]
    plain = analyse_table(scale_instrument(["a", "b", "c"], high=3), HAND_HEADER, keyed_rows)
    one, other = declared.scores[0].reliability, plain.scores[0].reliability
    assert one.alpha == other.alpha and one.correlations.r == other.correlations.r
    assert [e.corrected_r for e in one.item_total] == [e.corrected_r for e in other.item_total]
    # Not re-keying c would make it correlate negatively with the rest.
    unkeyed = analyse_table(scale_instrument(["a", "b", "c"], high=3), HAND_HEADER, HAND_ROWS)
    assert unkeyed.scores[0].reliability.item_total[2].corrected_r < 0


# --- alpha against pingouin -------------------------------------------------------------------


@SLOW
@given(
    n=st.integers(10, 300),
    k=st.integers(3, 15),
    strength=st.floats(0, 2),
    missing=st.sampled_from([0.0, 0.0, 0.02, 0.08, 0.2]),
    reversed_count=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_alpha_ci_item_total_and_correlations_match_pingouin_and_pandas(
    n, k, strength, missing, reversed_count, seed
):
    pd = pytest.importorskip("pandas")
    items = [f"q{i}" for i in range(1, k + 1)]
    reverse = items[:reversed_count]
    keyed = latent_data(seed, n, k, strength, missing)
    # What respondents wrote: reverse-keyed items answered the other way round.
    answered = [
        [None if v is None else (4 - v if item in reverse else v) for v, item in zip(row, items)]
        for row in keyed
    ]
    analysis = analyse_table(
        scale_instrument(items, reverse=reverse),
        ["respondent_id", *items],
        [[f"r{i}", *row] for i, row in enumerate(answered)],
    )
    json.dumps(analysis.model_dump(mode="json"), allow_nan=False)  # None, never NaN
    frame = pd.DataFrame(keyed, columns=items, dtype=float)
    reliability = analysis.scores[0].reliability
    assert reliability.reversed == tuple(reverse)
    assert_matches_pingouin(reliability, frame)
    assert_matches_pandas_corr(reliability.correlations, frame)


@pytest.mark.parametrize("instrument_id", ["phq-9", "gad-7"])
def test_demo_data_matches_pingouin(instrument_id):
    pd = pytest.importorskip("pandas")
    path = DEMO / f"{instrument_id}.csv"
    analysis = analyze(nefkit.score(instrument_id, path, registry()))
    total = by_id(analysis.scores, "score_id")["total"]
    frame = pd.read_csv(path)[list(total.reliability.items)].astype(float)
    assert_matches_pingouin(total.reliability, frame)
    assert_matches_pandas_corr(total.reliability.correlations, frame)
    assert analysis.rows_analysed == 45 and analysis.respondents == 12
    assert "not independent" in analysis.notes[0]  # 12 clients, several sessions each
    # Item and score figures against pandas on the same file.
    raw = pd.read_csv(path)
    for item in analysis.items:
        column = raw[item.item_id]
        assert item.answered == column.notna().sum()
        assert item.mean == pytest.approx(column.mean(), abs=1e-12)
        assert item.sd == pytest.approx(column.std(), abs=1e-12)
    sums = raw[list(total.reliability.items)].sum(axis=1, min_count=len(total.reliability.items))
    assert total.n == sums.notna().sum()
    assert total.mean == pytest.approx(sums.mean(), abs=1e-12)
    assert total.sd == pytest.approx(sums.std(), abs=1e-12)


def test_one_administration_per_respondent_with_where():
    path = DEMO / "phq-9.csv"
    analysis = analyze(nefkit.score("phq-9", path, registry()), where=lambda row: row.session == 1)
    assert analysis.rows_read == 45 and analysis.rows_analysed == 12
    assert analysis.rows_excluded == 33 and analysis.respondents == 12
    assert analysis.notes == ("33 valid row(s) were left out by the selection.",)
    assert analysis.scores[0].reliability.n_complete <= 12


# --- omega ------------------------------------------------------------------------------------


def test_one_factor_recovers_known_loadings():
    # R = λλᵀ off the diagonal, 1 on it: minres recovers λ exactly, and ψ = 1 - λ².
    loadings = [0.8, 0.7, 0.6, 0.5]
    r = [[1.0 if i == j else a * b for j, b in enumerate(loadings)] for i, a in enumerate(loadings)]
    fit = pm.one_factor_minres(r)
    assert fit.converged and not fit.heywood
    assert fit.loadings == pytest.approx(loadings, abs=1e-12)
    assert fit.uniquenesses == pytest.approx([0.36, 0.51, 0.64, 0.75], abs=1e-12)
    # omega = (0.8+0.7+0.6+0.5)² / ((2.6)² + (0.36+0.51+0.64+0.75)) = 6.76 / (6.76 + 2.26)
    assert pm.omega_total(fit.loadings, fit.uniquenesses) == pytest.approx(6.76 / 9.02, abs=1e-12)
    # Signs: an item loading negatively stays negative; the loadings' sum is made positive.
    signs = [1, 1, -1, 1]
    flipped = [[r[i][j] * signs[i] * signs[j] for j in range(4)] for i in range(4)]
    assert pm.one_factor_minres(flipped).loadings == pytest.approx(
        [x * s for x, s in zip(loadings, signs)], abs=1e-12
    )


def test_omega_on_three_items_is_the_closed_form():
    # Three items: one factor fits exactly, λ_a² = r_ab r_ac / r_bc (and so on).
    pd = pytest.importorskip("pandas")
    items = ["a", "b", "c"]
    data = latent_data(7, 200, 3, strength=1.2, missing=0)
    analysis = analyse_table(
        scale_instrument(items), ["respondent_id", *items], [[i, *r] for i, r in enumerate(data)]
    )
    rel = analysis.scores[0].reliability
    r = pd.DataFrame(data, columns=items).corr()
    expected = [
        math.sqrt(r.loc["a", "b"] * r.loc["a", "c"] / r.loc["b", "c"]),
        math.sqrt(r.loc["a", "b"] * r.loc["b", "c"] / r.loc["a", "c"]),
        math.sqrt(r.loc["a", "c"] * r.loc["b", "c"] / r.loc["a", "b"]),
    ]
    assert rel.loadings == pytest.approx(expected, abs=1e-10)
    common = sum(expected) ** 2
    assert rel.omega == pytest.approx(
        common / (common + sum(1 - x * x for x in expected)), abs=1e-10
    )
    assert "minres" in rel.omega_note


def _uls_loadings(r):
    """An independent minres fit: scipy minimises Σ_{i≠j} (r_ij − λ_iλ_j)² from 0.5 each."""
    np = pytest.importorskip("numpy")
    optimize = pytest.importorskip("scipy.optimize")
    r = np.asarray(r)
    off = ~np.eye(len(r), dtype=bool)

    def loss(lam):
        residual = (r - np.outer(lam, lam))[off]
        return residual @ residual

    def grad(lam):
        residual = (r - np.outer(lam, lam)) * off
        return -4 * residual @ lam

    result = optimize.minimize(
        loss, np.full(len(r), 0.5), jac=grad, method="BFGS", options={"gtol": 1e-12}
    )
    lam = result.x
    return lam * np.sign(lam.sum())


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(3, 20),
    n=st.integers(30, 400),
    strength=st.floats(0.5, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_omega_matches_an_independent_minres_fit(k, n, strength, seed):
    np = pytest.importorskip("numpy")
    data = np.array(latent_data(seed, n, k, strength, missing=0), dtype=float)
    assume(np.all(data.std(axis=0) > 0))
    r = np.corrcoef(data, rowvar=False)
    fit = pm.one_factor_minres(r.tolist())
    reference = _uls_loadings(r)
    if fit.heywood or not fit.converged:
        # No omega then; the independent fit finds no proper solution either.
        assert np.any(reference**2 > 0.99)
        return
    assert fit.loadings == pytest.approx(reference.tolist(), abs=1e-6)
    try:  # factor_analyzer, if installed: its L-BFGS-B minres stops at about 1e-6
        from factor_analyzer import FactorAnalyzer
    except ImportError:
        return
    model = FactorAnalyzer(n_factors=1, rotation=None, method="minres", is_corr_matrix=True)
    if not hasattr(model, "_fit_factor_analysis"):
        return
    # fit() calls scikit-learn's check_array with an argument newer releases removed; the
    # fitting routine it wraps takes the correlation matrix directly.
    theirs = model._fit_factor_analysis(r.copy())[:, 0]
    theirs = theirs * np.sign(theirs.sum())
    if np.all((1 - theirs**2) > 0.01):  # away from its bound on uniquenesses (0.005)
        assert fit.loadings == pytest.approx(theirs.tolist(), abs=1e-4)


def test_omega_is_left_out_with_a_reason():
    pairs = analyse_table(
        scale_instrument(["a", "b"]), ["respondent_id", "a", "b"], [["r1", 0, 1], ["r2", 2, 4]]
    )
    rel = pairs.scores[0].reliability
    assert rel.omega is None and "at least 3 items" in rel.omega_note
    assert rel.alpha is not None and all(e.alpha_if_deleted is None for e in rel.item_total)
    constant = analyse_table(
        scale_instrument(["a", "b", "c"]),
        ["respondent_id", "a", "b", "c"],
        [["r1", 0, 1, 2], ["r2", 2, 4, 2], ["r3", 1, 3, 2], ["r4", 0, 0, 2]],
    )
    rel = constant.scores[0].reliability
    assert rel.omega is None and "c did not vary" in rel.omega_note
    assert rel.item_total[2].corrected_r is None
    few = analyse_table(
        scale_instrument(["a", "b", "c"]),
        ["respondent_id", "a", "b", "c"],
        [["r1", 0, 1, 2], ["r2", 2, None, 2]],
    )
    rel = few.scores[0].reliability
    assert rel.alpha is None and rel.alpha_ci_low is None and "1 administration" in rel.alpha_note
    assert rel.omega is None and all(e.corrected_r is None for e in rel.item_total)


def test_identical_items_are_a_heywood_case_not_an_omega_of_one():
    rows = [["r1", 0, 0, 0], ["r2", 2, 2, 2], ["r3", 1, 1, 1], ["r4", 4, 4, 4]]
    analysis = analyse_table(
        scale_instrument(["a", "b", "c"]), ["respondent_id", "a", "b", "c"], rows
    )
    rel = analysis.scores[0].reliability
    assert rel.alpha == 1 and rel.alpha_ci_low == rel.alpha_ci_high == 1
    assert rel.omega is None and "Heywood" in rel.omega_note


def test_a_fixed_point_above_the_loss_of_a_runaway_loading_is_improper():
    """Found by hypothesis: weak correlations where item 1 correlates with items that do not
    correlate with each other. Coordinate descent settles at tidy loadings (loss 0.37), but the
    loss falls to 0.28 as item 1's loading runs off to infinity: the least-squares solution is
    improper, so no omega."""
    r = [
        [1, -0.052, 0.185, 0.364, 0.017],
        [-0.052, 1, 0.142, -0.027, 0.295],
        [0.185, 0.142, 1, -0.093, 0.13],
        [0.364, -0.027, -0.093, 1, 0.093],
        [0.017, 0.295, 0.13, 0.093, 1],
    ]
    fit = pm.one_factor_minres(r)
    assert fit.converged and all(psi > 0.5 for psi in fit.uniquenesses)
    assert (fit.runaway, fit.heywood) == (0, True)
    pairs = [r[j][m] ** 2 for j in range(1, 5) for m in range(1, 5) if j != m]
    assert sum(pairs) < 20 * fit.rms_residual**2  # the runaway limit fits better (5 × 4 pairs)


def test_other_confidence_levels():
    path = DEMO / "gad-7.csv"
    analysis = analyze(nefkit.score("gad-7", path, registry()), ci_level=0.90)
    rel = analysis.scores[0].reliability
    f = pytest.importorskip("scipy.stats").f
    n, k = rel.n_complete, len(rel.items)
    assert rel.ci_level == 0.9
    assert rel.alpha_ci_low == pytest.approx(
        1 - (1 - rel.alpha) * f.ppf(0.95, n - 1, (n - 1) * (k - 1)), abs=1e-12
    )
    assert rel.alpha_ci_high == pytest.approx(
        1 - (1 - rel.alpha) * f.ppf(0.05, n - 1, (n - 1) * (k - 1)), abs=1e-12
    )
    assert any("90% confidence interval" in m and "0.95 and 0.05" in m for m in analysis.methods)
    with pytest.raises(ValueError):
        analyze(nefkit.score("gad-7", path, registry()), ci_level=95)


# --- negative effects, follow-ups, multiple choice --------------------------------------------

NEQ_ITEMS = [f"neq{k:02d}" for k in range(1, 21)]


def neq_rows(rows):
    """rows: (respondent, {item: (experienced, impact, cause)}); other items answered No."""
    header = ["respondent_id"]
    for item in NEQ_ITEMS:
        header += [item, f"{item}_impact", f"{item}_cause"]
    out = []
    for respondent, answers in rows:
        cells = [respondent]
        for item in NEQ_ITEMS:
            cells += list(answers.get(item, (0, None, None)))
        out.append(cells)
    return header, out


def test_neq_effect_table_by_hand():
    header, rows = neq_rows(
        [
            ("r1", {"neq01": (1, 4, 1)}),  # experienced, impact 4, the treatment
            ("r2", {"neq01": (1, 2, 0)}),  # experienced, impact 2, other circumstances
            ("r3", {}),  # not experienced: impact and cause not asked
            ("r4", {"neq01": (1, 3, None)}),  # experienced, impact 3, cause left blank
            ("r5", {"neq01": (None, None, None)}),  # the question left blank
            ("r6", {"neq01": (1, 1, 1), "neq02": ("maybe", None, None)}),  # invalid row
            ("r7", {"neq01": (1, None, 1)}),  # experienced, impact blank, the treatment
        ]
    )
    analysis = analyse_table("neq-20", header, rows)
    assert (analysis.rows_read, analysis.invalid_rows, analysis.rows_analysed) == (7, 1, 6)
    assert analysis.notes[0].startswith("1 invalid row")
    effect = by_id(analysis.effects)["neq01"]
    # Answered: r1 r2 r3 r4 r7 = 5; experienced: r1 r2 r4 r7 = 4; the treatment: r1 r7 = 2.
    assert (effect.answered, effect.experienced, effect.treatment) == (5, 4, 2)
    assert effect.percent_experienced == 80 and effect.percent_treatment == 40
    assert effect.percent_treatment_of_experienced == 50 and effect.cause_missing == 1
    # Impact rated by r1 r2 r4: 4 2 3, mean 3, SD 1.
    assert (effect.impact_n, effect.impact_mean, effect.impact_sd) == (3, 3, 1)
    assert effect.impact_id == "neq01_impact" and effect.cause_id == "neq01_cause"
    nobody = by_id(analysis.effects)["neq02"]
    assert (nobody.answered, nobody.experienced, nobody.percent_experienced) == (6, 0, 0)
    assert nobody.percent_treatment_of_experienced is None and nobody.impact_mean is None
    items = by_id(analysis.items)
    question = items["neq01"]
    assert (question.asked, question.missing, question.missing_percent) == (6, 1, 100 / 6)
    assert [(x.label, x.count, x.percent) for x in question.distribution] == [
        ("No", 1, 20.0),
        ("Yes", 4, 80.0),
    ]
    # Follow-ups: asked of r1 r2 r4 r7; not asked of r3 (No); r5's gate is blank, so whether
    # they applied is unknown and their blanks are missing: 2 of 5 (r5, r7) for the impact.
    impact = items["neq01_impact"]
    assert (impact.asked, impact.answered, impact.missing, impact.not_asked) == (5, 3, 2, 1)
    assert impact.missing_percent == 40
    assert [x.count for x in impact.distribution] == [0, 0, 1, 1, 1]
    assert (impact.floor_percent, impact.ceiling_percent) == (0, 100 / 3)
    cause = items["neq01_cause"]
    assert (cause.answered, cause.missing, cause.not_asked) == (3, 2, 1)  # missing: r4, r5
    # Scale order: "The treatment I received" (1), then "Other circumstances" (0).
    assert [(x.code, x.count) for x in cause.distribution] == [(1, 2), (0, 1)]
    # Floor and ceiling are the lowest and highest codes, whatever their order on the form.
    assert (cause.floor_percent, cause.ceiling_percent) == (100 / 3, 200 / 3)
    assert "other" not in items  # free text is not tabulated
    scores = by_id(analysis.scores, "score_id")
    assert all(s.reliability is None for s in analysis.scores)
    assert "neq_count" in scores["effects"].reliability_note


def test_multiple_choice_negative_codes_and_text():
    header = [
        "respondent_id",
        "resilience",
        "supports",
        "supports_other",
        "group_tried",
        "group_why",
    ]
    rows = [
        ["r1", -2, "Family; Friends", "", "No", "too shy"],
        ["r2", 2, "Family; Something else", "choir", "", ""],
        ["r3", "", "", "", "Yes", ""],
        ["r4", 0, "Friends", "", "Yes", ""],
    ]
    analysis = analyse_table("therapy-reflection", header, rows)
    items = by_id(analysis.items)
    resilience = items["resilience"]
    # -2 2 0: floor is -2 ("Clearly diminished it"), ceiling 2.
    assert resilience.distribution[0].code == -2 and resilience.mean == 0
    assert (resilience.floor_percent, resilience.ceiling_percent) == (100 / 3, 100 / 3)
    supports = items["supports"]
    counts = {x.label: x.count for x in supports.distribution}
    assert counts["Family"] == 2 and counts["Friends"] == 2 and counts["Something else"] == 1
    assert supports.answered == 3 and supports.missing == 1
    assert supports.distribution[0].percent == pytest.approx(200 / 3)  # of those who answered
    assert supports.mean is None and supports.floor_percent is None
    assert "supports_other" not in items and "group_why" not in items


def test_number_items():
    instrument = Instrument.model_validate(
        {
            "id": "numbers",
            "version": "1",
            "title": "Numbers",
            "citation": "none",
            "licence": "none",
            "source": "none",
            "items": [
                {"id": "rating", "text": "Rate 0-10", "type": "number", "min": 0, "max": 10},
                {"id": "hours", "text": "Hours", "type": "number", "integer": False},
            ],
        }
    )
    rows = [["r1", 0, 7.5], ["r2", 10, 6.25], ["r3", 10, None], ["r4", 4, 8.0]]
    items = by_id(analyse_table(instrument, ["respondent_id", "rating", "hours"], rows).items)
    rating = items["rating"]
    # A whole-number item with a short range is tabulated 0..10; 0 once, 10 twice of 4.
    assert [x.code for x in rating.distribution] == list(range(11))
    assert (rating.floor_percent, rating.ceiling_percent, rating.mean) == (25, 50, 6)
    hours = items["hours"]
    # A continuous one has no table, floor or ceiling: (7.5 + 6.25 + 8) / 3 = 7.25.
    assert hours.distribution == () and hours.floor_percent is None
    assert hours.mean == 7.25 and (hours.minimum, hours.maximum) == (6.25, 8.0)
    assert hours.sd == pytest.approx(math.sqrt(((0.25**2) + 1 + 0.75**2) / 2), abs=1e-15)
    assert hours.missing == 1


# --- streaming --------------------------------------------------------------------------------


def test_rows_are_consumed_once():
    results = nefkit.score("phq-9", DEMO / "phq-9.csv", registry())
    passed = []

    def one_shot(rows):
        for row in rows:
            passed.append(row.row)
            yield row

    results.rows = one_shot(results.rows)
    analysis = analyze(results)
    assert len(passed) == len(set(passed)) == analysis.rows_read == 45
    assert next(results.rows, None) is None


def _synthetic_rows(plan, count):
    answers = [{f"phq9_{i}": (j + i) % 4 for i in range(1, 10)} for j in range(4)]
    scored = [plan.score(a) for a in answers]
    for number in range(count):
        j = number % 4
        yield ScoredRow(number, "same", None, None, {}, answers[j], {}, scored[j].scores, {})


def _peak_memory(count):
    results = nefkit.score("phq-9", DEMO / "phq-9.csv", registry())
    results.rows = _synthetic_rows(results.plan, count)
    tracemalloc.start()
    analysis = analyze(results)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert analysis.rows_analysed == count
    return peak


def test_memory_does_not_grow_with_rows():
    small, large = _peak_memory(3000), _peak_memory(30000)
    # Keeping the 27,000 extra rows would take megabytes; sums take nothing more.
    assert large - small < 256 * 1024


# --- the model --------------------------------------------------------------------------------


def test_analysis_is_plain_data():
    analysis = analyze(nefkit.score("neq-20", DEMO / "neq-20.csv", registry()))
    text = json.dumps(analysis.model_dump(mode="json"), allow_nan=False)
    assert Analysis.model_validate_json(text) == analysis
    assert any("Feldt" in m for m in analysis.methods)
    assert any(r.startswith("McDonald RP (1999)") for r in analysis.references)
    with pytest.raises(ValidationError):
        analysis.rows_read = 0  # frozen


# --- the accumulator with floats --------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(st.none(), st.floats(-1e3, 1e3), st.integers(-5, 5)), min_size=4, max_size=4
        ),
        min_size=0,
        max_size=60,
    ),
    st.floats(-1e6, 1e6),
)
def test_cross_products_match_numpy_and_pandas(rows, offset):
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    shifted = [[None if v is None else v + offset for v in row] for row in rows]
    sums = pm.CrossProducts(4, chunk=7)  # several chunks
    for row in shifted:
        sums.add(row)
    frame = pd.DataFrame(shifted, columns=list("abcd"), dtype=float)
    complete = frame.dropna()
    n, m = sums.comoments()
    assert n == len(complete) and sums.n_rows == len(rows)
    if n >= 2:
        expected = np.cov(complete.to_numpy(), rowvar=False) * n * (n - 1)
        scale = max(1.0, float(np.abs(expected).max()))
        # The documented precision of shifted sums: each variable is shifted by its first value,
        # which may come from a row with something missing, far from the complete cases
        # (hypothesis found 966 beside three zeros: a co-moment of -1.9e-9 for 0).
        first = [next((r[i] for r in shifted if r[i] is not None), 0.0) for i in range(4)]
        spread = float(np.abs(complete.to_numpy() - np.array(first)).max())
        cancellation = 64 * np.finfo(float).eps * spread**2 * n * n
        atol = max(1e-9 * scale, cancellation)
        assert np.allclose(np.array(m, dtype=float), expected, atol=atol, rtol=1e-9)
    counts, r = sums.pairwise()
    corr = frame.corr()
    present = frame.notna().astype(int)
    for i, a in enumerate("abcd"):
        for j, b in enumerate("abcd"):
            assert counts[i][j] == (present[a] * present[b]).sum()
            if i == j:
                column = frame[a].dropna()
                if len(column) < 2 or column.nunique() == 1:
                    assert r[i][i] is None
                elif column.std() > 1e-6 * (1 + abs(offset)):
                    assert r[i][i] == 1.0
                continue
            # Float sums lose about eps·(spread / SD)² to cancellation (integers are exact): compare
            # pairs whose SD is not tiny beside the spread of the values.
            pair = frame[[a, b]].dropna()
            spread = max(frame[c].max() - frame[c].min() for c in (a, b))
            if len(pair) < 2 or pair[a].nunique() == 1 or pair[b].nunique() == 1:
                assert r[i][j] is None
                continue
            if min(pair[a].std(), pair[b].std()) < 1e-4 * spread:
                continue
            assert r[i][j] == pytest.approx(corr.loc[a, b], abs=1e-6)
