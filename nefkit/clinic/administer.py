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

from ..definitions.instrument import Item
from ..definitions.plan import Plan
from ..definitions.responses import CellError
from ..stores import Administration, DatabaseBusy, Store
from ..terminal import safe
from .alerts import Clinic
from .form import Form

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


def _wrap(text: str, indent: str = "", hanging: str | None = None) -> str:
    """Text laid out in lines of 78: its own line breaks and tabs are spaces, as for any
    whitespace; any other control character is shown as its escape."""
    hanging = indent if hanging is None else hanging
    words = safe(" ".join(text.split()))
    return textwrap.fill(words, width=78, initial_indent=indent, subsequent_indent=hanging)


class Conversation:
    """One administration of one instrument in the terminal. ``ask`` reads a line (it may raise
    EOFError or KeyboardInterrupt: every answer given so far is already stored, with the alerts
    it raises); ``say`` prints. What applies and how answers are saved is the :class:`Form`'s."""

    def __init__(
        self,
        plan: Plan,
        clinic: Clinic,
        administration: Administration,
        ask: Callable[[str], str],
        say: Callable[[str], None],
    ):
        self.plan = plan
        self.ask = ask
        self.say = say
        self.form = Form(plan, clinic, administration, self._patiently)
        self.answers = self.form.answers
        self.numbers = self.form.numbers
        self.total = self.form.total

    def _patiently(self, save: Callable[[], None], what: str) -> None:
        patiently(self.form.clinic.store, self.say, save, what)

    def _store(self, item: Item, value: Any) -> None:
        shown = self._describe(item, value)
        self.form.save(item, value, f"the answer to question {self.numbers[item.id]} ({shown})")

    # -- the conversation ------------------------------------------------------------------

    def run(self) -> bool:
        """Ask every question that applies, then review. True when the client finished."""
        instrument = self.plan.instrument
        self.say(safe(instrument.title))
        if instrument.instructions:
            self.say(_wrap(instrument.instructions))
        self.say(HELP)
        asked = self.form.asked()
        position = self.form.first_open()
        if position == len(asked) and asked:
            self.say("\nEvery question is answered already; the answers are kept.")
        elif position:
            number = self.numbers[asked[position].id]
            self.say(f"\nCarrying on from question {number}; the earlier answers are kept.")
        reviewing = False
        while True:
            asked = self.form.asked()
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
                asked = self.form.asked()
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
            self.say(
                f"(Your answer so far: {self._describe(item, current)}. Press Enter to keep it.)"
            )
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
                value = self.form.parsers[item.id].parse(reply)
            except CellError:
                self.say(self._refusal(item))
                continue
            self._store(item, value)
            return 1

    def review(self, asked: list[Item]) -> int | None:
        """Show every answer; return the position of one to change, or None to finish."""
        self.say("")
        self.say("Please check your answers:")
        positions = {self.numbers[item.id]: index for index, item in enumerate(asked)}
        for item in asked:
            self.say(_wrap(f"{self.numbers[item.id]}. {item.text}", "", "    "))
            self.say(f"     {self._describe(item, self.answers.get(item.id))}")
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
        parent = self.form.parent(item)
        return parent.text if parent else None

    def _describe(self, item: Item, value: Any) -> str:
        """An answer for the screen (see :meth:`Form.describe`), as text, never a command."""
        return safe(self.form.describe(item, value))

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
