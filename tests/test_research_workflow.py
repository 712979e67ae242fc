"""The README's research walkthrough, step by step, on real files:
new → edit → validate → template → fill → score → analyze → codebook."""

from __future__ import annotations

import csv
import random

from openpyxl import load_workbook

import nefkit


def test_from_idea_to_codebook(nefkit_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert nefkit_cli("new", "calm-3").exit_code == 0
    definition = tmp_path / "calm-3.toml"
    # Edit: a researcher rewords an item and bumps the version.
    text = definition.read_text().replace("I felt calm.", "I felt calm and settled.")
    definition.write_text(text.replace('version = "0.1.0"', 'version = "0.2.0"'))
    validated = nefkit_cli("validate", "--check-examples", definition)
    assert validated.exit_code == 0 and "2 examples agree" in validated.output
    mine = ["--instruments", tmp_path]
    assert nefkit_cli("template", "calm-3", "-o", "entry.xlsx", *mine).exit_code == 0

    # Fill the template as a research assistant would, with labels from the drop-downs.
    workbook = load_workbook("entry.xlsx")
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    labels = ["Not at all", "Sometimes", "Often", "Always"]
    generator = random.Random(7)
    for n in range(1, 41):
        row = dict.fromkeys(header)
        row.update(respondent_id=f"P{n:02d}", session=1)
        level = generator.randrange(4)
        for item in ("calm", "hopeful"):
            row[item] = labels[min(3, max(0, level + generator.choice([-1, 0, 0, 1])))]
        row["tense"] = labels[3 - min(3, max(0, level + generator.choice([-1, 0, 1])))]
        row["worse"] = "No"
        sheet.append([row[column] for column in header])
    workbook.save("filled.xlsx")

    scored = nefkit_cli("score", "calm-3", "filled.xlsx", "-o", "scores.csv", *mine)
    assert scored.exit_code == 0, scored.output
    with open("scores.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and all(r["row_status"] == "scored" for r in rows)

    for output in ("analysis.xlsx", "analysis.html"):
        analysed = nefkit_cli("analyze", "calm-3", "filled.xlsx", "-o", output, *mine)
        assert analysed.exit_code == 0, analysed.output
    results = nefkit.score("calm-3", tmp_path / "filled.xlsx", nefkit.get_registry([tmp_path]))
    from nefkit.research.analysis import analyze

    analysis = analyze(results)
    total = next(s for s in analysis.scores if s.score_id == "total")
    assert total.reliability is not None and total.reliability.alpha is not None
    page = (tmp_path / "analysis.html").read_text()
    assert f"{total.reliability.alpha:.2f}" in page

    assert nefkit_cli("codebook", "calm-3", "-o", "codebook.html", *mine).exit_code == 0
    codebook = (tmp_path / "codebook.html").read_text()
    assert "I felt calm and settled." in codebook and "0.2.0" in codebook
