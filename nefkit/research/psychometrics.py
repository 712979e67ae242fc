"""The arithmetic behind ``nefkit analyze``, in plain Python (the core has no numpy).

- :class:`CrossProducts` gathers the sums and cross-products of k variables as rows stream past,
  for complete cases (listwise) and for every pair of variables (pairwise), without keeping rows.
  Integer answers are summed as Python integers, so every co-moment is exact and a statistic
  built from them is rounded once, at the end.
- :func:`cronbach_alpha` (Cronbach 1951), :func:`feldt_interval` (Feldt 1965; Feldt, Woodruff &
  Salih 1987), :func:`item_total` (corrected item-total correlation, alpha if item deleted).
- :func:`one_factor_minres` and :func:`omega_total` (McDonald 1999): a one-factor model fitted by
  minres (Harman & Jones 1966) to a correlation matrix, and the omega of that model.
- :func:`f_ppf`, the F distribution's quantile, through :func:`betainc`, the regularized
  incomplete beta function (continued fraction; Press et al., Numerical Recipes, 3rd ed., 6.4).

Matrices are lists of lists; a "co-moment matrix" ``M`` holds ``n * sum(x_i * x_j) - sum(x_i) *
sum(x_j)`` over the same n rows, which is ``n * (n - 1)`` times the sample covariance: every
statistic here is a ratio in which that factor cancels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from operator import mul
from typing import Optional, Union

Number = Union[int, float]
Matrix = list[list[Number]]


# --- streaming sums ---------------------------------------------------------------------------


class CrossProducts:
    """Sums and cross-products of ``k`` variables, gathered one row at a time.

    A row is a sequence of ``k`` numbers, None where the value is missing. Rows with every value
    present (complete cases) are buffered ``chunk`` at a time and summed column by column; rows
    with a value missing update the per-pair sums directly. Memory is O(k² + chunk · k) whatever
    the number of rows.

    Each variable is shifted by its first observed value before summing (the "shifted data"
    algorithm). Integers stay integers, and every co-moment is exact. Float values lose about
    eps·(spread / SD)² in relative precision to cancellation, where spread is how far values lie
    from the first one: negligible unless a variable barely varies beside its range.
    """

    def __init__(self, k: int, chunk: int = 1024):
        self.k = k
        self.chunk = chunk
        self.n_complete = 0
        self.n_rows = 0
        self._shift: list[Optional[Number]] = [None] * k
        self._buffer: list[tuple] = []
        # complete cases: sums and the upper triangle of cross-products, p[i][j - i]
        self._s: list[Number] = [0] * k
        self._p: list[list[Number]] = [[0] * (k - i) for i in range(k)]
        # rows with something missing: per variable (n, sum, sum of squares) ...
        self._vn = [0] * k
        self._vs: list[Number] = [0] * k
        self._vq: list[Number] = [0] * k
        # ... and per pair i < j: n, sum_i, sum_j, sumsq_i, sumsq_j, sum_i*j
        pairs = k * (k - 1) // 2
        self._pair = [[0] * 6 for _ in range(pairs)]

    def add(self, row: Sequence[Optional[Number]]) -> None:
        self.n_rows += 1
        shift = self._shift
        shifted = []
        complete = True
        for i, value in enumerate(row):
            if value is None:
                complete = False
                shifted.append(None)
                continue
            if shift[i] is None:
                shift[i] = value
            shifted.append(value - shift[i])
        if complete:
            self._buffer.append(tuple(shifted))
            if len(self._buffer) >= self.chunk:
                self._flush()
            return
        k = self.k
        present = [(i, x) for i, x in enumerate(shifted) if x is not None]
        vn, vs, vq, pair = self._vn, self._vs, self._vq, self._pair
        for a, (i, xi) in enumerate(present):
            vn[i] += 1
            vs[i] += xi
            xi2 = xi * xi
            vq[i] += xi2
            base = i * k - i * (i + 1) // 2 - i - 1  # pair (i, j) sits at base + j
            for j, xj in present[a + 1 :]:
                acc = pair[base + j]
                acc[0] += 1
                acc[1] += xi
                acc[2] += xj
                acc[3] += xi2
                acc[4] += xj * xj
                acc[5] += xi * xj

    def _flush(self) -> None:
        if not self._buffer:
            return
        columns = list(zip(*self._buffer))
        self.n_complete += len(self._buffer)
        self._buffer = []
        exact = not any(isinstance(x, float) for x in chain.from_iterable(columns))
        total = sum if exact else math.fsum
        for i, ci in enumerate(columns):
            self._s[i] += total(ci)
            row = self._p[i]
            for offset, cj in enumerate(columns[i:]):
                row[offset] += total(map(mul, ci, cj))

    def comoments(self) -> tuple[int, Matrix]:
        """(n, M) over the complete cases: M[i][j] = n·Σxᵢxⱼ − Σxᵢ·Σxⱼ = n(n−1)·cov(xᵢ, xⱼ)."""
        self._flush()
        n, s, p, k = self.n_complete, self._s, self._p, self.k
        m: Matrix = [[0] * k for _ in range(k)]
        for i in range(k):
            for j in range(i, k):
                m[i][j] = m[j][i] = n * p[i][j - i] - s[i] * s[j]
        return n, m

    def pairwise(self) -> tuple[list[list[int]], list[list[Optional[float]]]]:
        """Pearson correlations over pairwise complete rows, and the n behind each: every pair
        uses each row that has both values (as pandas ``DataFrame.corr()`` does). A correlation
        is None when it rests on fewer than 2 rows or a variable does not vary among them."""
        self._flush()
        k, nc, s, p = self.k, self.n_complete, self._s, self._p
        counts = [[0] * k for _ in range(k)]
        r: list[list[Optional[float]]] = [[None] * k for _ in range(k)]
        for i in range(k):
            n = nc + self._vn[i]
            si = s[i] + self._vs[i]
            var = n * (p[i][0] + self._vq[i]) - si * si
            counts[i][i] = n
            r[i][i] = 1.0 if n >= 2 and _varies(var, n * (p[i][0] + self._vq[i])) else None
        index = 0
        for i in range(k):
            for j in range(i + 1, k):
                pn, psi, psj, pqi, pqj, pp = self._pair[index]
                index += 1
                n = nc + pn
                si, sj = s[i] + psi, s[j] + psj
                vi = n * (p[i][0] + pqi) - si * si
                vj = n * (p[j][0] + pqj) - sj * sj
                cov = n * (p[i][j - i] + pp) - si * sj
                counts[i][j] = counts[j][i] = n
                if n >= 2 and _varies(vi, n * (p[i][0] + pqi)) and _varies(vj, n * (p[j][0] + pqj)):
                    r[i][j] = r[j][i] = _clamp(cov / _root_product(vi, vj))
        return counts, r


def _varies(comoment: Number, scale: Number) -> bool:
    """Whether n·Σx² − (Σx)² shows variation: exactly, for integers; for floats, beyond what
    rounding in ``scale`` = n·Σx² can produce."""
    if isinstance(comoment, int):
        return comoment > 0
    return comoment > 1e-12 * scale


def _root_product(a: Number, b: Number) -> float:
    """√(a·b): for integers from their exact product (one rounding); for floats as √a·√b, which
    cannot underflow or overflow where a·b would."""
    if isinstance(a, int) and isinstance(b, int):
        return math.sqrt(a * b)
    return math.sqrt(a) * math.sqrt(b)


def _clamp(r: float) -> float:
    # Exact co-moments satisfy |cov| <= sqrt(vi * vj); rounding may overshoot by an ulp.
    return max(-1.0, min(1.0, r))


# --- alpha and item statistics ----------------------------------------------------------------


def cronbach_alpha(m: Matrix) -> Optional[float]:
    """Cronbach's (1951) alpha, k/(k−1)·(1 − Σ var(xᵢ) / var(Σxᵢ)), from a covariance or
    co-moment matrix. None for fewer than 2 items or when the total does not vary."""
    k = len(m)
    if k < 2:
        return None
    total = sum(sum(row) for row in m)
    if total <= 0:
        return None
    trace = sum(m[i][i] for i in range(k))
    # With integer co-moments this is a ratio of integers, rounded once.
    return k * (total - trace) / ((k - 1) * total)


def feldt_interval(
    alpha: float, n: int, k: int, level: float = 0.95
) -> Optional[tuple[float, float]]:
    """Feldt's (1965) confidence interval for alpha from n cases and k items: (1 − α)/(1 − α̂)
    follows F(n − 1, (n − 1)(k − 1)), so the bounds are 1 − (1 − α̂)·F at the upper and lower
    tail quantiles (Feldt, Woodruff & Salih 1987; pingouin's ``cronbach_alpha(ci=...)``).
    None for fewer than 2 cases or items."""
    if n < 2 or k < 2:
        return None
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - level) / 2
    lower = 1 - (1 - alpha) * f_ppf(1 - tail, df1, df2)
    upper = 1 - (1 - alpha) * f_ppf(tail, df1, df2)
    return lower, upper


@dataclass(frozen=True)
class ItemTotalStats:
    corrected_r: Optional[float]  # item vs the sum of the other items
    alpha_if_deleted: Optional[float]


def item_total(m: Matrix) -> list[ItemTotalStats]:
    """Per item: its Pearson correlation with the sum of the other items (the corrected
    item-total correlation) and alpha of the other items, from a covariance or co-moment matrix.
    Alpha if deleted needs at least 2 remaining items; a correlation needs variance in both."""
    k = len(m)
    total = sum(sum(row) for row in m)
    trace = sum(m[i][i] for i in range(k))
    out = []
    for i in range(k):
        row_sum = sum(m[i])
        var_i = m[i][i]
        cov = row_sum - var_i  # cov(xᵢ, Σ_{j≠i} xⱼ)
        rest = total - 2 * row_sum + var_i  # var(Σ_{j≠i} xⱼ)
        r = _clamp(cov / _root_product(var_i, rest)) if var_i > 0 and rest > 0 else None
        deleted = None
        if k >= 3 and rest > 0:
            deleted = (k - 1) * (rest - (trace - var_i)) / ((k - 2) * rest)
        out.append(ItemTotalStats(r, deleted))
    return out


def correlation_matrix(m: Matrix) -> Optional[list[list[float]]]:
    """The correlation matrix of a covariance or co-moment matrix; None if a variable is
    constant."""
    k = len(m)
    if any(m[i][i] <= 0 for i in range(k)):
        return None
    return [
        [1.0 if i == j else _clamp(m[i][j] / _root_product(m[i][i], m[j][j])) for j in range(k)]
        for i in range(k)
    ]


# --- one factor and omega ---------------------------------------------------------------------


HEYWOOD_UNIQUENESS = 1e-9


@dataclass(frozen=True)
class OneFactor:
    """A one-factor model of a correlation matrix: R ≈ λλᵀ off the diagonal, ψ = 1 − λ²."""

    loadings: tuple[float, ...]
    uniquenesses: tuple[float, ...]
    converged: bool
    sweeps: int
    rms_residual: float  # root mean square of the off-diagonal residuals r_ij − λ_iλ_j
    # The variable whose loading runs off to infinity at the least-squares solution, when the
    # loss is lower there than at the fixed point found (see one_factor_minres).
    runaway: Optional[int] = None

    @property
    def heywood(self) -> bool:
        """An improper solution: a loading of 1 or more, so a uniqueness of 0 or less (within
        rounding: a uniqueness of 10⁻⁹ is the boundary, not a measured unique variance), or a
        loading that runs off to infinity."""
        return self.runaway is not None or any(
            psi <= HEYWOOD_UNIQUENESS for psi in self.uniquenesses
        )


def one_factor_minres(
    r: Sequence[Sequence[float]], tol: float = 1e-13, max_sweeps: int = 5000
) -> OneFactor:
    """Fit one factor by minres (Harman & Jones 1966): minimise Σ_{i≠j} (r_ij − λ_iλ_j)².

    The loss is quadratic in each loading with the others fixed, minimised at
    λ_i = Σ_{j≠i} r_ij λ_j / Σ_{j≠i} λ_j², so the fit cycles through the loadings setting each to
    that value (coordinate descent: the loss never increases), starting from the first principal
    component, until no loading moves by more than ``tol`` (``converged``), or ``max_sweeps``
    pass, or the loadings run off beyond any proper solution. The fixed point is the one iterated
    principal-axis factoring and psych's / factor_analyzer's "minres" converge to. The diagonal
    is fitted exactly by ψ_i = 1 − λ_i². Loadings are signed so that their sum is not negative.
    """
    k = len(r)
    if k < 3:
        raise ValueError("a one-factor model needs at least 3 variables")
    lam = _first_component(r)
    sumsq = sum(x * x for x in lam)
    converged = False
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        moved = 0.0
        for i in range(k):
            ri = r[i]
            old = lam[i]
            others = sumsq - old * old
            if others <= 0:
                break
            num = sum(ri[j] * lam[j] for j in range(k) if j != i)
            new = num / others
            lam[i] = new
            sumsq = others + new * new
            moved = max(moved, abs(new - old))
        if moved <= tol:
            converged = True
            break
        if sumsq > 100 * k:
            # A loading far beyond 1: the least-squares solution runs off to infinity (possible
            # when the correlations admit no proper single factor); stop, an improper solution.
            break
        sumsq = sum(x * x for x in lam)  # drift from the running update
    if sum(lam) < 0:
        lam = [-x for x in lam]
    residuals = [(r[i][j] - lam[i] * lam[j]) ** 2 for i in range(k) for j in range(k) if i != j]
    return OneFactor(
        loadings=tuple(lam),
        uniquenesses=tuple(1 - x * x for x in lam),
        converged=converged,
        sweeps=sweeps,
        rms_residual=math.sqrt(sum(residuals) / len(residuals)),
        runaway=_runaway(r, sum(residuals)),
    )


def _runaway(r: Sequence[Sequence[float]], loss: float) -> Optional[int]:
    """The variable i for which the loss falls below ``loss`` as λ_i runs off to infinity and
    the other loadings to r_ij / λ_i: the pairs with i then fit exactly and the loss tends to the
    sum of the other pairs' squared correlations. Coordinate descent can settle at a tidy-looking
    fixed point although the least-squares solution is such an improper one (weak correlations,
    one item correlating with others that do not correlate with each other)."""
    k = len(r)
    limits = [
        sum(r[j][m] ** 2 for j in range(k) for m in range(k) if j != m and i not in (j, m))
        for i in range(k)
    ]
    best = min(range(k), key=limits.__getitem__)
    return best if limits[best] < loss - 1e-12 else None


def _first_component(r: Sequence[Sequence[float]], iterations: int = 500) -> list[float]:
    """Loadings on the first principal component (√θ₁ · v₁) by power iteration, a start value."""
    k = len(r)
    v = [1.0] * k
    theta = 0.0
    for _ in range(iterations):
        w = [sum(r[i][j] * v[j] for j in range(k)) for i in range(k)]
        norm = math.sqrt(sum(x * x for x in w))
        if norm == 0:
            break
        w = [x / norm for x in w]
        change = max(abs(a - b) for a, b in zip(w, v))
        v, theta = w, norm
        if change < 1e-10:
            break
    return [x * math.sqrt(theta) for x in v] if theta > 0 else [1.0 / math.sqrt(k)] * k


def omega_total(loadings: Sequence[float], uniquenesses: Sequence[float]) -> float:
    """McDonald's (1999) omega total of the unit-weighted sum: (Σλ)² / ((Σλ)² + Σψ)."""
    common = sum(loadings) ** 2
    return common / (common + sum(uniquenesses))


# --- the F quantile ---------------------------------------------------------------------------


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction."""
    if not (a > 0 and b > 0):
        raise ValueError("a and b must be positive")
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(_log_front(a, b, x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def _log_front(a: float, b: float, x: float) -> float:
    """log(x^a (1 − x)^b / B(a, b)), without the cancellation of large log-gammas.

    log Γ of 10⁵ is about 10⁶, so subtracting such values leaves errors near 10⁻¹⁰. With
    Stirling's series, log Γ(z) = (z − ½) log z − z + ½ log 2π + δ(z), the large parts cancel
    algebraically instead (as DiDonato & Morris 1992, ACM TOMS 708, do)."""
    if a >= 10 and b >= 10:
        # a log(x/x0) + b log((1−x)/(1−x0)) + ½ log(ab/(a+b)) − ½ log 2π + δ(a+b) − δ(a) − δ(b)
        total = a + b
        x0, y0 = a / total, b / total
        return (
            a * _log_ratio(x, x0)
            + b * _log_ratio(1 - x, y0, x0 - x)
            + 0.5 * math.log(a * b / total)
            - 0.5 * math.log(2 * math.pi)
            + _stirling_rest(total)
            - _stirling_rest(a)
            - _stirling_rest(b)
        )
    if b >= 10:
        return a * math.log(x) + b * math.log1p(-x) + _lgamma_step(b, a) - math.lgamma(a)
    if a >= 10:
        return a * math.log(x) + b * math.log1p(-x) + _lgamma_step(a, b) - math.lgamma(b)
    return (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )


def _log_ratio(u: float, u0: float, difference: Optional[float] = None) -> float:
    """log(u / u0): through log1p of the relative difference near u0, where it is precise."""
    d = u - u0 if difference is None else difference
    if abs(d) < 0.5 * u0:
        return math.log1p(d / u0)
    return math.log(u) - math.log(u0)


def _lgamma_step(z: float, h: float) -> float:
    """log Γ(z + h) − log Γ(z) for z ≥ 10, by Stirling's series."""
    return (
        (z - 0.5) * math.log1p(h / z)
        + h * math.log(z + h)
        - h
        + _stirling_rest(z + h)
        - _stirling_rest(z)
    )


def _stirling_rest(z: float) -> float:
    """δ(z) = log Γ(z) − ((z − ½) log z − z + ½ log 2π) for z ≥ 10: the asymptotic series to
    z⁻¹¹, whose first omitted term is below 10⁻¹⁵ there."""
    w = 1 / (z * z)
    return (
        1 / 12 - w * (1 / 360 - w * (1 / 1260 - w * (1 / 1680 - w * (1 / 1188 - w * 691 / 360360))))
    ) / z


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the continued fraction for I_x(a, b) (Numerical Recipes 6.4)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1, a - 1
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    # Converges in O(sqrt(max(a, b))) steps.
    limit = 1000 + 20 * int(math.sqrt(max(a, b)))
    for m in range(1, limit):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            return h
    raise ArithmeticError(f"incomplete beta fraction did not converge (a={a}, b={b}, x={x})")


def f_cdf(x: float, df1: float, df2: float) -> float:
    """P(F ≤ x) for F with (df1, df2) degrees of freedom."""
    if x <= 0:
        return 0.0
    return betainc(df1 / 2, df2 / 2, df1 * x / (df1 * x + df2))


def f_ppf(p: float, df1: float, df2: float) -> float:
    """The p-quantile of F(df1, df2): x with P(F ≤ x) = p, for 0 < p < 1.

    With y = df1·x / (df1·x + df2), P(F ≤ x) = I_y(df1/2, df2/2). When the solution has y ≤ ½ it
    is found by bisection in y down to adjacent floating-point numbers (I is monotone in y);
    otherwise z = 1 − y is found from I_z(df2/2, df1/2) = 1 − p, so that a quantile far in the
    upper tail keeps its relative precision. Then x = (df2/df1) · y / z.
    """
    if not 0 < p < 1:
        raise ValueError("p must be strictly between 0 and 1")
    a, b = df1 / 2, df2 / 2
    if p <= betainc(a, b, 0.5):
        y = _solve_betainc(a, b, p)
        return (df2 / df1) * y / (1 - y)
    z = _solve_betainc(b, a, 1 - p)
    return (df2 / df1) * (1 - z) / z


def _solve_betainc(a: float, b: float, p: float) -> float:
    """y in [0, ½] with I_y(a, b) = p, to adjacent floating-point numbers."""
    lo, hi = 0.0, 0.5
    for _ in range(2000):
        mid = (lo + hi) / 2
        if mid <= lo or mid >= hi:
            break
        if betainc(a, b, mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
