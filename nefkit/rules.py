"""The contract a scoring rule fulfils. Rules themselves are plugins (see ``nefkit_rules``).

A definition names a rule per score (``rule = "sum"``) and per change (``rule =
"reliable_change"``) with parameters as data. The rule validates those parameters with its
``Params`` model, checks the score against the instrument before any response is scored, and
computes values in two forms: one administration at a time (``compute``) and a whole column batch
at once (``compute_batch``), so a faster engine can run the same plan over millions of rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from .definitions.instrument import Change, Instrument, Score
    from .sql import SqlBuilder, SqlInput, SqlScore


class _NotAsked:
    """The answer to a follow-up whose condition is false: not missing, just not applicable. A
    follow-up whose condition is unknown (its gating answer blank) is None when blank."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_ASKED"

    def __reduce__(self):
        return (_NotAsked, ())


NOT_ASKED = _NotAsked()

# What a rule receives per input: a code or number, the codes of a multiple-choice answer, free
# text, None for a blank (also a follow-up of a blank gate), or NOT_ASKED.
Value = Union[int, float, tuple, str, None, _NotAsked]
Status = Literal["complete", "prorated", "not scorable"]


@dataclass(frozen=True, slots=True)
class ScoreValue:
    """One score of one administration, with how it was obtained.

    ``value`` is None exactly when ``status`` is "not scorable"; ``reason`` then says why in words
    a clinician understands. ``answered`` counts the inputs that had an answer.
    """

    value: Union[int, float, str, bool, None]
    status: Status
    answered: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Output:
    """What a score's values look like, for checking bands and describing the codebook."""

    kind: Literal["number", "label", "boolean", "text", "codes"]
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    integer: bool = False


class RuleParams(BaseModel):
    """Base for a rule's parameter model: unknown parameters are errors, values never coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Rule(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]
    Params: ClassVar[type[RuleParams]] = RuleParams

    def parse_params(self, params: Mapping[str, Any]) -> RuleParams:
        return self.Params.model_validate(dict(params))


class ScoringRule(Rule):
    """Computes one score of one administration from answers or from earlier scores."""

    def inputs(self, score: Score, params: RuleParams) -> list[str]:
        """Ids of the items and earlier scores the rule reads, in the order ``compute`` gets them."""
        return list(score.items)

    def check(
        self,
        score: Score,
        params: RuleParams,
        instrument: Instrument,
        outputs: Mapping[str, Output],
    ) -> Iterable[str]:
        """Problems with this score beyond its parameters' shape, each in plain words.

        ``outputs`` describes the instrument's items and the scores defined before this one.
        """
        return ()

    def missing_policy(self, params: RuleParams) -> str:
        """How unanswered questions are treated, in words for a codebook."""
        return f"as the '{self.name}' rule defines"

    @abstractmethod
    def output(
        self,
        score: Score,
        params: RuleParams,
        instrument: Instrument,
        outputs: Mapping[str, Output],
    ) -> Output:
        """The kind and range of this score's values."""

    @abstractmethod
    def compute(
        self, values: Sequence[Value], params: RuleParams, names: Sequence[str]
    ) -> ScoreValue:
        """The score of one administration from its input values, in ``inputs`` order;
        ``names`` are the input ids, for reasons such as "phq9_3 unanswered"."""

    def compute_batch(
        self, columns: Sequence[Sequence[Value]], params: RuleParams, names: Sequence[str]
    ) -> list[ScoreValue]:
        """One result per row from one column per input. Override for speed; the default is the
        per-row form, which every override must agree with."""
        return [self.compute(row, params, names) for row in zip(*columns)]

    def to_sql(
        self, params: RuleParams, inputs: Sequence[SqlInput], sql: SqlBuilder
    ) -> Optional[SqlScore]:
        """Optional: the score as SQL expressions over ``inputs`` (one per input, in ``inputs``
        order), for the columnar engine and ``nefkit sql``; ``sql`` holds the dialect's helpers.
        The expressions must agree exactly with ``compute`` (see nefkit/scoring/sql_plan.py). The
        default, None, makes the columnar engine run ``compute_batch`` on batches instead."""
        return None


class ChangeRule(Rule):
    """Classifies the change in a score between two administrations of one respondent."""

    def check(self, change: Change, params: RuleParams, output: Output) -> Iterable[str]:
        return ()

    @abstractmethod
    def classify(self, before: float, after: float, params: RuleParams) -> str:
        """The class of a change from ``before`` to ``after``, e.g. "reliably deteriorated"."""

    def to_sql(self, params: RuleParams, before: str, after: str, sql: SqlBuilder) -> Optional[str]:
        """Optional: ``classify`` as a SQL expression over the ``before`` and ``after`` values;
        None (the default) makes the columnar engine classify in Python."""
        return None
