"""Checks that need the whole definition and the registered rules, run before anything is scored.

Each check yields :class:`Problem` objects; :func:`check_instrument` runs them all so that one
``nefkit validate`` names every problem at once.
"""

from __future__ import annotations

import difflib
import itertools
import math
import typing
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Optional

from pydantic import BaseModel, ValidationError

from ..rules import ChangeRule, Output, Rule, ScoringRule
from ..terminal import UNSAFE, safe
from . import conditions
from .instrument import Instrument, Item
from .problems import Problem, describe_location

# Multi-line texts (instructions, notes) may hold line breaks and tabs; no other control.
LAYOUT = "\n\t"


def item_output(instrument: Instrument, item: Item) -> Output:
    """What an item's answers look like to a rule or a condition."""
    if item.type == "text":
        return Output("text")
    if item.type == "number":
        return Output("number", item.min, item.max, integer=item.integer)
    codes = [value for value, _ in instrument.choices(item)]
    kind = "codes" if item.type == "multiple" else "number"
    return Output(kind, min(codes, default=None), max(codes, default=None), integer=True)


def check_instrument(
    instrument: Instrument,
    rules: Mapping[str, Rule],
    file: str,
    known_ids: frozenset[str] = frozenset(),
    broken: Mapping[int, frozenset[str]] | None = None,
) -> list[Problem]:
    """Every problem in a (possibly partial) definition.

    ``known_ids`` are ids (of items, scores and scales) in the file whose entries were left out
    for failing the structural checks; they are not reported again as unknown wherever they are
    referred to. ``broken`` names the fields of the entries kept that failed them (see
    :func:`nefkit.definitions.loading.parse_instrument`): each check that needs one of those is skipped.
    """
    checker = _Checker(instrument, rules, file, set(known_ids), broken or {})
    return list(checker.run())


class _Checker:
    def __init__(
        self,
        instrument: Instrument,
        rules: Mapping[str, Rule],
        file: str,
        known_ids: set[str],
        broken: Mapping[int, frozenset[str]],
    ):
        self.instrument = instrument
        self.rules = rules
        self.file = file
        self.known_ids = known_ids  # grows with the ids whose output cannot be known
        self.broken = broken
        self.outputs: dict[str, Output] = {}
        self.used: set[str] = set()  # ids some score reads

    def intact(self, entry: object, *fields: str) -> bool:
        """Whether none of these fields of an entry (or of the instrument) failed the
        structural checks; a check needing a field that did is skipped."""
        return self.broken.get(id(entry), frozenset()).isdisjoint(fields)

    def known(self, ref: str, *sections: str) -> bool:
        """Whether ``ref`` may name an entry that failed the structural checks (one of its own,
        or any in one of ``sections`` when a whole section did): it is not reported as unknown,
        and checks needing what it is are skipped."""
        return ref in self.known_ids or not self.intact(self.instrument, *sections)

    def problem(self, where: str, message: str, level: str = "error") -> Problem:
        return Problem(file=self.file, where=where, message=message, level=level)

    def run(self) -> Iterator[Problem]:
        yield from self.check_ids()
        yield from self.check_output_names()
        yield from self.check_scales()
        yield from self.check_items()
        yield from self.check_scores()
        yield from self.check_flags()
        yield from self.check_changes()
        yield from self.check_norms()
        yield from self.check_translations()
        yield from self.check_unused_items()
        yield from self.check_characters()

    def check_translations(self) -> Iterator[Problem]:
        """Every declared language has every text: a client never meets an untranslated item."""
        inst = self.instrument
        if not self.intact(inst, "languages", "translations", "items", "scales"):
            return
        for language in inst.languages[1:]:
            if language not in inst.translations:
                yield self.problem(
                    "translations",
                    f"'{language}' is in languages but there is no [translations.{language}]",
                )
        for language, translation in inst.translations.items():
            where = f"translations › {language}"
            if not self.intact(translation, "items", "scales", "yes_no"):
                continue
            if language not in inst.languages[1:]:
                yield self.problem(
                    where, f"'{language}' is not one of the other languages listed in languages"
                )
            missing = [i.id for i in inst.items if i.id not in translation.items]
            if missing:
                shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
                yield self.problem(where, f"{len(missing)} items have no {language} text: {shown}")
            for item_id in translation.items:
                if item_id not in inst.item_map and item_id not in self.known_ids:
                    yield self.problem(where, self.unknown("item", item_id, inst.item_map))
            used = {i.scale for i in inst.items if i.scale in inst.scales}
            for name in sorted(used - set(translation.scales)):
                yield self.problem(where, f"scale '{name}' has no {language} labels")
            for name, labels in translation.scales.items():
                if name not in inst.scales and name not in self.known_ids:
                    yield self.problem(where, self.unknown("scale", name, inst.scales))
                elif name in inst.scales and len(labels) != len(inst.scales[name].choices):
                    yield self.problem(
                        where,
                        f"scale '{name}' has {len(inst.scales[name].choices)} answers but"
                        f" {len(labels)} {language} labels",
                    )
            if translation.yes_no is None and any(i.type == "yes_no" for i in inst.items):
                yield self.problem(
                    where, f'give the {language} words for No and Yes: yes_no = ["…", "…"]'
                )

    def check_unused_items(self) -> Iterator[Problem]:
        """Legal but suspicious: a scored item that no score reads and no flag tests."""
        inst = self.instrument
        if not inst.scores:
            return  # an inventory reported item by item
        used = set(self.used)
        for flag in inst.flags:
            if not self.intact(flag, "when"):
                continue
            try:
                used |= {t.ref for t in conditions.tests(conditions.parse(flag.when))}
            except conditions.ConditionSyntaxError:
                pass  # reported by check_flags
        for item in inst.items:
            if item.scored and item.type != "text" and item.id not in used:
                yield self.problem(
                    f'item "{item.id}"',
                    "no score uses it and no flag tests it; if it is only asked, mark it scored = false",
                    level="warning",
                )

    def check_characters(self) -> Iterator[Problem]:
        """No text of a definition may hold a control character or a bidi control: shown in a
        terminal (nefkit administer), it could clear the screen or hide or reorder an answer
        option; in a report it would show as nothing or reorder the text around it."""
        data = _plain(self.instrument)
        for loc, text in _texts(data):
            found = sorted({c for c in UNSAFE.findall(text) if c not in LAYOUT})
            if found:
                shown = ", ".join(safe(c) for c in found)
                yield self.problem(
                    describe_location(loc, data) or "top level",
                    f"holds control or bidirectional-text characters ({shown}), which could"
                    " rewrite a terminal or hide or reorder text; remove them",
                )

    def check_ids(self) -> Iterator[Problem]:
        inst = self.instrument
        if not inst.items and not self.known_ids and self.intact(inst, "items"):
            yield self.problem("items", "the instrument has no items; add at least one [[items]]")
        for kind, ids in (
            ("item", [i.id for i in inst.items]),
            ("score", [s.id for s in inst.scores]),
            ("flag", [f.id for f in inst.flags]),
            ("change", [c.id for c in inst.changes]),
        ):
            for ident, count in Counter(ids).items():
                if count > 1:
                    yield self.problem(f'{kind} "{ident}"', f"the id is used by {count} {kind}s")
        shared = {i.id for i in inst.items} & {s.id for s in inst.scores}
        for ident in sorted(shared):
            yield self.problem(
                f'score "{ident}"', "an item has the same id; conditions could not tell them apart"
            )
        for lang, count in Counter(inst.languages).items():
            if count > 1:
                yield self.problem("languages", f"'{lang}' is listed {count} times")

    def check_output_names(self) -> Iterator[Problem]:
        """Each score and flag becomes columns of the output; two columns of one name would
        hide one (ids are lowercase, so letter case cannot tell them apart either)."""
        from ..tabular import LEADING, TRAILING  # here: tabular needs the plan, which needs us

        owners = {name: "a column nefkit always writes" for name in (*LEADING, *TRAILING)}
        claims = [
            (f'score "{s.id}"', name)
            for s in self.instrument.scores
            for name in (s.id, f"{s.id}_status")
        ]
        claims += [(f'flag "{f.id}"', f"flag_{f.id}") for f in self.instrument.flags]
        for where, name in claims:
            owner = owners.setdefault(name, f"a column of {where}")
            if owner != f"a column of {where}":
                yield self.problem(
                    where, f"its output column '{name}' is also {owner}; choose another id"
                )

    def check_scales(self) -> Iterator[Problem]:
        for name, scale in self.instrument.scales.items():
            for what, values in (
                ("value", [c.value for c in scale.choices]),
                ("label", [c.label for c in scale.choices]),
            ):
                for value, count in Counter(values).items():
                    if count > 1:
                        yield self.problem(
                            f'scale "{name}"', f"two answers share the {what} {value!r}"
                        )

    def check_items(self) -> Iterator[Problem]:
        inst = self.instrument
        earlier: dict[str, Item] = {}
        for item in inst.items:
            where = f'item "{item.id}"'
            # A field that failed the structural checks holds its default, not the file's value.
            if self.intact(item, "type", "scale"):
                if item.type in ("choice", "multiple"):
                    if item.scale is None:
                        yield self.problem(where, f'a {item.type} item needs a scale = "..."')
                    elif item.scale not in inst.scales and not self.known(item.scale, "scales"):
                        yield self.problem(where, self.unknown("scale", item.scale, inst.scales))
                elif item.scale is not None:
                    yield self.problem(where, f"a {item.type} item takes no scale")
            if self.intact(item, "type") and item.type != "number":
                if item.min is not None or item.max is not None:
                    yield self.problem(where, "min and max apply to number items only")
            if item.min is not None and item.max is not None and item.min > item.max:
                yield self.problem(where, f"min ({item.min}) is greater than max ({item.max})")
            if item.when is not None:
                yield from self.check_condition(f"{where} › when", item.when, earlier, later=True)
            if self.intact(item, "type", "scale", "min", "max", "integer") and (
                item.type not in ("choice", "multiple") or item.scale in inst.scales
            ):
                self.outputs[item.id] = item_output(inst, item)
            else:
                self.known_ids.add(item.id)
            earlier[item.id] = item

    def check_condition(self, where: str, text: str, items: Mapping[str, Item], later=False):
        """A condition must parse, name known items or scores and compare with possible values."""
        try:
            condition = conditions.parse(text)
        except conditions.ConditionSyntaxError as e:
            yield self.problem(where, str(e))
            return
        all_items = self.instrument.item_map
        for test in conditions.tests(condition):
            ref = test.ref
            if self.known(ref, "items", "scores"):
                continue
            if ref not in items and ref not in self.outputs:
                if later and ref in all_items:
                    message = f"refers to item '{ref}', which comes later; a follow-up must come after the items its condition uses"
                else:
                    message = self.unknown("item or score", ref, [*items, *self.outputs])
                yield self.problem(where, message)
                continue
            item = items.get(ref)
            if item is not None:
                message = self.impossible(test, item)
                if message:
                    yield self.problem(where, message)
                    return
        refs = {test.ref for test in conditions.tests(condition)}
        if refs.isdisjoint(self.known_ids) and _never_holds(condition, self.instrument):
            what = "this question is never asked" if later else "this flag is never raised"
            yield self.problem(where, f"'{text}' can never hold, so {what}", level="warning")

    def impossible(self, test: conditions.Test, item: Item) -> str | None:
        """Why a test can never hold for the answers an item accepts, or None."""
        if isinstance(test, conditions.Answered):
            return None
        if item.type == "text":
            return f"'{test}' compares free text; only answered({item.id}) can test a text item"
        if isinstance(test, conditions.Has) != (item.type == "multiple"):
            return f"'{test}': use 'has' for multiple-choice items and ==, in, <, > for the others"
        choices = self.instrument.choices(item)
        if choices:
            codes = [value for value, _ in choices]
            values = test.values if isinstance(test, conditions.In) else (test.value,)
            if isinstance(test, conditions.Compare) and test.op not in ("==", "!="):
                holds = any(
                    conditions.Compare(item.id, test.op, test.value).evaluate({item.id: c})
                    for c in codes
                )
                if not holds:
                    return f"'{test}' can never hold: {item.id} is one of {_codes(choices)}"
                return None
            bad = [v for v in values if v not in codes]
            if bad:
                return f"'{test}' uses {', '.join(map(str, bad))}, which is not an answer to {item.id} ({_codes(choices)})"
            return None
        value = getattr(test, "value", None)
        if isinstance(test, conditions.Compare) and value is not None:
            low, high = item.min, item.max
            if (low is not None and value < low and test.op in ("==", "<", "<=")) or (
                high is not None and value > high and test.op in ("==", ">", ">=")
            ):
                return f"'{test}' can never hold: {item.id} lies between {low} and {high}"
        return None

    def check_scores(self) -> Iterator[Problem]:
        inst = self.instrument
        for score in inst.scores:
            where = f'score "{score.id}"'
            # A score that cannot be checked is still known: later scores using it must not be
            # reported as using an unknown score.
            if not self.intact(score, "rule"):
                self.known_ids.add(score.id)
                continue
            rule = self.rules.get(score.rule)
            if not isinstance(rule, ScoringRule):
                self.known_ids.add(score.id)
                yield self.problem(where, self.unknown_rule(score.rule, ScoringRule))
                continue
            if not self.intact(score, "items", "params"):
                self.known_ids.add(score.id)
                continue
            try:
                params = rule.parse_params(score.params)
            except ValidationError as e:
                self.known_ids.add(score.id)
                for error in e.errors():
                    yield self.param_problem(where, error, rule)
                continue
            inputs = rule.inputs(score, params)
            self.used.update(inputs)
            missing = [
                i for i in inputs if i not in self.outputs and not self.known(i, "items", "scores")
            ]
            for ref in missing:
                message = self.unknown("item or earlier score", ref, self.outputs)
                yield self.problem(where, f"{message} (used by rule '{rule.name}')")
            if any(i not in self.outputs for i in inputs):
                self.known_ids.add(score.id)
                continue
            unscored = [i for i in inputs if i in inst.item_map and not inst.item_map[i].scored]
            for ref in unscored:
                yield self.problem(where, f"uses item '{ref}', which is marked scored = false")
            try:  # a rule is plugin code: its failure is a problem of this score, not a crash
                messages = list(rule.check(score, params, inst, self.outputs))
                self.outputs[score.id] = rule.output(score, params, inst, self.outputs)
            except Exception as e:
                self.known_ids.add(score.id)
                messages = [f"rule '{rule.name}' failed while checking it: {type(e).__name__}: {e}"]
            for message in messages:
                yield self.problem(where, message)

    def check_flags(self) -> Iterator[Problem]:
        for flag in self.instrument.flags:
            if self.intact(flag, "when"):
                yield from self.check_condition(
                    f'flag "{flag.id}" › when', flag.when, self.instrument.item_map
                )

    def check_changes(self) -> Iterator[Problem]:
        score_ids = {s.id for s in self.instrument.scores}
        for change in self.instrument.changes:
            where = f'change "{change.id}"'
            if self.intact(change, "score") and not (
                change.score in score_ids or self.known(change.score, "scores")
            ):
                yield self.problem(where, self.unknown("score", change.score, score_ids))
            if not self.intact(change, "rule"):
                continue
            rule = self.rules.get(change.rule)
            if not isinstance(rule, ChangeRule):
                yield self.problem(where, self.unknown_rule(change.rule, ChangeRule))
                continue
            if not self.intact(change, "score", "params"):
                continue
            try:
                params = rule.parse_params(change.params)
            except ValidationError as e:
                for error in e.errors():
                    yield self.param_problem(where, error, rule)
                continue
            output = self.outputs.get(change.score)
            if output is not None:
                try:
                    messages = list(rule.check(change, params, output))
                except Exception as e:
                    messages = [
                        f"rule '{rule.name}' failed while checking it: {type(e).__name__}: {e}"
                    ]
                for message in messages:
                    yield self.problem(where, message)

    def check_norms(self) -> Iterator[Problem]:
        targets = {*self.instrument.item_map, *(s.id for s in self.instrument.scores)}
        for number, norm in enumerate(self.instrument.norms, 1):
            if self.intact(norm, "target") and not (
                norm.target in targets or self.known(norm.target, "items", "scores")
            ):
                yield self.problem(
                    f"norm #{number}", self.unknown("item or score", norm.target, targets)
                )

    def param_problem(self, where: str, error: dict, rule: Rule) -> Problem:
        loc = " › ".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            name, inside = str(error["loc"][-1]), error["loc"][:-1]
            known = _parameters(rule.Params, inside)
            message = self.unknown("parameter", name, known or [])
            if known is not None:
                owner = f"'{inside[-1]}'" if inside else f"rule '{rule.name}'"
                message += f" ({owner} takes {', '.join(known) or 'no parameters'})"
        elif error["type"] == "missing":
            message = "is required but missing"
        else:
            message = error["msg"][0].lower() + error["msg"][1:]
            if not isinstance(error.get("input"), (dict, list)):
                message += f" (found {error.get('input')!r})"
        return self.problem(f"{where} › params › {loc}" if loc else f"{where} › params", message)

    def unknown_rule(self, name: str, kind: type) -> str:
        names = sorted(n for n, r in self.rules.items() if isinstance(r, kind))
        noun = "scoring rule" if kind is ScoringRule else "change rule"
        return self.unknown(noun, name, names)

    @staticmethod
    def unknown(noun: str, name: str, known) -> str:
        hint = difflib.get_close_matches(name, list(known), n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return f"unknown {noun} '{name}'{suggestion}"


def _parameters(model: type[BaseModel], loc: tuple) -> Optional[list[str]]:
    """The parameter names of ``model``, or of the nested model at ``loc`` inside it (None when
    ``loc`` does not lead to one, such as an item of a list)."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        options = (field.annotation, *typing.get_args(field.annotation))
        nested = [t for t in options if isinstance(t, type) and issubclass(t, BaseModel)]
        if not nested:
            return None
        model = nested[0]
    return list(model.model_fields)


def _plain(node: object) -> object:
    """A definition's models as the tables and lists a TOML file holds."""
    if isinstance(node, BaseModel):  # its fields only, not what it caches (item_map)
        node = {
            name: value for name, value in vars(node).items() if name in type(node).model_fields
        }
    if isinstance(node, dict):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_plain(value) for value in node]
    return node


def _texts(node: object, loc: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """Every string in a definition's data, with where it is; a table's keys (scale names,
    languages, parameter names) count as text at the place they name."""
    if isinstance(node, str):
        yield loc, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield (*loc, key), key
            yield from _texts(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, (*loc, index))


def _never_holds(condition: conditions.Condition, instrument: Instrument) -> bool:
    """True when no combination of answers (blank included) to the items a condition tests
    makes it hold. Only decided for conditions on choice and yes/no items with few
    combinations; anything else is assumed satisfiable."""
    refs = list(dict.fromkeys(t.ref for t in conditions.tests(condition)))
    domains = []
    for ref in refs:
        item = instrument.item_map.get(ref)
        if item is None or item.type not in ("choice", "yes_no"):
            return False
        domains.append([None, *(value for value, _ in instrument.choices(item))])
    if math.prod(len(d) for d in domains) > 100_000:
        return False
    return not any(
        condition.evaluate(dict(zip(refs, values))) for values in itertools.product(*domains)
    )


def _codes(choices) -> str:
    return ", ".join(f"{value} = {label}" for value, label in choices)
