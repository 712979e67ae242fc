"""The clinic's safety net on a real database: alerts follow the record through corrections,
voids and erasure; a risk that could not be checked is said; a form is stored whole or not at
all, even when the process is killed; session numbers stay unique under concurrent writers."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_html import parse

import nefkit
from nefkit.clinic.alerts import Clinic, derive_alerts
from nefkit.clinic.sqlite import KILL_AT_WRITE, open_store

PHQ = [f"phq9_{i}" for i in range(1, 10)]
RISK = "RISK: Thoughts of being better off dead or of self-harm"


def phq(*answers):
    return [f"{item}={a}" for item, a in zip(PHQ, answers, strict=True)]


def current_alerts(store):
    """The alerts whose condition holds, as what a clinician would be told."""
    return sorted(
        (a.administration, a.key, a.kind, a.label, a.action)
        for a in store.alerts(open_only=False)
        if a.closed_at is None
    )


def recomputed(store, registry):
    """The alerts the whole record calls for, derived from scratch."""
    groups = defaultdict(list)
    for administration in store.administrations(include_voided=True):
        groups[administration.client, administration.instrument].append(administration)
    specs = []
    for (_, instrument), administrations in groups.items():
        specs += derive_alerts(nefkit.get_plan(instrument, registry), administrations)
    return sorted((s.administration, s.key, s.kind, s.label, s.action) for s in specs)


def test_a_correction_raises_and_closes_the_risk_alert_and_a_void_closes_it(
    clinic_db, nefkit_cli, monkeypatch
):
    monkeypatch.setenv("NEFKIT_USER", "dr-k")
    assert (
        nefkit_cli("record", "phq-9", "--client", "K1", *phq(1, 1, 1, 1, 1, 1, 1, 1, 0)).exit_code
        == 0
    )
    assert nefkit_cli("alerts").output.strip() == "No open alerts."
    fixed = nefkit_cli("correct", "1", "phq9_9=3", "--reason", "transcription error")
    assert fixed.exit_code == 0, fixed.output
    alerts = nefkit_cli("alerts").output
    assert f"K1 phq-9 session 1 {RISK}" in alerts
    # Back to 0: the alert is closed, with who corrected it and why.
    nefkit_cli("correct", "1", "phq9_9=0", "--reason", "misread: it was 0 after all")
    assert nefkit_cli("alerts").output.strip() == "No open alerts."
    everything = nefkit_cli("alerts", "--all").output
    assert "(closed on " in everything and "by dr-k: misread: it was 0 after all)" in everything
    # Raised again, then voided: closed with the void's reason.
    nefkit_cli("correct", "1", "phq9_9=2", "--reason", "checked the paper form again")
    assert RISK in nefkit_cli("alerts").output
    assert nefkit_cli("void", "1", "--reason", "entered for the wrong client").exit_code == 0
    assert nefkit_cli("alerts").output.strip() == "No open alerts."
    assert "voided on " in nefkit_cli("alerts", "--all").output
    assert nefkit_cli("clients").output.startswith("No clients yet")


def test_an_acknowledgement_stays_while_the_condition_holds(clinic_db, nefkit_cli):
    nefkit_cli("record", "phq-9", "--client", "K2", *phq(1, 1, 1, 1, 1, 1, 1, 1, 2))
    assert nefkit_cli("alerts", "--ack", "1", "--note", "Safety plan agreed").exit_code == 0
    nefkit_cli("correct", "1", "phq9_1=2", "--reason", "typo in item 1")
    assert nefkit_cli("alerts").output.strip() == "No open alerts."
    assert "acknowledged by" in nefkit_cli("alerts", "--all").output


def test_the_client_report_shows_who_acknowledged_an_alert_when_and_their_note(
    clinic_db, nefkit_cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("NEFKIT_USER", "dr-k")
    nefkit_cli(
        "record", "phq-9", "--client", "K2", "--date", "2026-10-01", *phq(1, 1, 1, 1, 1, 1, 1, 1, 2)
    )
    nefkit_cli(
        "record", "phq-9", "--client", "K2", "--date", "2026-10-08", *phq(1, 1, 1, 1, 1, 1, 1, 1, 3)
    )
    nefkit_cli("alerts", "--ack", "1", "--note", "Safety plan agreed <b>")
    nefkit_cli("correct", "1", "phq9_9=0", "--reason", "misread")
    out = tmp_path / "k2.html"
    assert nefkit_cli("report", "--client", "K2", "-o", str(out)).exit_code == 0
    [reviewed] = parse(out).one("div", cls="reviewed").all("li")
    text = reviewed.text()
    assert text.startswith(
        f"Patient Health Questionnaire-9 (PHQ-9) · Session 1 (2026-10-01) {RISK}"
    )
    assert "Acknowledged by dr-k on 2026-" in text and "“Safety plan agreed <b>”" in text
    assert "Since closed: corrected on " in text and "by dr-k: misread" in text
    # The second administration's alert, not acknowledged, is in the red box instead.
    assert (
        "Session 2 (2026-10-08)"
        in parse(out).one("section", id="flags").one("li", cls="flag").text()
    )


def test_a_blank_risk_item_is_a_risk_that_could_not_be_checked(clinic_db, nefkit_cli):
    eight = [f"{item}=1" for item in PHQ[:8]]  # item 9 left blank
    recorded = nefkit_cli("record", "phq-9", "--client", "K3", *eight)
    assert recorded.exit_code == 0, recorded.output
    assert "No alerts." not in recorded.output
    assert "RISK NOT CHECKED: Thoughts of being better off dead" in recorded.output
    assert "could not be checked (no answer to phq9_9)" in recorded.output
    alerts = nefkit_cli("alerts").output
    assert (
        "K3 phq-9 session 1 RISK NOT CHECKED" in alerts
        and "Ask the client about it today" in alerts
    )
    # Once answered, the unchecked alert closes and the answer decides.
    nefkit_cli("correct", "1", "phq9_9=0", "--reason", "asked: not at all")
    assert nefkit_cli("alerts").output.strip() == "No open alerts."


def test_a_form_that_cannot_be_stored_still_says_its_risk(clinic_db, nefkit_cli):
    result = nefkit_cli(
        "record", "phq-9", "--client", "K4", "--date", "01/10/2026", *phq(0, 0, 0, 0, 0, 0, 0, 0, 1)
    )
    assert result.exit_code == 1
    assert "the form for K4 was not stored, but its answers raise RISK:" in result.output
    assert "--date (value '01/10/2026')" in result.output


def test_a_row_of_a_file_that_cannot_be_stored_still_says_its_risk(clinic_db, nefkit_cli, tmp_path):
    data = tmp_path / "forms.csv"
    data.write_text(
        "respondent_id,session,administered_at," + ",".join(PHQ) + "\n"
        "K5,1,2026-10-01,0,0,0,0,0,0,0,0,0\n"
        "K6,1,01/10/2026,0,0,0,0,0,0,0,0,2\n"  # a mistyped date: not stored
    )
    result = nefkit_cli("record", "phq-9", "--file", str(data))
    assert result.exit_code == 1
    risk = result.output.index("row 3 (client K6) was not stored, but its answers raise RISK:")
    assert risk < result.output.index("row 3, column administered_at (value '01/10/2026')")
    assert [a.client for a in open_store(tmp_path / "clinic.db").administrations()] == ["K5"]


def test_alerts_list_risk_first_newest_first_with_when_it_took_place(clinic_db, nefkit_cli):
    record = ["record", "phq-9", "--client"]
    nefkit_cli(*record, "A", "--date", "2026-09-01", *phq(1, 1, 1, 1, 1, 0, 0, 0, 0))
    nefkit_cli(*record, "A", "--date", "2026-09-08", *phq(3, 3, 3, 3, 3, 1, 1, 1, 0))
    nefkit_cli(*record, "B", "--date", "2026-09-02", *phq(0, 0, 0, 0, 0, 0, 0, 0, 1))
    nefkit_cli(*record, "C", "--date", "2026-09-03", *phq(0, 0, 0, 0, 0, 0, 0, 0, 2))
    lines = [line for line in nefkit_cli("alerts").output.splitlines() if line.startswith("[")]
    assert [line.split()[1:3] for line in lines] == [
        ["2026-09-03", "C"],  # risk, newest first
        ["2026-09-02", "B"],
        ["2026-09-08", "A"],  # then deterioration
    ]
    assert "RISK" in lines[0] and "DETERIORATION" in lines[2]
    clients = nefkit_cli("clients").output
    assert "A: 2 administrations, 2026-09-01 to 2026-09-08, 1 open alerts" in clients
    history = nefkit_cli("history", "--client", "C").output
    assert "(session 1, 2026-09-03): finished" in history
    assert f"Flag raised: {RISK}" in history


def _record_forms(db: str, client: str, count: int) -> None:
    from click.testing import CliRunner

    from nefkit.cli import cli

    runner = CliRunner()
    for _ in range(count):
        result = runner.invoke(
            cli, ["record", "phq-9", "--db", db, "--client", client, *phq(*[1] * 9)]
        )
        assert result.exit_code == 0, result.output


def test_session_numbers_stay_unique_under_four_writers(tmp_path):
    db = str(tmp_path / "clinic.db")
    open_store(db, create=True).close()
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_record_forms, args=(db, "K9", 60)) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    store = open_store(db)
    try:
        sessions = [a.session for a in store.administrations("K9")]
    finally:
        store.close()
    assert len(sessions) == 240 and sorted(sessions) == list(range(1, 241))


def _run_killed(args, db, at, **kwargs):
    env = {**os.environ, "NEFKIT_DB": str(db), KILL_AT_WRITE: str(at), "NEFKIT_USER": "dr-f"}
    return subprocess.run(
        [sys.executable, "-m", "nefkit", *args], env=env, capture_output=True, text=True, **kwargs
    )


def _check_whole(db, registry):
    store = open_store(db)
    try:
        assert current_alerts(store) == recomputed(store, registry)
        return list(store.administrations(include_voided=True))
    finally:
        store.close()


def test_a_record_killed_at_every_write_leaves_the_form_whole_or_absent(tmp_path, make_clinic_db):
    registry = nefkit.get_registry()
    base = make_clinic_db(tmp_path / "base.db")
    assert (
        _run_killed(
            ["record", "phq-9", "--client", "F", *phq(0, 0, 1, 0, 1, 0, 0, 0, 0)], base, 0
        ).returncode
        == 0
    )
    args = ["record", "phq-9", "--client", "F", *phq(3, 3, 3, 3, 2, 2, 1, 1, 1)]
    at = 0
    while True:
        at += 1
        db = tmp_path / f"killed-{at}.db"
        shutil.copy(base, db)
        done = _run_killed(args, db, at)
        administrations = _check_whole(db, registry)
        if done.returncode == 0:
            break
        assert done.returncode == -9, done.stderr
        assert len(administrations) == 1, f"killed at write {at}: a half-recorded form"
    assert at > 10  # the form, its nine answers, its finish and its alerts were all reached
    assert [a.status for a in administrations] == ["finished", "finished"]


def test_an_administer_killed_at_every_write_keeps_the_answers_and_the_alerts(
    tmp_path, make_clinic_db
):
    registry = nefkit.get_registry()
    # Item 9 = 2 raises a risk during the form; the review finishes it.
    replies = "\n".join(["1"] * 8 + ["2", "1", ""]) + "\n\n"
    at = 0
    while True:
        at += 1
        db = make_clinic_db(tmp_path / f"killed-{at}.db")
        done = _run_killed(
            ["administer", "phq-9", "--client", "F", "--no-handback"], db, at, input=replies
        )
        administrations = _check_whole(db, registry)
        if done.returncode == 0:
            break
        assert done.returncode == -9, done.stderr
        for administration in administrations:
            given = len(administration.answers)
            assert administration.status == "unfinished" or given == 10
    assert at > 20 and "RISK" in done.stdout


ANSWERS = st.lists(st.sampled_from([0, 1, 2, 3, None]), min_size=9, max_size=9)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.sampled_from(["A", "B"]), ANSWERS),
        st.tuples(
            st.just("correct"),
            st.integers(1, 8),
            st.sampled_from(PHQ),
            st.sampled_from([0, 1, 2, 3, None]),
        ),
        st.tuples(st.just("void"), st.integers(1, 8)),
        st.tuples(st.just("erase"), st.sampled_from(["A", "B"])),
        st.tuples(st.just("ack"), st.integers(1, 12)),
    ),
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_stored_alerts_always_equal_the_alerts_recomputed_from_scratch(tmp_path_factory, steps):
    registry = nefkit.get_registry()
    plan = nefkit.get_plan("phq-9", registry)
    store = open_store(tmp_path_factory.mktemp("property") / "clinic.db", create=True)
    clinic = Clinic(store, registry, "dr-p")
    acknowledged = set()
    try:
        for step in steps:
            try:
                if step[0] == "record":
                    answers = dict(zip(PHQ, step[2]))
                    clinic.record(plan, step[1], None, {}, None, answers)
                elif step[0] == "correct":
                    clinic.correct(store.get(step[1]), {step[2]: step[3]}, "property test")
                elif step[0] == "void":
                    clinic.void(store.get(step[1]), "property test")
                elif step[0] == "erase":
                    store.erase_client(step[1], "property test", "dr-p")
                    acknowledged.clear()  # their ids may be given to new alerts
                else:
                    store.acknowledge(step[1], "seen", "dr-p")
                    acknowledged.add(step[1])
            except nefkit.NefkitError:
                continue  # no such administration or alert, already voided, ...: nothing changes
            assert current_alerts(store) == recomputed(store, registry)
            # An acknowledgement is never lost while its alert's condition holds.
            for alert in store.alerts(open_only=False):
                if alert.id in acknowledged and alert.closed_at is None:
                    assert alert.acknowledged_at is not None
    finally:
        store.close()
