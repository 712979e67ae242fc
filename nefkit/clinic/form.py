"""One administration being filled in, wherever it is: in the terminal (:mod:`.administer`) or
in a browser (:mod:`nefkit.web`). Which questions apply now, how they are numbered, what an
answer means, and saving it: one code path, so both ask the same questions and store answers
(and the alerts they raise) the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..definitions import conditions
from ..definitions.instrument import Item
from ..definitions.plan import Plan
from ..definitions.responses import AnswerParser
from ..rules import NOT_ASKED
from ..stores import Administration
from .alerts import Clinic

# Runs a save, and may wait or retry while another program holds the database (the terminal
# tells the client to wait); by default the save runs once.
Saver = Callable[[Callable[[], None], str], None]


def numbering(plan: Plan) -> dict[str, str]:
    """Each item's number as the client sees it: "3" for a question, "3a", "3b" for the
    follow-ups that come right after it and depend on nothing else (the NEQ's "how negatively?"
    and "caused by?"). Counting only questions keeps the total the same whichever follow-ups
    apply. A follow-up that looks further back (the PHQ-9's difficulty question, asked when any
    problem was ticked) is a question of its own."""
    conditions_of = {item.id: condition for item, condition in plan.follow_ups}
    numbers: dict[str, str] = {}
    question, parts, group = 0, 0, set()
    for item in plan.items:
        condition = conditions_of.get(item.id)
        refs = {t.ref for t in conditions.tests(condition)} if condition is not None else set()
        if refs and refs <= group:
            parts += 1
            numbers[item.id] = f"{question}{_letters(parts)}"
            group.add(item.id)
        else:
            question, parts, group = question + 1, 0, {item.id}
            numbers[item.id] = str(question)
    return numbers


def _letters(n: int) -> str:
    """1 → a, 26 → z, 27 → aa: a part's letter, however many parts."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _once(save: Callable[[], None], what: str) -> None:
    save()


class Form:
    """The answers of one administration as they stand, and the questions they make apply."""

    def __init__(
        self, plan: Plan, clinic: Clinic, administration: Administration, saver: Saver = _once
    ):
        self.plan = plan
        self.clinic = clinic
        self.administration = administration
        self.saver = saver
        self.answers = dict(administration.answers)  # item id: stored value (None = skipped)
        self.parsers = {item.id: AnswerParser(plan.instrument, item) for item in plan.items}
        self.conditions = {item.id: cond for item, cond in plan.follow_ups}
        self.numbers = numbering(plan)
        self.total = sum(number.isdigit() for number in self.numbers.values())

    def values(self) -> dict[str, Any]:
        """The answers, with NOT_ASKED for every follow-up left out: one is asked only when its
        condition holds, not after a skipped gate (scoring then counts that follow-up as
        missing, see nefkit/definitions/plan.py)."""
        values: dict[str, Any] = {}
        for item in self.plan.items:
            condition = self.conditions.get(item.id)
            if condition is not None and condition.evaluate(values) is not True:
                values[item.id] = NOT_ASKED
            else:
                values[item.id] = self.answers.get(item.id)
        return values

    def asked(self) -> list[Item]:
        """The questions that apply now, in order."""
        values = self.values()
        return [item for item in self.plan.items if values[item.id] is not NOT_ASKED]

    def first_open(self) -> int:
        """The position among :meth:`asked` of the first question not answered or skipped yet
        (their number when every one is)."""
        asked = self.asked()
        return next((i for i, item in enumerate(asked) if item.id not in self.answers), len(asked))

    def save(self, item: Item, value: Any, what: str, reason: str | None = None) -> None:
        """Store ``value`` (None: skipped) as the answer to ``item`` now, with the alerts it
        raises; then withdraw the answers of follow-ups it makes no longer apply, each a new
        record, so that the history keeps both."""
        self._store(item, value, what, reason)
        values = self.values()
        for other in self.plan.items:
            if values[other.id] is NOT_ASKED and self.answers.get(other.id) is not None:
                self._store(
                    other,
                    None,
                    f"the withdrawal of the answer to question {self.numbers[other.id]}",
                    "no longer asked after an earlier answer changed",
                )

    def _store(self, item: Item, value: Any, what: str, reason: str | None) -> None:
        self.saver(lambda: self.clinic.answer(self.administration, item.id, value, reason), what)
        self.answers[item.id] = value

    def finish(self) -> None:
        self.saver(
            lambda: self.clinic.finish(self.administration),
            f"the finish of {self.plan.instrument.title} (its answers are saved)",
        )

    def parent(self, item: Item) -> Item | None:
        """The question a follow-up is about, when it depends on one question only."""
        condition = self.conditions.get(item.id)
        if condition is None:
            return None
        refs = [t.ref for t in conditions.tests(condition)]
        return self.plan.instrument.item_map.get(refs[0]) if len(set(refs)) == 1 else None

    def describe(self, item: Item, value: Any) -> str:
        """An answer in words: its code and label, or the words the client typed; "skipped"."""
        if value is None:
            return "skipped"
        labels = dict(self.plan.instrument.choices(item))
        if isinstance(value, (list, tuple)):
            return "; ".join(labels.get(v, str(v)) for v in value) or "none"
        if value in labels:
            return f"{value} {labels[value]}"
        return str(value)
