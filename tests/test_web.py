"""nefkit serve, driven through Starlette's test client as a browser drives it: a client's
link, one question a screen, answers saved as they are sent, the clinician's alerts; and the
attacks the issue names (used or expired links, guessed codes, CSRF, XSS, session fixation)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from starlette.testclient import TestClient

import nefkit
from nefkit.clinic import invitations
from nefkit.clinic.alerts import Clinic
from nefkit.clinic.sqlite import open_store
from nefkit.clinic.users import hash_password
from nefkit.web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def clinic_db(tmp_path):
    db = tmp_path / "clinic.db"
    with open_store(db, create=True) as store:
        store.add_user("dr.lee", hash_password(PASSWORD), "admin")
    return db


def invite(db, client="C017", *ids, expires=dt.timedelta(hours=2), lang=None, layout="question"):
    registry = nefkit.get_registry()
    plans = [nefkit.get_plan(i, registry, lang) for i in (ids or ("phq-9",))]
    with open_store(db) as store:
        return invitations.invite(
            Clinic(store, registry, "dr.lee"), client, plans, lang, layout, expires
        )


def browser(db) -> TestClient:
    return TestClient(create_app(db, nefkit.get_registry(), secure=False), follow_redirects=True)


def csrf(page) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text)[1]


def shown(page) -> str:
    """What the page says: the text of its main part, without markup."""
    main = re.search(r"<main[^>]*>(.*)</main>", page.text, re.S)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))


def item_on(page) -> str:
    return re.search(r'name="item" value="([^"]+)"', page.text)[1]


def answer(b, page, value=None, action="answer"):
    data = {"csrf": csrf(page), "item": item_on(page), "action": action}
    if value is not None:
        data["answer"] = value
    return b.post("/form", data=data)


def stored(db, client="C017"):
    with open_store(db) as store:
        return list(store.administrations(client, include_voided=True))


def open_alerts(db):
    with open_store(db) as store:
        return store.alerts()


def test_a_client_answers_a_phq9_and_the_risk_is_alerted_at_once(clinic_db):
    made = invite(clinic_db)
    b = browser(clinic_db)
    page = b.get(f"/f/{made.token}")
    assert page.status_code == 200 and "Question 1 of 10" in page.text
    assert "C017" not in page.text and "C017" not in str(page.url)
    for value in ["1", "2", "0", "1", "0", "1", "0", "0"]:
        page = answer(b, page, value)
    assert item_on(page) == "phq9_9"
    assert open_alerts(clinic_db) == []
    page = answer(b, page, "2")  # thoughts of being better off dead: several days
    [risk] = open_alerts(clinic_db)  # raised by the answer itself, before the form is sent
    assert risk.kind == "risk" and risk.client == "C017"
    assert "risk" not in shown(page).lower() and "alert" not in shown(page).lower()
    # The difficulty question applies (problems were ticked) and may be skipped.
    assert item_on(page) == "phq9_10" and "Skip this question" in page.text
    page = answer(b, page, action="skip")
    assert "Check your answers" in page.text and "skipped" in page.text
    page = b.post("/form/submit", data={"csrf": csrf(page)})
    assert "Thank you" in page.text
    [administration] = stored(clinic_db)
    assert administration.status == "finished"
    assert administration.answers["phq9_9"] == 2 and administration.answers["phq9_10"] is None
    assert administration.context == {"invitation": str(made.id)}
    # Used: the link opens nothing any more, in this browser or another.
    assert b.get(f"/f/{made.token}").status_code == 404
    assert browser(clinic_db).get(f"/f/{made.token}").status_code == 404


def test_back_and_a_closed_tab_lose_nothing(clinic_db):
    made = invite(clinic_db)
    b = browser(clinic_db)
    page = b.get(f"/f/{made.token}")
    page = answer(b, page, "3")
    page = answer(b, page, "2")
    page = answer(b, page, action="back")
    assert item_on(page) == "phq9_2" and 'value="2" checked' in page.text
    page = answer(b, page, "1")  # changed on the way back
    assert item_on(page) == "phq9_3"
    # The tab is closed; the link is opened again on another device and carries on.
    again = browser(clinic_db)
    page = again.get(f"/f/{made.token}")
    assert item_on(page) == "phq9_3"
    [administration] = stored(clinic_db)
    assert administration.answers == {"phq9_1": 3, "phq9_2": 1}
    assert administration.status == "unfinished"


def test_a_required_question_cannot_be_skipped_and_bad_answers_are_refused(clinic_db):
    made = invite(clinic_db)
    b = browser(clinic_db)
    page = b.get(f"/f/{made.token}")
    assert "Skip this question" not in page.text
    refused = answer(b, page, action="skip")
    assert refused.status_code == 400 and "needs an answer" in refused.text
    refused = answer(b, page, "7")  # not one of the answers
    assert refused.status_code == 400 and "choose one of the answers" in refused.text
    assert stored(clinic_db)[0].answers == {}


def test_neq_follow_ups_appear_only_when_they_apply(clinic_db):
    made = invite(clinic_db, "C018", "neq-20")
    b = browser(clinic_db)
    page = b.get(f"/f/{made.token}")
    assert item_on(page) == "neq01"
    page = answer(b, page, "0")  # not experienced: its follow-ups are not asked
    assert item_on(page) == "neq02"
    page = answer(b, page, "1")
    assert item_on(page) == "neq02_impact" and "About:" in page.text
    page = answer(b, page, "3")
    assert item_on(page) == "neq02_cause"
    page = answer(b, page, action="back")
    page = answer(b, page, action="back")
    page = answer(b, page, "0")  # no longer experienced: the impact answer is withdrawn
    assert item_on(page) == "neq03"
    answers = stored(clinic_db, "C018")[0].answers
    assert answers["neq02"] == 0 and answers.get("neq02_impact") is None


def test_a_terminal_and_a_web_administration_share_one_history(clinic_db):
    registry = nefkit.get_registry()
    plan = nefkit.get_plan("phq-9", registry)
    with open_store(clinic_db) as store:
        Clinic(store, registry, "dr.lee").record(
            plan, "C017", None, {}, None, {f"phq9_{i}": 1 for i in range(1, 10)}
        )
    made = invite(clinic_db)
    b = browser(clinic_db)
    b.get(f"/f/{made.token}")
    sessions = [(a.mode, a.session) for a in stored(clinic_db)]
    assert sessions == [("recorded", 1), ("administered", 2)]


def test_a_code_opens_the_same_forms_and_guesses_are_limited(clinic_db):
    made = invite(clinic_db)
    b = browser(clinic_db)
    page = b.post("/code", data={"code": invitations.show_code(made.code).lower()})
    assert "Question 1 of 10" in page.text
    other = browser(clinic_db)
    for _ in range(10):
        assert other.post("/code", data={"code": "AAAA-AAAA"}).status_code == 400
    # The eleventh guess from the same address is not even looked at, a right one included.
    assert other.post("/code", data={"code": made.code}).status_code == 429


def test_an_expired_or_revoked_link_opens_nothing(clinic_db, monkeypatch):
    made = invite(clinic_db)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3)
    monkeypatch.setattr(invitations, "now", lambda: later)
    assert browser(clinic_db).get(f"/f/{made.token}").status_code == 404
    monkeypatch.undo()
    other = invite(clinic_db, "C020")
    with open_store(clinic_db) as store:
        store.end_invitation(other.id, "revoked", "dr.lee")
    assert browser(clinic_db).get(f"/f/{other.token}").status_code == 404
    assert browser(clinic_db).get("/f/not-a-token").status_code == 404


def test_a_form_post_without_its_csrf_token_is_refused(clinic_db):
    made = invite(clinic_db)
    b = browser(clinic_db)
    page = b.get(f"/f/{made.token}")
    refused = b.post("/form", data={"item": item_on(page), "action": "answer", "answer": "3"})
    assert refused.status_code == 403
    assert stored(clinic_db)[0].answers == {}


def test_free_text_stays_text(clinic_db):
    """The therapy reflection's free-text answers come back on the review page as text."""
    made = invite(clinic_db, "C021", "therapy-reflection")
    b = browser(clinic_db)
    page = b.get(f"/f/{made.token}")
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    typed = 0
    for _ in range(200):
        if "Check your answers" in page.text:
            break
        if "<textarea" in page.text:
            page, typed = answer(b, page, hostile), typed + 1
        elif 'inputmode="decimal"' in page.text:
            page = answer(b, page, "1")
        else:
            page = answer(b, page, re.search(r'name="answer" value="([^"]+)"', page.text)[1])
        assert page.status_code == 200, shown(page)
    assert typed and "Check your answers" in page.text
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert shown(page).count("&lt;script&gt;alert(1)&lt;/script&gt;") == typed
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'nonce-" in policy


def test_the_clinician_signs_in_and_acknowledges_the_risk(clinic_db):
    made = invite(clinic_db)
    client = browser(clinic_db)
    page = client.get(f"/f/{made.token}")
    for value in ["0"] * 8 + ["3"]:
        page = answer(client, page, value)
    clinician = browser(clinic_db)
    assert "Sign in" in clinician.get("/alerts").text  # not signed in: the sign-in page
    before = clinician.cookies.get("nefkit_session")
    page = clinician.post("/login", data={"name": "dr.lee", "password": PASSWORD})
    assert "Open alerts" in page.text and "RISK" in page.text and "C017" in page.text
    assert clinician.cookies.get("nefkit_session") not in (None, before)
    assert clinician.get("/alerts/count").json() == {"open": 1, "risk": 1}
    [alert] = open_alerts(clinic_db)
    refused = clinician.post(f"/alerts/{alert.id}/acknowledge", data={"note": "called"})
    assert "Sign in" in refused.text and open_alerts(clinic_db)  # no CSRF token: nothing done
    page = clinician.post(
        f"/alerts/{alert.id}/acknowledge",
        data={"note": "Called the client; safe.", "csrf": csrf(page)},
    )
    assert "No open alerts" in page.text and open_alerts(clinic_db) == []
    with open_store(clinic_db) as store:
        actions = [entry["action"] for entry in store.audit_log()]
    assert "sign-in" in actions and "web alerts" in actions and "acknowledge" in actions


def test_wrong_passwords_lock_the_name_and_do_not_say_which_was_wrong(clinic_db):
    b = browser(clinic_db)
    unknown = b.post("/login", data={"name": "nobody", "password": "x" * 12})
    wrong = b.post("/login", data={"name": "dr.lee", "password": "x" * 12})
    assert unknown.status_code == wrong.status_code == 401
    assert shown(unknown) == shown(wrong)
    for _ in range(4):
        b.post("/login", data={"name": "dr.lee", "password": "y" * 12})
    locked = b.post("/login", data={"name": "dr.lee", "password": PASSWORD})
    assert locked.status_code == 401  # locked now, even with the right password
    with open_store(clinic_db) as store:
        assert store.user("dr.lee").locked_until is not None


def test_the_client_cookie_opens_no_clinician_page(clinic_db):
    made = invite(clinic_db)
    b = browser(clinic_db)
    b.get(f"/f/{made.token}")
    assert "Sign in" in b.get("/alerts").text
    assert b.get("/alerts/count").status_code == 401


def signed_in(db) -> tuple[TestClient, str]:
    b = browser(db)
    page = b.post("/login", data={"name": "dr.lee", "password": PASSWORD})
    return b, csrf(page)


def test_the_clinician_invites_follows_and_reports(clinic_db):
    clinician, token = signed_in(clinic_db)
    page = clinician.post(
        "/invitations",
        data={"csrf": token, "client": "C030", "instrument": ["gad-7"], "expires": "1h"},
    )
    assert page.status_code == 200 and "Link for C030" in page.text
    link = re.search(r'<a href="(http://testserver/f/[^"]+)"', page.text)[1]
    assert "C030" not in link
    assert "<svg" in page.text and re.search(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}\b", page.text)
    # The client opens it and answers everything.
    client = browser(clinic_db)
    form = client.get(link.removeprefix("http://testserver"))
    while "Check your answers" not in form.text:
        form = answer(client, form, "1")
    client.post("/form/submit", data={"csrf": csrf(form)})
    page = clinician.get("/clients")
    assert "C030" in shown(page)
    page = clinician.get("/clients/C030")
    assert "GAD-7" in shown(page) or "gad-7" in shown(page).lower()
    assert "finished" in shown(page)
    report = clinician.get("/clients/C030/report")
    assert report.status_code == 200 and "C030" in report.text
    assert "script-src" not in report.headers["Content-Security-Policy"]  # runs nothing
    with open_store(clinic_db) as store:
        reads = [(e["action"], e["client"]) for e in store.audit_log()]
    assert ("web history", "C030") in reads and ("report", "C030") in reads


def test_a_revoked_invitation_stops_working_at_once(clinic_db):
    made = invite(clinic_db, "C031")
    client = browser(clinic_db)
    page = client.get(f"/f/{made.token}")
    page = answer(client, page, "1")
    clinician, token = signed_in(clinic_db)
    refused = clinician.post(f"/invitations/{made.id}/revoke")  # no CSRF token
    assert "Sign in" in refused.text
    clinician.post(f"/invitations/{made.id}/revoke", data={"csrf": token})
    assert answer(client, page, "1").status_code == 404  # the open tab can no longer save
    assert stored(clinic_db, "C031")[0].answers == {"phq9_1": 1}


def test_erasing_a_client_removes_their_invitations_and_links(clinic_db):
    made = invite(clinic_db, "C040")
    b = browser(clinic_db)
    page = b.get(f"/f/{made.token}")
    answer(b, page, "1")
    with open_store(clinic_db) as store:
        counts = store.erase_client("C040", "the client asked", "dr.lee")
        assert counts["invitations"] == 1 and store.invitations("C040") == []
    assert b.get("/form").status_code == 404 and b.get(f"/f/{made.token}").status_code == 404
    assert b"C040" not in clinic_db.read_bytes()


def page_fields(page) -> dict:
    """What a browser sends with a page of questions before any answer: its hidden fields."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]+)"', page.text))
    return fields | {"action": "page"}


def test_one_questionnaire_a_page(clinic_db):
    """--layout page: the GAD-7 and an NEQ-20 each on one page; follow-ups join the page when
    an answer brings them in; a missing answer is said, the others are kept."""
    made = invite(clinic_db, "C050", "gad-7", "neq-20", layout="page")
    b = browser(clinic_db)
    page = b.get(f"/f/{made.token}")
    assert shown(page).count("Not at all") == 7  # every GAD-7 question on the page
    data = page_fields(page) | {
        f"answer-gad7_{i}": "1" for i in range(1, 7)
    }  # the seventh left out
    page = b.post("/form", data=data)
    assert page.status_code == 400 and "1 answer needs your attention" in shown(page)
    assert len(stored(clinic_db, "C050")[0].answers) == 6  # the six given are saved
    page = b.post("/form", data=page_fields(page) | {"answer-gad7_7": "2"})
    assert "Check your answers" in page.text
    page = b.post("/form/submit", data={"csrf": csrf(page)})
    assert "NEQ" in shown(page) and "Questionnaire 2 of 2" in shown(page)
    assert "neq01_impact" not in page.text  # not asked until neq01 is answered yes
    data = page_fields(page) | {f"answer-neq{k:02d}": "0" for k in range(1, 21)}
    data["answer-neq01"] = "1"
    page = b.post("/form", data=data)
    assert page.status_code == 200 and 'name="answer-neq01_impact"' in page.text
    data = {
        "csrf": csrf(page),
        "action": "page",
        "answer-neq01_impact": "3",
        "answer-neq01_cause": "1",
    }
    page = b.post("/form", data=data)
    assert "Check your answers" in page.text, shown(page)
    answers = stored(clinic_db, "C050")[1].answers
    assert answers["neq01"] == 1 and answers["neq01_impact"] == 3 and answers["neq02"] == 0


def test_instrument_text_stays_text(clinic_db, tmp_path):
    """A definition from outside (nefkit serve --instruments) with markup in its title,
    instructions, a question and an answer label: shown as text on the client's pages."""
    from pathlib import Path

    from nefkit.registry import build_registry

    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    text = (Path(__file__).parents[1] / "instruments" / "gad-7.toml").read_text()
    text = text.replace('id = "gad-7"', 'id = "evil-7"', 1)
    text = text.replace("Generalized Anxiety Disorder 7-item scale (GAD-7)", hostile)
    text = text.replace("Feeling nervous, anxious or on edge", f"Nervous {hostile}")
    text = text.replace('label = "Several days"', f'label = "Several {hostile}"')
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "evil-7.toml").write_text(text)
    registry = build_registry([folder])
    plan = nefkit.get_plan("evil-7", registry)
    with open_store(clinic_db) as store:
        made = invitations.invite(
            Clinic(store, registry, "dr.lee"),
            "C060",
            [plan],
            None,
            "question",
            dt.timedelta(hours=1),
        )
    b = TestClient(create_app(clinic_db, registry, secure=False), follow_redirects=True)
    page = b.get(f"/f/{made.token}")
    assert page.status_code == 200 and "Nervous" in page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert page.text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # title, question, label


def test_one_clients_link_reaches_no_other_clients_record(clinic_db):
    a, b = invite(clinic_db, "C070"), invite(clinic_db, "C071")
    first, second = browser(clinic_db), browser(clinic_db)
    page_a = first.get(f"/f/{a.token}")
    page_b = second.get(f"/f/{b.token}")
    answer(first, page_a, "3")
    # B's browser sends an answer built from A's page (A's item, A's CSRF token): refused,
    # and with its own token it lands in B's record only.
    forged = second.post(
        "/form", data={"csrf": csrf(page_a), "item": "phq9_1", "action": "answer", "answer": "0"}
    )
    assert forged.status_code == 403
    answer(second, page_b, "1")
    assert stored(clinic_db, "C070")[0].answers == {"phq9_1": 3}
    assert stored(clinic_db, "C071")[0].answers == {"phq9_1": 1}
    review = second.get("/form?review=1")
    assert "3 Nearly every day" not in shown(review) and "1 Several days" in shown(review)
