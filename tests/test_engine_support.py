"""Shared by the engine tests (no tests here): an instrument that uses every standard rule, and
strategies for messy datasets (missing answers, labels in any case, invalid cells, several
administrations per respondent, follow-ups answered when not asked)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hypothesis import strategies as st

# Every standard rule, reverse keying, prorating with and without rounding, a follow-up inside
# sums and counts, a follow-up of a follow-up, number, multiple-choice and text items, flags on
# items, follow-ups and scores (one a risk), and a Jacobson-Truax change with a computed cut-off.
ENGINE_TEST = """
id = "engine-test"
version = "1.0.0"
title = "Engine test instrument"
citation = "nefkit tests"
licence = "MIT"
source = "nefkit tests"

[scales.agree]
choices = [
  { value = 1, label = "Disagree" },
  { value = 2, label = "Neutral" },
  { value = 3, label = "Agree" },
  { value = 4, label = "Strongly agree" },
]

[scales.supports]
choices = [
  { value = 1, label = "Family" },
  { value = 2, label = "Friends" },
  { value = 3, label = "Faith" },
]

[[items]]
id = "a1"
text = "One"
scale = "agree"

[[items]]
id = "a2"
text = "Two"
scale = "agree"

[[items]]
id = "a3"
text = "Three"
scale = "agree"

[[items]]
id = "a4"
text = "Four"
scale = "agree"

[[items]]
id = "a5"
text = "Five"
scale = "agree"

[[items]]
id = "a6"
text = "Six (reversed)"
scale = "agree"

[[items]]
id = "gate"
text = "Did it happen?"
type = "yes_no"

[[items]]
id = "gate_how"
text = "How much?"
scale = "agree"
when = "gate == 1"

[[items]]
id = "gate_why"
text = "Why so much?"
scale = "agree"
when = "gate_how >= 3"

[[items]]
id = "hours"
text = "Hours"
type = "number"
min = 0
max = 24
integer = false
optional = true

[[items]]
id = "sup"
text = "Supports"
type = "multiple"
scale = "supports"
optional = true

[[items]]
id = "sup_more"
text = "Which faith?"
type = "text"
when = "sup has 3"
optional = true

[[items]]
id = "comment"
text = "Anything else?"
type = "text"
optional = true

[[scores]]
id = "total"
label = "Total"
rule = "prorated_sum"
items = ["a1", "a2", "a3", "a4", "a5", "a6"]
params = { max_missing = 2, reverse = { items = ["a6"], low = 1, high = 4 } }

[[scores]]
id = "total_r"
label = "Total, rounded"
rule = "prorated_sum"
items = ["a1", "a2", "a3", "a4", "a5", "a6"]
params = { max_missing = 1, round = true }

[[scores]]
id = "avg"
label = "Mean"
rule = "prorated_mean"
items = ["a1", "a2", "a3", "a4"]
params = { max_missing = 1 }

[[scores]]
id = "avg_r"
label = "Mean, rounded"
rule = "prorated_mean"
items = ["a1", "a2", "a3", "a4"]
params = { max_missing = 2, round = true }

[[scores]]
id = "plain_mean"
label = "Plain mean"
rule = "mean"
items = ["a1", "a2", "gate_how"]

[[scores]]
id = "gate_sum"
label = "Sum with a follow-up"
rule = "sum"
items = ["a1", "gate_how"]

[[scores]]
id = "gate_chain"
label = "Sum of the follow-ups, prorated"
rule = "prorated_sum"
items = ["gate_how", "gate_why"]
params = { max_missing = 1 }

[[scores]]
id = "hours_sum"
label = "Hours"
rule = "sum"
items = ["hours"]

[[scores]]
id = "agreed"
label = "Agreements"
rule = "count"
items = ["a1", "a2", "a3", "a4", "a5", "a6", "gate_how"]
params = { values = [3, 4] }

[[scores]]
id = "band"
label = "Band"
rule = "bands"
[scores.params]
score = "total"
bands = [
  { min = 6, max = 12, label = "Low" },
  { min = 12, max = 18, label = "-Mid" },
  { min = 18, max = 24, label = "High" },
]

[[scores]]
id = "case"
label = "Case"
rule = "threshold"
params = { score = "avg", at_least = 2.5 }

[[flags]]
id = "high"
label = "High total"
when = "total >= 18"

[[flags]]
id = "support"
label = "Friends or a comment"
when = "sup has 2 or answered(comment)"

[[flags]]
id = "gate_blank"
label = "Gate without how"
when = "gate == 1 and not answered(gate_how)"

[[flags]]
id = "gate_sum_high"
label = "High sum with a follow-up"
when = "gate_sum >= 6"

[[flags]]
id = "deep"
label = "Strong agreement in the follow-ups"
when = "gate_why == 4 or not gate_how < 4"
level = "risk"

[[flags]]
id = "is_case"
label = "A case"
when = "case == 1"

[[changes]]
id = "total_change"
label = "Reliable change"
score = "total"
rule = "reliable_change"
[changes.params]
better = "lower"
reliability = 0.8
sd = 4.0
cutoff_type = "c"
clinical_mean = 15.0
clinical_sd = 4.0
functional_mean = 9.0
functional_sd = 3.0
"""


def write_instrument(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "engine-test.toml"
    path.write_text(ENGINE_TEST, encoding="utf-8")
    return path


def _case(text: str):
    return st.sampled_from([text, text.lower(), text.upper(), f"  {text}  ", text.title()])


def choice_cell(codes: dict[int, str], invalid=("7", "x", "1.5", "", " ")):
    """A cell for a choice item: a code (also as 2.0 or +2), a label in any case, a blank, or
    something that is not an answer."""
    code = st.sampled_from(sorted(codes))
    options = [
        code.map(str),
        code.map(str),
        code.map(lambda c: f"{c}.0"),
        code.map(lambda c: f" {c} "),
        st.sampled_from(sorted(codes.values())).flatmap(_case),
    ]
    if invalid:
        options += [st.just(""), st.sampled_from(list(invalid))]
    return st.one_of(*options)


def dataset(items: dict[str, st.SearchStrategy], max_rows: int = 12):
    """Rows of (respondent_id, session, administered_at, site, cells by item id)."""
    meta = st.tuples(
        st.sampled_from(["r1", "r2", "r3", " r4 ", "r5", ""]),
        st.one_of(st.integers(1, 4).map(str), st.just(""), st.sampled_from(["x", "2.0", "-1"])),
        st.one_of(
            st.sampled_from(["2026-01-05", "2026-02-05", "2026-03-05", "2026-03-05T10:30"]),
            st.just(""),
            st.just("05/01/2026"),
        ),
        st.sampled_from(["", "clinic A", "=HYPERLINK()", "-2", "Ångström"]),
    )
    row = st.tuples(meta, st.fixed_dictionaries(items))
    return st.lists(row, min_size=1, max_size=max_rows)


def write_csv(path: Path, item_ids: list[str], rows) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", "administered_at", "site", *item_ids])
        for (rid, session, when, site), cells in rows:
            writer.writerow([rid, session, when, site, *(cells[i] for i in item_ids)])
    return path


def _native(cell: str):
    """The cell as a JSON exporter might give it: numbers as numbers, blanks as null."""
    text = cell.strip()
    if text == "":
        return None if cell == "" else cell
    try:
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    except ValueError:
        return cell


def write_jsonl(path: Path, item_ids: list[str], rows, native: bool) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for (rid, session, when, site), cells in rows:
            record = {
                "respondent_id": rid,
                "session": session,
                "administered_at": when,
                "site": site,
            }
            record |= {i: (_native(cells[i]) if native else cells[i]) for i in item_ids}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))
