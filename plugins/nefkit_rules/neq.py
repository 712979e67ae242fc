"""The Negative Effects Questionnaire's three-part scoring, as its authors describe it.

Each NEQ item asks whether an effect was experienced (yes/no); only if yes, how negatively it
affected the respondent (0-4) and whether it was caused by "the treatment I received" or "other
circumstances". An effect counts as experienced when the answer is yes, whatever its impact
(neqscale.com, "Download & Scoring"). Counts and impact sums can be restricted to effects
attributed to the treatment or to other circumstances.

An effect whose yes/no answer is blank is unknown (missing), whatever its follow-ups hold: they
arrive as given (None when blank, not NOT_ASKED, as their condition is unknown) and are not read.
"""

from __future__ import annotations

from itertools import repeat
from typing import Literal

from pydantic import Field

from nefkit.rules import NOT_ASKED, Output, RuleParams, ScoreValue, ScoringRule
from nefkit.sql import SqlScore

from ._common import missing_reason, positions


class NeqParams(RuleParams):
    attribution: Literal["any", "treatment", "other"] = Field(
        "any", description="Count every effect, or only those attributed to this cause."
    )
    cause: str = Field("{item}_cause", description="Id of an item's cause question.")
    treatment: int = Field(1, description="Cause code for 'the treatment I received'.")
    other: int = Field(0, description="Cause code for 'other circumstances'.")
    max_missing: int = Field(0, ge=0, description="Unknown answers tolerated.")


class NeqImpactParams(NeqParams):
    impact: str = Field("{item}_impact", description="Id of an item's impact question.")
    statistic: Literal["sum", "mean"] = Field("sum", description="The total or the mean impact.")


_NO_EFFECT = "no negative effect was reported, so there is no mean impact"


def _shared(totals: list, make) -> list:
    """``make(total)`` per row, made once per distinct total when all are whole numbers (scores
    are immutable; float totals are made per row, so that 3 and 3.0 are never taken for one)."""
    if set(map(type, totals)) <= {int}:
        made = {total: make(total) for total in set(totals)}
        return list(map(made.__getitem__, totals))
    return [make(total) for total in totals]


def _follow_up(template: str, item: str) -> str:
    return template.replace("{item}", item)


class _NeqRule(ScoringRule):
    Params = NeqParams

    def _parts(self, params) -> list[str]:
        return [] if params.attribution == "any" else ["cause"]

    def inputs(self, score, params) -> list[str]:
        ids = list(score.items)
        for part in self._parts(params):
            ids += [_follow_up(getattr(params, part), item) for item in score.items]
        return ids

    def check(self, score, params, instrument, outputs):
        if not score.items:
            yield "list the NEQ items (the yes/no questions) in items = [...]"
        items = instrument.item_map
        for ref in score.items:
            if ref in items and items[ref].type != "yes_no":
                yield f"'{ref}' must be a yes/no item (was the effect experienced?)"
            for part in self._parts(params):
                follow = _follow_up(getattr(params, part), ref)
                if follow not in items:
                    continue  # reported as an unknown input
                if part == "cause":
                    codes = {v for v, _ in instrument.choices(items[follow])}
                    for code in (params.treatment, params.other):
                        if code not in codes:
                            yield f"cause code {code} is not an answer to '{follow}'"
                elif outputs[follow].kind != "number":
                    yield f"impact question '{follow}' must have numeric answers"

    def missing_policy(self, params) -> str:
        needed = ["whether each effect was experienced"]
        needed += [f"the {part} of every effect experienced" for part in self._parts(params)]
        allowed = f"up to {params.max_missing} unknown" if params.max_missing else "none unknown"
        return f"needs {' and '.join(needed)} ({allowed}); otherwise not scorable"

    def compute(self, values, params, names) -> ScoreValue:
        n = len(names) // (1 + len(self._parts(params)))
        return self._score_item_rows([values[k::n] for k in range(n)], params, names[:n])

    def compute_batch(self, columns, params, names) -> list[ScoreValue]:
        """Item by item, one pass over each item's columns: what its effect adds to the row's
        score (0 when it does not count, None when an answer it needs is missing); then the
        rows' sums at C speed. A row with anything unknown, or that the fast path cannot
        decide, goes through the per-row form, which also words the reason."""
        n = len(names) // (1 + len(self._parts(params)))
        size = len(columns[0]) if columns else 0
        parts = {
            part: columns[(j + 1) * n : (j + 2) * n] for j, part in enumerate(self._parts(params))
        }
        code = self._code(params)
        contributions = [self._contribution(columns[k], parts, k, code) for k in range(n)]
        unknown: set[int] = set()
        for column in columns[:n]:  # an unknown effect, whatever its follow-ups hold
            unknown.update(positions(column, None))
        for k, column in enumerate(contributions):  # an effect that counts, a part unknown
            if column is not columns[k] and None in column:
                unknown.update(positions(column, None))
                contributions[k] = [0 if c is None else c for c in column]  # so that rows add up
        results = self._values(n, columns[:n], contributions, params)
        if results is None:
            results, unknown = [None] * size, range(size)
        for i in unknown:
            results[i] = self.compute([column[i] for column in columns], params, names)
        return results

    @staticmethod
    def _code(params):
        return {"any": None, "treatment": params.treatment, "other": params.other}[
            params.attribution
        ]

    def _contribution(self, experienced, parts, k, code) -> list:
        """What item ``k`` adds to each row's score: 0 when its effect does not count, None
        when an answer needed to tell is missing."""
        raise NotImplementedError

    def _values(self, answered: int, experienced, contributions, params) -> list | None:
        """The rows' scores from the items' contributions, for rows where all are known; None
        when only the per-row form can decide."""
        raise NotImplementedError

    def _score_item_rows(self, items, params, names) -> ScoreValue:
        """``items`` holds, per NEQ item, [experienced, cause] or [experienced, impact, cause]."""
        counted: list = []
        missing: list[str] = []
        answered = 0
        for parts, name in zip(items, names):
            experienced = parts[0]
            if experienced is None:
                missing.append(name)
                continue
            answered += 1
            if experienced != 1:
                continue
            if params.attribution != "any":
                cause = parts[-1]
                if cause is None or cause is NOT_ASKED:
                    missing.append(f"{name} cause")
                    continue
                wanted = params.treatment if params.attribution == "treatment" else params.other
                if cause != wanted:
                    continue
            counted.append((name, parts))
        if len(missing) > params.max_missing:
            reason = missing_reason(missing, len(names), params.max_missing)
            return ScoreValue(None, "not scorable", answered, reason)
        return self._value(counted, missing, answered, params, names)

    def _value(self, counted, missing, answered, params, names) -> ScoreValue:
        raise NotImplementedError

    def _sql_tally(self, params, inputs, sql):
        """What ``_score_item_rows`` finds, as SQL: per item whether it counts, the first
        round of missing answers (experienced, then cause), how many were answered and how
        many count. Tallies the scores of one instrument share (the unanswered items, the
        effects counted) are ``let`` columns of the same SQL text, computed once."""
        parts = self._parts(params)
        n = len(inputs) // (1 + len(parts))
        items = inputs[:n]
        part = {p: inputs[(j + 1) * n : (j + 2) * n] for j, p in enumerate(parts)}
        code = self._code(params)
        counted, named = [], []
        for k, item in enumerate(items):
            yes = f"COALESCE({item.value} = 1, FALSE)"
            named.append((item.missing, item.id))
            if code is None:
                counted.append(yes)
                continue
            cause = part["cause"][k].value
            # Experienced unknown and cause unknown exclude each other: one name per item.
            named.append((f"({yes} AND {cause} IS NULL)", item.id + " cause"))
            counted.append(f"({yes} AND COALESCE({cause} = {sql.number(code)}, FALSE))")
        first, names = sql.missing(named)
        unanswered, _ = sql.missing([(item.missing, item.id) for item in items])
        answered = f"({len(items)} - {unanswered})"
        return items, part, counted, first, names, answered, sql.let(sql.count(counted), "counted")


class NeqCountRule(_NeqRule):
    name = "neq_count"
    summary = "Number of negative effects experienced (optionally: attributed to one cause)."

    def output(self, score, params, instrument, outputs) -> Output:
        return Output("number", 0, len(score.items), integer=True)

    def _value(self, counted, missing, answered, params, names) -> ScoreValue:
        return ScoreValue(len(counted), "prorated" if missing else "complete", answered)

    def _contribution(self, experienced, parts, k, code) -> list:
        if code is None:
            return experienced  # the effects are counted from the answers themselves
        counted = [False] * len(experienced)
        causes = parts["cause"][k]
        for i in positions(experienced, 1):  # most effects were not experienced
            c = causes[i]
            counted[i] = None if c is None or c is NOT_ASKED else c == code
        return counted

    def _values(self, answered, experienced, contributions, params) -> list:
        if params.attribution == "any":
            counts = map(tuple.count, zip(*experienced), repeat(1))
        else:
            counts = map(tuple.count, zip(*contributions), repeat(True))
        return _shared(list(counts), lambda count: ScoreValue(count, "complete", answered))

    def to_sql(self, params, inputs, sql):
        items, _, _, missing, names, answered, count = self._sql_tally(params, inputs, sql)
        allowed = params.max_missing
        reason = sql.missing_reason(names, missing, str(len(items)), allowed, len(items) > 5)
        return SqlScore(
            value=f"(CASE WHEN {missing} > {allowed} THEN NULL ELSE {count} END)",
            status=f"(CASE WHEN {missing} > {allowed} THEN 'not scorable'"
            f" WHEN {missing} > 0 THEN 'prorated' ELSE 'complete' END)",
            reason=f"(CASE WHEN {missing} > {allowed} THEN {reason} ELSE '' END)",
            answered=answered,
        )


class NeqImpactRule(_NeqRule):
    name = "neq_impact"
    summary = (
        "Total or mean negative impact (0-4) of the effects experienced (optionally: of one cause)."
    )
    Params = NeqImpactParams

    def _parts(self, params) -> list[str]:
        return ["impact", *super()._parts(params)]

    def output(self, score, params, instrument, outputs) -> Output:
        impacts = [outputs.get(_follow_up(params.impact, i)) for i in score.items]
        highest = max((o.maximum for o in impacts if o and o.maximum is not None), default=None)
        if params.statistic == "mean":
            return Output("number", 0, highest)
        top = None if highest is None else highest * len(score.items)
        return Output("number", 0, top, integer=True)

    def _value(self, counted, missing, answered, params, names) -> ScoreValue:
        known = []
        for name, parts in counted:
            if parts[1] is None or parts[1] is NOT_ASKED:
                missing = [*missing, f"{name} impact"]
            else:
                known.append(parts[1])
        if len(missing) > params.max_missing:
            reason = missing_reason(missing, len(names), params.max_missing)
            return ScoreValue(None, "not scorable", answered, reason)
        status = "prorated" if missing else "complete"
        if params.statistic == "sum":
            return ScoreValue(sum(known), status, answered)
        if not known:
            return ScoreValue(None, "not scorable", answered, _NO_EFFECT)
        return ScoreValue(sum(known) / len(known), status, answered)

    def _contribution(self, experienced, parts, k, code) -> list:
        impacts = parts["impact"][k]
        added = [0] * len(experienced)
        # Only the effects experienced add anything; most are not: their rows are found at C
        # speed and the rest stay 0.
        if code is None:
            for i in positions(experienced, 1):
                v = impacts[i]
                added[i] = None if v is NOT_ASKED else v
            return added
        causes = parts["cause"][k]
        for i in positions(experienced, 1):
            c = causes[i]
            if c is None or c is NOT_ASKED:
                added[i] = None
            elif c == code:
                v = impacts[i]
                added[i] = None if v is NOT_ASKED else v
        return added

    def _values(self, answered, experienced, contributions, params) -> list:
        # sum() adds in item order, as the per-row form does, so floats agree to the last bit.
        totals = list(map(sum, zip(*contributions)))
        if params.statistic == "sum":
            return _shared(totals, lambda total: ScoreValue(total, "complete", answered))
        if params.attribution != "any":
            return None  # the per-row form counts effects by cause
        counts = map(tuple.count, zip(*experienced), repeat(1))
        return [
            ScoreValue(total / count, "complete", answered)
            if count
            else ScoreValue(None, "not scorable", answered, _NO_EFFECT)
            for total, count in zip(totals, counts)
        ]

    def to_sql(self, params, inputs, sql):
        items, part, counted, first, names, answered, count = self._sql_tally(params, inputs, sql)
        impacts = part["impact"]
        known = [f"({c} AND {i.value} IS NOT NULL)" for c, i in zip(counted, impacts)]
        lacking = [f"({c} AND {i.value} IS NULL)" for c, i in zip(counted, impacts)]
        second, second_names = sql.missing([(m, i.id + " impact") for m, i in zip(lacking, items)])
        total = sql.let(
            sql.sum([f"(CASE WHEN {k} THEN {i.value} ELSE 0 END)" for k, i in zip(known, impacts)]),
            "total",
        )
        effects = f"({count} - {second})"  # those counted whose impact is known
        total_float = sql.any(
            [f"({k} AND {i.is_float})" for k, i in zip(known, impacts) if i.is_float != "FALSE"]
        )
        n, allowed = len(items), params.max_missing
        every = f"({first} + {second})"
        # Past the first round's limit only its names count; else both rounds' (one list, so
        # that the names are built only for the rows that need them).
        names = (
            f"COALESCE(concat_ws(', ', NULLIF({names}, ''), CASE WHEN {first} <= {allowed}"
            f" THEN NULLIF({second_names}, '') END), '')"
        )
        counted_missing = f"(CASE WHEN {first} > {allowed} THEN {first} ELSE {every} END)"
        mean = params.statistic == "mean"
        none = f"{effects} = 0" if mean else "FALSE"
        unscorable = f"({first} > {allowed} OR {every} > {allowed} OR {none})"
        value = f"({sql.double(total)} / NULLIF({effects}, 0))" if mean else total
        return SqlScore(
            value=f"(CASE WHEN {unscorable} THEN NULL ELSE {value} END)",
            status=f"(CASE WHEN {unscorable} THEN 'not scorable'"
            f" WHEN {every} > 0 THEN 'prorated' ELSE 'complete' END)",
            reason=f"(CASE WHEN {first} > {allowed} OR {every} > {allowed}"
            f" THEN {sql.missing_reason(names, counted_missing, str(n), allowed, True)}"
            f" WHEN {none} THEN '{_NO_EFFECT}'"
            " ELSE '' END)",
            answered=answered,
            is_float="TRUE" if mean else total_float,
        )
