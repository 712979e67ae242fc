"""Paper forms, follow-up, alerts, reports and the database, through the command line."""

from __future__ import annotations

import csv
import json

import pytest

from nefkit.clinic.sqlite import open_store

PHQ = [f"phq9_{i}" for i in range(1, 10)]


@pytest.fixture
def cli(clinic_db, nefkit_cli, monkeypatch):
    monkeypatch.setenv("NEFKIT_USER", "dr-test")
    return nefkit_cli


def phq(*answers):
    return [f"{item}={a}" for item, a in zip(PHQ, answers, strict=True)]


def test_record_a_paper_form_and_follow_the_client(cli, tmp_path):
    result = cli(
        "record",
        "phq-9",
        "--client",
        "C1",
        "--session",
        "1",
        "--date",
        "2026-10-01",
        *phq(2, 2, 2, 2, 2, 1, 1, 0, 0),
    )
    assert result.exit_code == 0, result.output
    assert "PHQ-9 total: 12" in result.output and "No alerts." in result.output
    result = cli("record", "phq-9", "--client", "C1", *phq(3, 3, 3, 3, 2, 2, 1, 1, 1))
    assert result.exit_code == 0, result.output
    assert "client C1, session 2" in result.output
    assert "DETERIORATION" in result.output and "12 to 19" in result.output
    assert "RISK: Thoughts of being better off dead" in result.output
    history = cli("history", "--client", "C1")
    assert "Client ids are pseudonyms" in history.output
    assert (
        "Since the previous administration (session 1, 2026-10-01): 12 to 19, reliably deteriorated"
        in history.output
    )
    alerts = cli("alerts")
    assert alerts.output.count("C1 phq-9") == 2
    clients = cli("clients", "--json")
    [row] = json.loads(clients.output)
    assert (row["client"], row["administrations"], row["open_alerts"]) == ("C1", 2, 2)


def test_a_form_with_problems_is_not_stored(cli, tmp_path):
    result = cli("record", "phq-9", "--client", "C1", "phq9_1=7", "phq9_99=1", "phq9_10=1", "oops")
    assert result.exit_code == 1
    for expected in (
        "'oops' is not ITEM=VALUE",
        "phq9_1 (value '7'): not an answer to phq9_1",
        "phq9_99: phq-9 has no such question",
    ):
        assert expected in result.output
    assert "forms with problems were not stored" in result.output
    # Items 1-9 blank or unreadable: whether item 10 applied is unknown, so answering it is
    # no problem; items 1-9 all 0: it was not asked.
    assert "phq9_10" not in result.output
    zeros = [f"phq9_{k}=0" for k in range(1, 10)]
    result = cli("record", "phq-9", "--client", "C1", *zeros, "phq9_10=1")
    assert result.exit_code == 1
    assert "phq9_10: answered, but this question is asked only when" in result.output
    store = open_store(tmp_path / "clinic.db")
    assert list(store.administrations()) == []
    store.close()


def test_record_a_filled_file(cli, tmp_path):
    data = tmp_path / "forms.csv"
    rows = [
        ["respondent_id", "session", "administered_at", "site", *PHQ],
        ["C7", "1", "2026-10-02", "north", *["1"] * 9],
        ["C8", "1", "2026-10-02", "south", "4", *["1"] * 8],
    ]
    with open(data, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = cli("record", "phq-9", "--file", data)
    assert result.exit_code == 1
    assert "client C7, session 1" in result.output
    assert "row 3, column phq9_1 (value '4'): not an answer" in result.output
    store = open_store(tmp_path / "clinic.db")
    [stored] = store.administrations()
    assert (stored.client, stored.context, str(stored.administered_at)) == (
        "C7",
        {"site": "north"},
        "2026-10-02",
    )
    assert stored.mode == "recorded"
    store.close()


def test_a_filled_template_with_a_formula_without_a_saved_value(cli, tmp_path):
    from openpyxl import load_workbook

    template = tmp_path / "phq-9.xlsx"
    assert cli("template", "phq-9", "-o", template).exit_code == 0
    book = load_workbook(template)
    book["Entry"].append(["C7", None, 1, *[1] * 9])
    book["Entry"].append(["C8", None, 1, 1, "=1+1", *[1] * 7])  # openpyxl saves no value
    book.save(tmp_path / "filled.xlsx")
    result = cli("record", "phq-9", "--file", tmp_path / "filled.xlsx")
    assert result.exit_code == 1
    assert "client C7, session 1" in result.output
    assert (
        "row 3, column phq9_2 (value '=1+1'): sheet \"Entry\", cell E3 holds a formula without a"
        " saved value: open and save the file in a spreadsheet program, or type the value"
        in result.output
    )
    store = open_store(tmp_path / "clinic.db")
    assert [a.client for a in store.administrations()] == ["C7"]
    store.close()


def test_corrections_and_voids_are_kept_in_the_history(cli, tmp_path):
    cli("record", "phq-9", "--client", "C1", *phq(0, 0, 0, 0, 0, 0, 0, 0, 0))
    result = cli("correct", "1", "phq9_3=2", "--reason", "misread the paper form")
    assert result.exit_code == 0, result.output
    assert "PHQ-9 total: 2" in cli("history", "--client", "C1").output
    bad = cli("correct", "1", "phq9_3=9", "--reason", "x")
    assert bad.exit_code == 1 and "nothing was changed" in bad.output
    assert cli("void", "1", "--reason", "entered for the wrong client").exit_code == 0
    assert "voided (entered for the wrong client)" in cli("history", "--client", "C1").output
    store = open_store(tmp_path / "clinic.db")
    history = store.answer_history(1)
    assert [(h.item, h.value, h.reason) for h in history if h.item == "phq9_3"] == [
        ("phq9_3", 0, None),
        ("phq9_3", 2, "misread the paper form"),
    ]
    actions = [e["action"] for e in store.audit_log()]
    assert actions[-4:] == ["correct", "history", "void", "history"]  # reads are audited too
    store.close()


def test_acknowledging_an_alert(cli):
    cli("record", "phq-9", "--client", "C1", *phq(0, 0, 0, 0, 0, 0, 0, 0, 2))
    assert cli("alerts", "--ack", "1").exit_code == 2  # a note is required
    assert cli("alerts", "--ack", "1", "--note", "Risk assessed; safety plan").exit_code == 0
    assert cli("alerts").output.strip() == "No open alerts."
    assert "acknowledged by dr-test on " in cli("alerts", "--all").output
    assert ": Risk assessed; safety plan)" in cli("alerts", "--all").output


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_csv_report_on_several_instruments_writes_a_file_for_each(cli, tmp_path):
    gad = [f"gad7_{i}=1" for i in range(1, 8)]
    cli("record", "phq-9", "--client", "C1", "--session", "1", *phq(2, 2, 2, 2, 2, 1, 1, 0, 0))
    cli("record", "phq-9", "--client", "C1", "--session", "2", *phq(1, 1, 1, 1, 0, 0, 0, 0, 0))
    cli("record", "gad-7", "--client", "C1", "--session", "1", *gad)
    cli("record", "phq-9", "--client", "C2", "--session", "1", *phq(0, 0, 0, 0, 0, 0, 0, 0, 0))
    cli("record", "gad-7", "--client", "C3", "--session", "1", *gad)
    result = cli("report", "--cohort", "--min-cell", "2", "-o", tmp_path / "cohort.csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"Wrote {tmp_path / 'cohort-gad-7.csv'}",
        f"Wrote {tmp_path / 'cohort-phq-9.csv'}",
    ]
    phq9 = read_csv(tmp_path / "cohort-phq-9.csv")
    assert [(r["respondent_id"], r["total"]) for r in phq9] == [
        ("C1", "12"),
        ("C1", "4"),
        ("C2", "0"),
    ]
    gad7 = read_csv(tmp_path / "cohort-gad-7.csv")
    assert [(r["respondent_id"], r["total"]) for r in gad7] == [("C1", "7"), ("C3", "7")]
    changes = read_csv(tmp_path / "cohort-phq-9-changes.csv")
    assert {(c["respondent_id"], c["before"], c["after"]) for c in changes} == {("C1", "12", "4")}
    assert not (tmp_path / "cohort-gad-7-changes.csv").exists()  # one administration: no change
    for instrument in ("phq-9", "gad-7"):
        provenance = json.loads((tmp_path / f"cohort-{instrument}-provenance.json").read_text())
        assert provenance["instrument_id"] == instrument
    assert not (tmp_path / "cohort.csv").exists()

    # A client with one instrument: still named after it.
    result = cli("report", "--client", "C2", "-o", tmp_path / "c2.csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"Wrote {tmp_path / 'c2-phq-9.csv'}"]
    assert [r["respondent_id"] for r in read_csv(tmp_path / "c2-phq-9.csv")] == ["C2"]
    result = cli("report", "--client", "C1", "-o", tmp_path / "c1.csv")
    assert result.exit_code == 0, result.output
    assert [r["total"] for r in read_csv(tmp_path / "c1-phq-9.csv")] == ["12", "4"]
    assert [r["total"] for r in read_csv(tmp_path / "c1-gad-7.csv")] == ["7"]
    # One instrument asked for: the file named.
    result = cli(
        "report", "--cohort", "--min-cell", "2", "--instrument", "gad-7", "-o", tmp_path / "gad.csv"
    )
    assert result.exit_code == 0, result.output
    assert [r["respondent_id"] for r in read_csv(tmp_path / "gad.csv")] == ["C1", "C3"]


def test_reports_export_backup_and_erasure(cli, tmp_path):
    cli("record", "phq-9", "--client", "C1", "--session", "1", *phq(2, 2, 2, 2, 2, 1, 1, 0, 0))
    cli("record", "phq-9", "--client", "C1", "--session", "2", *phq(1, 1, 1, 1, 0, 0, 0, 0, 0))
    cli("record", "phq-9", "--client", "C2", "--session", "1", *phq(0, 0, 0, 0, 0, 0, 0, 0, 0))
    result = cli("report", "--client", "C1", "-o", tmp_path / "c1.json")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "c1.json").read_text())
    assert [r["scores"]["total"]["value"] for r in document["rows"]] == [12, 4]
    assert {c["respondent_id"] for c in document["changes"]} == {"C1"}
    cohort = cli("report", "--cohort", "--min-cell", "2", "-o", tmp_path / "all.csv")
    assert cohort.exit_code == 0
    with open(tmp_path / "all-phq-9.csv") as handle:
        assert [r["respondent_id"] for r in csv.DictReader(handle)] == ["C1", "C1", "C2"]
    export = cli("db", "export", tmp_path / "export")
    assert export.exit_code == 0
    administrations = [
        json.loads(line) for line in (tmp_path / "export" / "administrations.jsonl").open()
    ]
    assert len(administrations) == 3 and administrations[0]["answers"]["phq9_1"] == 2
    assert (tmp_path / "export" / "phq-9-scores.csv").exists()
    assert cli("db", "backup", tmp_path / "backup.db").exit_code == 0
    erased = cli("db", "erase", "--client", "C1", "--reason", "request of 2026-11-27", "--yes")
    assert erased.output.strip() == (
        f"Erased 2 administrations, 18 answers, 0 alerts; none of it is left in"
        f" {tmp_path / 'clinic.db'}. Backups are not touched."
    )
    assert [c["client"] for c in json.loads(cli("clients", "--json").output)] == ["C2"]
    backup = open_store(tmp_path / "backup.db")
    assert len(list(backup.administrations("C1"))) == 2  # backups are not touched
    backup.close()


def test_alerts_history_and_reports_name_a_flag_by_its_label_not_its_id(cli, tmp_path):
    from helpers import plan

    [risk] = [step.flag for step in plan("phq-9").flags if step.flag.level == "risk"]
    assert risk.label.startswith("Thoughts of being better off dead")
    cli(
        "record", "phq-9", "--client", "C1", "--date", "2026-03-01", *phq(0, 0, 0, 0, 0, 0, 0, 0, 2)
    )
    blank = phq(0, 0, 0, 0, 0, 0, 0, 0, 0)[:-1]  # item 9 blank: the risk could not be checked
    cli("record", "phq-9", "--client", "C1", "--date", "2026-03-08", *blank)
    assert cli("alerts", "--ack", "1", "--note", "Assessed").exit_code == 0
    alerts = cli("alerts", "--all").output
    assert f"RISK: {risk.label} (acknowledged by dr-test" in alerts
    assert f"RISK NOT CHECKED: {risk.label}: could not be checked (no answer to phq9_9)" in alerts
    history = cli("history", "--client", "C1").output
    assert f"Flag raised: RISK: {risk.label}" in history
    assert cli("report", "--client", "C1", "-o", tmp_path / "c1.txt").exit_code == 0
    report = (tmp_path / "c1.txt").read_text(encoding="utf-8")
    assert " ".join(report.split()).count(risk.label) == 2  # raised, then not checked
    for shown in (alerts, history, report):
        assert risk.id not in shown
    assert json.loads(cli("alerts", "--json").output)[0]["key"] == f"unchecked:{risk.id}"


def test_a_flag_on_a_score_that_could_not_be_scored_says_why_in_words(cli):
    neq = [f"neq{i:02d}=0" for i in range(1, 21) if i != 5]  # neq05 blank
    result = cli("record", "neq-20", "--client", "C2", *neq)
    assert result.exit_code == 0, result.output
    assert (
        "Could not check: Negative effects the client attributes to the treatment (Negative"
        " effects attributed to the treatment (number) is not scorable: 1 of 20 answers"
        " missing (neq05)"
    ) in result.output
    assert "effects_treatment" not in result.output


def test_dates_given_without_a_time_are_shown_as_dates(cli, tmp_path):
    """A spreadsheet gives every date as a date-time at midnight; people read the date. A real
    time of day is kept."""
    data = tmp_path / "forms.csv"
    rows = [
        ["respondent_id", "session", "administered_at", *PHQ],
        ["C1", "1", "2026-03-01 00:00:00", *["0"] * 9],
        ["C1", "2", "2026-03-29T14:30:00", *["2"] * 8, "0"],
    ]
    with open(data, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    assert cli("record", "phq-9", "--file", data).exit_code == 0
    alerts = cli("alerts").output
    assert "[1] 2026-03-29 C1 phq-9 session 2 DETERIORATION" in alerts
    assert "since the previous administration (session 1, 2026-03-01): 0 to 16" in alerts
    history = cli("history", "--client", "C1").output
    assert "#1 phq-9 (session 1, 2026-03-01): finished" in history
    assert cli("report", "--client", "C1", "-o", tmp_path / "c1.txt").exit_code == 0
    report = " ".join((tmp_path / "c1.txt").read_text(encoding="utf-8").split())  # unwrapped
    assert "C1, session 1, 2026-03-01 (row 1)" in report
    assert "C1, session 2, 2026-03-29 14:30 (row 2)" in report
    assert "0 (session 1, 2026-03-01) to 16 (session 2, 2026-03-29 14:30)" in report
    for shown in (alerts, history, report):
        assert "00:00" not in shown
