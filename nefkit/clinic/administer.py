"""Asking a client the questions in a terminal, one at a time, saving each answer as it is given.

Plain text only: no colour, no cursor tricks, keyboard only, so it works on any terminal and
with a screen reader. The client may go back, skip a question the instrument lets them skip,
stop and resume later, and review every answer before finishing. Every text from the
definition or the record is shown through :func:`nefkit.terminal.safe`: it reaches the screen
as text, never as a terminal command.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from ..definitions import conditions
from ..definitions.instrument import Item
from ..definitions.plan import Plan
from ..definitions.responses import AnswerParser, CellError
from ..rules import NOT_ASKED
from ..stores import Administration, DatabaseBusy, Store
from ..terminal import safe
from .alerts import Clinic

HELP = (
    "Type the number of your answer, or its words. You can also type:\n"
    "  b  to go back to the previous question\n"
    "  s  to skip a question (only where skipping is allowed)\n"
    "  q  to stop for now: your answers so far are kept, and you can carry on later\n"
    "  ?  to see this help again"
)


# How long saving an answer waits for another program holding the database before the client is
# told to wait; it then tries again in slices of this length, between which Ctrl-C is heard
# (SQLite's own waiting cannot be interrupted).
SAVE_WAIT_SECONDS = 2.0


class NotSaved(Exception):
    """The clinician stopped nefkit while it waited to save ``what``."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def patiently(
    store: Store, say: Callable[[str], None], save: Callable[[], None], what: str
) -> None:
    """``save``, however long another program holds the database: the client is told to wait,
    and nothing typed is lost. Ctrl-C while waiting raises :class:`NotSaved` naming ``what``."""
    told = False
    try:
        with store.waiting(SAVE_WAIT_SECONDS):
            while True:
                try:
                    save()
                    return
                except DatabaseBusy:
                    if not told:
                        say("Saving… please wait a moment.")
                        told = True
    except KeyboardInterrupt:
        if told:
            raise NotSaved(what) from None
        raise


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


def _wrap(text: str, indent: str = "", hanging: str | None = None) -> str:
    """Text laid out in lines of 78: its own line breaks and tabs are spaces, as for any
    whitespace; any other control character is shown as its escape."""
    hanging = indent if hanging is None else hanging
    words = safe(" ".join(text.split()))
    return textwrap.fill(words, width=78, initial_indent=indent, subsequent_indent=hanging)


class Conversation:
    """One administration of one instrument. ``ask`` reads a line (it may raise EOFError or
    KeyboardInterrupt: every answer given so far is already stored, with the alerts it raises);
    ``say`` prints."""

    def __init__(
        self,
        plan: Plan,
        clinic: Clinic,
        administration: Administration,
        ask: Callable[[str], str],
        say: Callable[[str], None],
    ):
        self.plan = plan
        self.clinic = clinic
        self.administration = administration
        self.answers = dict(administration.answers)  # item id: stored value (None = skipped)
        self.ask = ask
        self.say = say
        self.parsers = {item.id: AnswerParser(plan.instrument, item) for item in plan.items}
        self.conditions = {item.id: cond for item, cond in plan.follow_ups}
        self.numbers = numbering(plan)
        self.total = sum(number.isdigit() for number in self.numbers.values())

    # -- which questions apply -------------------------------------------------------------

    def _values(self) -> dict[str, Any]:
        """The answers, with NOT_ASKED for every follow-up the conversation leaves out: it asks
        one only when its condition holds, not after a skipped gate (scoring then counts that
        follow-up as missing, see nefkit/definitions/plan.py)."""
        values: dict[str, Any] = {}
        for item in self.plan.items:
            condition = self.conditions.get(item.id)
            if condition is not None and condition.evaluate(values) is not True:
                values[item.id] = NOT_ASKED
            else:
                values[item.id] = self.answers.get(item.id)
        return values

    def asked(self) -> list[Item]:
        values = self._values()
        return [item for item in self.plan.items if values[item.id] is not NOT_ASKED]

    def _withdraw_unasked(self) -> None:
        """An answer to a follow-up that no longer applies (its question was answered
        differently since) is withdrawn by a new record, so history keeps both."""
        values = self._values()
        for item in self.plan.items:
            if values[item.id] is NOT_ASKED and self.answers.get(item.id) is not None:
                self._store(item, None, reason="no longer asked after an earlier answer changed")

    def _store(self, item: Item, value: Any, reason: str | None = None) -> None:
        shown = "skipped" if value is None else self._describe(item, value)
        patiently(
            self.clinic.store,
            self.say,
            lambda: self.clinic.answer(self.administration, item.id, value, reason),
            f"the answer to question {self.numbers[item.id]} ({shown})",
        )
        self.answers[item.id] = value

    # -- the conversation ------------------------------------------------------------------

    def run(self) -> bool:
        """Ask every question that applies, then review. True when the client finished."""
        instrument = self.plan.instrument
        self.say(safe(instrument.title))
        if instrument.instructions:
            self.say(_wrap(instrument.instructions))
        self.say(HELP)
        asked = self.asked()
        position = next(
            (i for i, item in enumerate(asked) if item.id not in self.answers), len(asked)
        )
        if position == len(asked) and asked:
            self.say("\nEvery question is answered already; the answers are kept.")
        elif position:
            number = self.numbers[asked[position].id]
            self.say(f"\nCarrying on from question {number}; the earlier answers are kept.")
        reviewing = False
        while True:
            asked = self.asked()
            if position >= len(asked):
                change = self.review(asked)
                if change is None:
                    return True
                position, reviewing = change, True
                continue
            step = self.question(asked, position)
            if step == "quit":
                return False
            position = max(0, position + step)
            if reviewing and step == 1:
                # After a change from the review, ask only what the change made newly
                # applicable, then show the review again.
                asked = self.asked()
                position = next(
                    (i for i in range(position, len(asked)) if asked[i].id not in self.answers),
                    len(asked),
                )

    def question(self, asked: list[Item], position: int):
        item = asked[position]
        self.say("")
        self.say(f"Question {self.numbers[item.id]} of {self.total}")
        parent = self._parent_text(item)
        if parent:
            self.say(_wrap(f"About: {parent}"))
        self.say(_wrap(item.text))
        for value, label in self.plan.instrument.choices(item):
            self.say(f"  {value:>3}  {safe(label)}")
        if item.type == "multiple":
            self.say("Type the numbers of all that apply, separated by commas.")
        elif item.type == "number":
            self.say("Type a number.")
        elif item.type == "text":
            self.say("Type your answer on one line (or press Enter to leave it).")
        current = self.answers.get(item.id)
        if item.id in self.answers:
            shown = "skipped" if current is None else self._describe(item, current)
            self.say(f"(Your answer so far: {shown}. Press Enter to keep it.)")
        while True:
            reply = self.ask("Your answer: ").strip()
            command = reply.lower()
            if command in ("q", "quit"):
                return "quit"
            if command in ("b", "back"):
                if position == 0:
                    self.say("This is the first question.")
                    continue
                return -1
            if command == "?":
                self.say(HELP)
                continue
            if command in ("s", "skip") or (reply == "" and item.type == "text" and item.optional):
                if not item.optional:
                    self.say("This question needs an answer. (Type q to stop for now.)")
                    continue
                self._store(item, None)
                return 1
            if reply == "":
                if item.id in self.answers:
                    return 1
                self.say("Please type an answer (or ? for help).")
                continue
            try:
                value = self.parsers[item.id].parse(reply)
            except CellError:
                self.say(self._refusal(item))
                continue
            self._store(item, value)
            self._withdraw_unasked()
            return 1

    def review(self, asked: list[Item]) -> int | None:
        """Show every answer; return the position of one to change, or None to finish."""
        self.say("")
        self.say("Please check your answers:")
        positions = {self.numbers[item.id]: index for index, item in enumerate(asked)}
        for item in asked:
            value = self.answers.get(item.id)
            shown = "skipped" if value is None else self._describe(item, value)
            self.say(_wrap(f"{self.numbers[item.id]}. {item.text}", "", "    "))
            self.say(f"     {shown}")
        while True:
            reply = self.ask(
                "Type a question number to change it, or press Enter to finish: "
            ).strip()
            if reply == "":
                return None
            if reply.lower() in positions:
                return positions[reply.lower()]
            self.say("Type the number of a question shown above, or press Enter to finish.")

    def _parent_text(self, item: Item) -> str | None:
        condition = self.conditions.get(item.id)
        if condition is None:
            return None
        refs = [t.ref for t in conditions.tests(condition)]
        parent = self.plan.instrument.item_map.get(refs[0]) if len(set(refs)) == 1 else None
        return parent.text if parent else None

    def _describe(self, item: Item, value: Any) -> str:
        """An answer for the screen: its code and label, or the words the client typed."""
        labels = dict(self.plan.instrument.choices(item))
        if isinstance(value, (list, tuple)):
            shown = "; ".join(labels.get(v, str(v)) for v in value) or "none"
        elif value in labels:
            shown = f"{value} {labels[value]}"
        else:
            shown = str(value)
        return safe(shown)

    def _refusal(self, item: Item) -> str:
        choices = self.plan.instrument.choices(item)
        if item.type == "multiple":
            return "Please type the numbers of your answers from the list, separated by commas."
        if choices:
            low, high = min(v for v, _ in choices), max(v for v, _ in choices)
            return (
                f"That is not one of the answers. Type a number from {low} to {high}, or the words."
            )
        if item.type == "number":
            bounds = ""
            if item.min is not None and item.max is not None:
                bounds = f" between {item.min:g} and {item.max:g}"
            return f"Please type a {'whole ' if item.integer else ''}number{bounds}."
        return "Please type your answer."
