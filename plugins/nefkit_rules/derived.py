"""Rules computed from an earlier score: severity bands and caseness thresholds."""

from __future__ import annotations

from pydantic import Field, model_validator

from nefkit.rules import Output, RuleParams, ScoreValue, ScoringRule
from nefkit.sql import SqlScore

from ._common import numeric_inputs


class Band(RuleParams):
    min: int | float
    max: int | float
    label: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.min > self.max:
            raise ValueError(f"band '{self.label}' has min {self.min} above max {self.max}")
        return self


class BandsParams(RuleParams):
    score: str = Field(description="The score whose value is banded.")
    bands: list[Band] = Field(
        min_length=1, description="{ min, max, label } per band, covering the score's range."
    )


class _FromScore(ScoringRule):
    def inputs(self, score, params) -> list[str]:
        return [params.score]

    def check(self, score, params, instrument, outputs):
        if score.items:
            yield "takes its input from params.score, not from items; remove items = [...]"
        if params.score in instrument.item_map:
            yield f"'{params.score}' is an item; name a score"
        yield from numeric_inputs([params.score], outputs)

    def missing_policy(self, params) -> str:
        return f"not scorable when {params.score} is not scorable"

    def compute_batch(self, columns, params, names) -> list[ScoreValue]:
        """The per-row form once per distinct score: a column of scores holds few. The kind of
        number is part of the key, so that 10 and 10.0 are decided apart."""
        [column] = columns
        keys = list(zip(column, map(type, column)))
        made = {key: self.compute([key[0]], params, names) for key in set(keys)}
        return list(map(made.__getitem__, keys))

    @staticmethod
    def _sql_unscorable(source, sql) -> str:
        return sql.text(f"{source.id} could not be scored")

    @staticmethod
    def _unscorable(value, names) -> ScoreValue | None:
        if value is None:
            return ScoreValue(None, "not scorable", 0, f"{names[0]} could not be scored")
        return None


class BandsRule(_FromScore):
    """A value belongs to the band with the highest ``min`` not above it, so a prorated 9.5
    between bands 5–9 and 10–14 is in the lower one, as cut-points are usually read."""

    name = "bands"
    summary = "Label of the band (e.g. a severity range) that a score falls in."
    Params = BandsParams

    def check(self, score, params, instrument, outputs):
        yield from super().check(score, params, instrument, outputs)
        source = outputs.get(params.score)
        if source is None or source.kind != "number":
            return
        bands = sorted(params.bands, key=lambda b: b.min)
        # Whole-number scores: bands 0–4 and 5–9 meet. Others: 0–4.5 and 4.5–9 meet at 4.5.
        step = 1 if source.integer else 0
        for low, high in zip(bands, bands[1:]):
            if high.min < low.max + step:
                yield f"bands '{low.label}' ({low.min}–{low.max}) and '{high.label}' ({high.min}–{high.max}) overlap"
            elif high.min > low.max + step:
                yield f"bands leave a gap between {low.max} ('{low.label}') and {high.min} ('{high.label}')"
        labels = [b.label for b in bands]
        for label in sorted({lb for lb in labels if labels.count(lb) > 1}):
            yield f"the band label '{label}' is used twice"
        if source.minimum is not None and bands[0].min > source.minimum:
            yield f"no band covers {source.minimum}, the lowest possible {params.score} (first band starts at {bands[0].min})"
        if source.maximum is not None and bands[-1].max < source.maximum:
            yield f"no band covers {source.maximum}, the highest possible {params.score} (last band ends at {bands[-1].max})"
        if source.minimum is not None and bands[0].min < source.minimum:
            yield f"band '{bands[0].label}' starts at {bands[0].min}, below the lowest possible {params.score} ({source.minimum})"
        if source.maximum is not None and bands[-1].max > source.maximum:
            yield f"band '{bands[-1].label}' ends at {bands[-1].max}, above the highest possible {params.score} ({source.maximum})"

    def output(self, score, params, instrument, outputs) -> Output:
        return Output("label")

    def compute(self, values, params, names) -> ScoreValue:
        value = values[0]
        unscorable = self._unscorable(value, names)
        if unscorable:
            return unscorable
        bands = sorted(params.bands, key=lambda b: b.min)
        if value < bands[0].min or value > bands[-1].max:
            return ScoreValue(
                None, "not scorable", 1, f"{names[0]} = {value} is outside every band"
            )
        label = next(b.label for b in reversed(bands) if b.min <= value)
        return ScoreValue(label, "complete", 1)

    def to_sql(self, params, inputs, sql):
        [source] = inputs
        x = source.value
        bands = sorted(params.bands, key=lambda b: b.min)
        outside = f"({x} < {sql.number(bands[0].min)} OR {x} > {sql.number(bands[-1].max)})"
        label = " ".join(
            f"WHEN {x} >= {sql.number(b.min)} THEN {sql.text(b.label)}" for b in reversed(bands)
        )
        outside_reason = sql.concat(
            sql.text(f"{source.id} = "),
            sql.number_text(x, source.is_float),
            sql.text(" is outside every band"),
        )
        return SqlScore(
            value=f"(CASE WHEN {x} IS NULL OR {outside} THEN NULL ELSE (CASE {label} END) END)",
            status=f"(CASE WHEN {x} IS NULL OR {outside} THEN 'not scorable' ELSE 'complete' END)",
            reason=f"(CASE WHEN {x} IS NULL THEN {self._sql_unscorable(source, sql)}"
            f" WHEN {outside} THEN {outside_reason} ELSE '' END)",
            answered=f"(CASE WHEN {x} IS NULL THEN 0 ELSE 1 END)",
        )


class ThresholdParams(RuleParams):
    score: str = Field(description="The score compared with the threshold.")
    at_least: int | float = Field(description="The score is a case from this value up.")


class ThresholdRule(_FromScore):
    name = "threshold"
    summary = "Yes when a score reaches a threshold (e.g. caseness), else no."
    Params = ThresholdParams

    def output(self, score, params, instrument, outputs) -> Output:
        return Output("boolean")

    def compute(self, values, params, names) -> ScoreValue:
        value = values[0]
        return self._unscorable(value, names) or ScoreValue(value >= params.at_least, "complete", 1)

    def to_sql(self, params, inputs, sql):
        [source] = inputs
        x = source.value
        return SqlScore(
            value=f"(CASE WHEN {x} IS NULL THEN NULL ELSE {x} >= {sql.number(params.at_least)} END)",
            status=f"(CASE WHEN {x} IS NULL THEN 'not scorable' ELSE 'complete' END)",
            reason=f"(CASE WHEN {x} IS NULL THEN {self._sql_unscorable(source, sql)} ELSE '' END)",
            answered=f"(CASE WHEN {x} IS NULL THEN 0 ELSE 1 END)",
        )
