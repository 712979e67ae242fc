"""``nefkit administer`` driven in a real pseudo-terminal, as a client would use it."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import sys

import pexpect
import pytest

from nefkit.clinic.sqlite import open_store

ANSWER = "Your answer: "


@pytest.fixture
def db(tmp_path, make_clinic_db):
    return make_clinic_db(tmp_path / "clinic.db")


def spawn(db, *args):
    env = {**os.environ, "NEFKIT_DB": str(db), "NEFKIT_LOAD_PLUGINS": "", "NEFKIT_USER": "dr-test"}
    return pexpect.spawn(
        sys.executable, ["-m", "nefkit", "administer", *args], env=env, encoding="utf-8", timeout=30
    )


def answer(child, *replies):
    for reply in replies:
        child.expect_exact(ANSWER)
        child.sendline(str(reply))


def finish(child):
    child.expect_exact("press Enter to finish: ")
    child.sendline("")
    child.expect_exact("Please hand the device back to your clinician.")
    child.expect_exact("Clinician: press Enter to see the summary. ")
    child.sendline("")
    child.expect(pexpect.EOF)
    child.close()
    return child.before


def stored(db, client, instrument):
    store = open_store(db)
    try:
        return list(store.administrations(client, instrument, include_voided=True))
    finally:
        store.close()


def test_a_whole_phq9_with_back_a_refused_answer_and_a_refused_skip(db):
    child = spawn(db, "phq-9", "--client", "C1")
    child.expect_exact("Over the last 2 weeks")
    answer(child, "1", "9")  # 9 is not an answer
    child.expect_exact("That is not one of the answers. Type a number from 0 to 3, or the words.")
    child.sendline("s")
    child.expect_exact("This question needs an answer.")
    child.sendline("more than half the days")
    answer(child, "b")  # back to question 2, which keeps its answer on Enter
    child.expect_exact("Your answer so far: 2 More than half the days")
    child.sendline("")
    answer(child, 3, 0, 1, 2, 3, 0, 1, "Very difficult")
    output = finish(child)
    assert "RISK: Thoughts of being better off dead" in output
    assert "self_harm_thoughts" not in output  # the flag's words, never its id
    assert "PHQ-9 total: 13" in output and "Depression severity: Moderate" in output
    [administration] = stored(db, "C1", "phq-9")
    assert administration.status == "finished"
    assert administration.answers["phq9_2"] == 2 and administration.answers["phq9_10"] == 2


def test_answers_survive_a_killed_process_and_the_client_carries_on(db):
    child = spawn(db, "gad-7", "--client", "C2")
    answer(child, 1, 2, 3)
    child.expect_exact(ANSWER)  # the third answer has been stored
    child.kill(signal.SIGKILL)
    child.wait()
    [unfinished] = stored(db, "C2", "gad-7")
    assert unfinished.answers == {"gad7_1": 1, "gad7_2": 2, "gad7_3": 3}
    child = spawn(db, "gad-7", "--client", "C2")
    child.expect_exact("has 3 answers. Carry on with it? [Y/n]")
    child.sendline("y")
    child.expect_exact("Carrying on from question 4")
    answer(child, 0, 0, 0, 1)
    output = finish(child)
    assert "GAD-7 total: 7" in output
    [done] = stored(db, "C2", "gad-7")
    assert done.id == unfinished.id and done.status == "finished"


def test_ctrl_c_keeps_every_answer(db):
    child = spawn(db, "gad-7", "--client", "C3")
    answer(child, 2, 2)
    child.expect_exact(ANSWER)
    child.sendintr()
    child.expect_exact("Every answer given so far is saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    [kept] = stored(db, "C3", "gad-7")
    assert kept.answers == {"gad7_1": 2, "gad7_2": 2} and kept.status == "unfinished"


def test_starting_again_voids_the_unfinished_one(db):
    child = spawn(db, "gad-7", "--client", "C4")
    answer(child, 2, "q")
    child.expect(pexpect.EOF)
    child = spawn(db, "gad-7", "--client", "C4")
    child.expect_exact("Carry on with it? [Y/n]")
    child.sendline("n")
    answer(child, *[0] * 7)
    finish(child)
    first, second = stored(db, "C4", "gad-7")
    assert (first.status, first.void_reason) == ("voided", "not finished; the client started again")
    assert second.status == "finished"


def test_follow_ups_skips_and_a_change_in_review(db):
    child = spawn(db, "therapy-reflection", "--client", "C5")
    answer(child, "Somewhat enhanced it", "s", "no", "yes")  # resilience, connection skipped
    answer(child, "yes")  # banking: its follow-up is asked next
    child.expect_exact("Has saving difficult experiences for your sessions been helpful to you?")
    child.sendline("2")
    answer(child, "no", "", "1, 9")  # group tried; why (blank: skipped); supports
    child.expect_exact("What else supports you?")
    child.sendline("<b>My choir</b>")
    child.expect_exact("press Enter to finish: ")
    child.sendline("5")  # question 5 is banking: change it to No
    answer(child, "no")
    finish(child)
    [administration] = stored(db, "C5", "therapy-reflection")
    answers = administration.answers
    assert answers["banking"] == 0 and answers["banking_helpful"] is None
    assert answers["supports"] == (1, 9) and answers["supports_other"] == "<b>My choir</b>"
    assert answers["connection"] is None  # skipped, and the skip is recorded


HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[1A\x1b[2K\x1b[8m\u202eriohc yM"


def test_typed_escape_sequences_come_back_as_text_not_as_terminal_commands(db):
    """What a client typed (or pasted) is shown in the review and when carrying on: as text,
    never as a command that retitles the window, clears the screen or hides an answer."""
    child = spawn(db, "therapy-reflection", "--client", "C10", "--no-handback")
    child.setecho(False)  # what is typed is not echoed back: every byte read is nefkit's
    answer(child, "Somewhat enhanced it", 2, "no", "no", "no", "yes", "no", "9")
    child.expect_exact("What else supports you?")
    child.sendline(HOSTILE)
    child.expect_exact("press Enter to finish: ")
    review = child.before
    child.sendintr()  # stop at the review: the answers are kept
    child.expect(pexpect.EOF)
    child.close()
    [administration] = stored(db, "C10", "therapy-reflection")
    assert administration.answers["supports_other"] == HOSTILE  # stored as given
    shown = r"\x1b]0;pwned\x07\x1b[2J\x1b[1A\x1b[2K\x1b[8m\u202eriohc yM"
    assert shown in review
    child = spawn(db, "therapy-reflection", "--client", "C10", "--no-handback")
    child.setecho(False)
    child.expect_exact("Carry on with it? [Y/n]")
    child.sendline("y")
    child.expect_exact("press Enter to finish: ")
    child.sendline("7a")  # change the last answer, a follow-up: its current one is shown first
    child.expect_exact("(Your answer so far: ")
    child.expect_exact(". Press Enter to keep it.)")
    assert child.before == shown
    child.sendline("")
    child.expect_exact("press Enter to finish: ")
    child.sendline("")
    child.expect(pexpect.EOF)
    seen = review + child.before
    for control in ("\x1b", "\x07", "\u202e"):
        assert control not in seen


def test_several_instruments_in_one_sitting(db):
    child = spawn(
        db, "gad-7", "phq-9", "--client", "C6", "--session", "3", "--context", "format=group"
    )
    answer(child, *[1] * 7)
    child.expect_exact("press Enter to finish: ")
    child.sendline("")
    answer(child, *[0] * 9)
    output = finish(child)
    assert "GAD-7 total: 7" in output and "PHQ-9 total: 0" in output
    for instrument in ("gad-7", "phq-9"):
        [administration] = stored(db, "C6", instrument)
        assert administration.session == 3 and administration.context == {"format": "group"}


COUNTER = re.compile(r"Question (\d+)([a-z]*) of (\d+)")


def counted(child, *replies) -> list[tuple[int, str, int]]:
    """Gives each reply at its prompt; the counter shown with each question, in order."""
    seen = []
    for reply in replies:
        child.expect_exact(ANSWER)
        [(number, part, total)] = COUNTER.findall(child.before)
        seen.append((int(number), part, int(total)))
        child.sendline(str(reply))
    return seen


def test_the_counter_of_the_neq_keeps_its_total_and_counts_follow_ups_as_parts(db):
    """Each 'yes' brings two follow-ups; they are parts of their question (1a, 1b), so the
    total (20 statements and the free-text question) never changes, even after resuming."""
    child = spawn(db, "neq-20", "--client", "N1")
    before = counted(child, "yes", 2)
    child.expect_exact(ANSWER)  # the answer to 1a is stored; 1b is on the screen
    child.kill(signal.SIGKILL)
    child.wait()
    child = spawn(db, "neq-20", "--client", "N1")
    child.expect_exact("Carry on with it? [Y/n]")
    child.sendline("y")
    child.expect_exact("Carrying on from question 1b;")
    rest = ["yes", 3, 0, "no", "yes", 1, 1] + ["no"] * 15 + [""]  # "" skips the free text
    after = counted(child, 1, "no", *rest)
    assert before == [(1, "", 21), (1, "a", 21)] and after[0] == (1, "b", 21)
    shown = before + after
    assert {total for _, _, total in shown} == {21}
    positions = [(number, part) for number, part, _ in shown]
    assert positions == sorted(set(positions))  # each once, always forward
    assert [n for n, part in positions if not part] == list(range(1, 22))
    gates = {n for n, part in positions if part}
    assert gates == {1, 3, 5} and ((3, "a") in positions and (3, "b") in positions)
    child.expect_exact("press Enter to finish: ")
    review = child.before
    assert "1b. What was the probable cause?" in review and "21. Other incidents" in review
    child.sendline("3b")  # the review takes the numbers it shows
    child.expect_exact("Question 3b of 21")
    child.expect_exact("(Your answer so far: 0 Other circumstances. Press Enter to keep it.)")
    child.sendline("1")
    output = finish(child)
    assert "Negative effects attributed to the treatment (number): 3" in output
    [administration] = stored(db, "N1", "neq-20")
    assert administration.answers["neq03_cause"] == 1


def test_the_phq9_counter_counts_its_difficulty_question_from_the_start(db):
    """The difficulty question is asked only when a problem was ticked, but it is counted from
    the first question on: the count is never 'of 9' first and 'of 10' later."""
    child = spawn(db, "phq-9", "--client", "P1", "--no-handback")
    ticked = counted(child, 1, 0, 0, 0, 0, 0, 0, 0, 0, "Somewhat difficult")
    assert ticked == [(n, "", 10) for n in range(1, 11)]
    child.expect_exact("press Enter to finish: ")
    child.sendline("")
    child.expect(pexpect.EOF)
    child = spawn(db, "phq-9", "--client", "P2", "--no-handback")
    clear = counted(child, *[0] * 9)
    child.expect_exact("press Enter to finish: ")  # nothing ticked: question 10 is not asked
    assert clear == [(n, "", 10) for n in range(1, 10)]
    child.sendline("")
    child.expect(pexpect.EOF)


def test_two_terminals_at_once(db):
    first = spawn(db, "gad-7", "--client", "A")
    second = spawn(db, "gad-7", "--client", "B")
    for _ in range(7):
        answer(first, 3)
        answer(second, 0)
    finish(first)
    finish(second)
    [a] = stored(db, "A", "gad-7")
    [b] = stored(db, "B", "gad-7")
    assert sum(a.answers.values()) == 21 and sum(b.answers.values()) == 0


def test_the_client_hands_the_device_back_before_the_summary_appears(db):
    child = spawn(db, "phq-9", "--client", "C7")
    answer(child, *[1] * 8, 2, "Somewhat difficult")
    child.expect_exact("press Enter to finish: ")
    child.sendline("")
    child.expect_exact("Clinician: press Enter to see the summary. ")
    seen_by_the_client = child.before
    assert "Please hand the device back to your clinician." in seen_by_the_client
    assert "RISK" not in seen_by_the_client and "total" not in seen_by_the_client
    child.sendline("")
    child.expect(pexpect.EOF)
    after = child.before
    clear = "\x1b[2J"
    assert clear in after and "RISK: Thoughts of being better off dead" in after.split(clear)[-1]


def test_a_clinician_filling_it_in_sees_the_summary_at_once(db):
    child = spawn(db, "gad-7", "--client", "C8", "--no-handback")
    answer(child, *[0] * 7)
    child.expect_exact("press Enter to finish: ")
    child.sendline("")
    child.expect(pexpect.EOF)
    assert "hand the device back" not in child.before and "GAD-7 total: 0" in child.before


def test_an_interrupted_sitting_carries_on_without_repeating_a_finished_instrument(db):
    child = spawn(db, "phq-9", "gad-7", "--client", "C017")
    answer(child, *[0] * 9)  # all "Not at all": the difficulty question is not asked
    child.expect_exact("press Enter to finish: ")
    child.sendline("")
    answer(child, 1, 1)
    child.expect_exact(ANSWER)
    child.sendintr()
    child.expect(pexpect.EOF)
    child = spawn(db, "phq-9", "gad-7", "--client", "C017")
    child.expect_exact(
        "Patient Health Questionnaire-9 (PHQ-9) finished; Generalized Anxiety Disorder 7-item"
        " scale (GAD-7) has 2 answers. Carry on with it? [Y/n]"
    )
    child.sendline("")
    child.expect_exact("(PHQ-9) was already finished in this sitting")
    child.expect_exact("Carrying on from question 3")
    answer(child, *[1] * 5)
    output = finish(child)
    assert "PHQ-9 total: 0" in output and "GAD-7 total: 7" in output
    [phq] = stored(db, "C017", "phq-9")
    [gad] = stored(db, "C017", "gad-7")
    assert (phq.session, gad.session, gad.status) == (1, 1, "finished")


def test_a_risk_given_before_stopping_is_shown_to_the_clinician_and_listed(db):
    child = spawn(db, "phq-9", "--client", "C9")
    answer(child, *[0] * 8, 3)
    child.expect_exact(ANSWER)
    child.sendline("q")
    child.expect_exact("Clinician: press Enter to see the summary. ")
    assert "RISK" not in child.before
    child.sendline("")
    child.expect(pexpect.EOF)
    assert "the answers given so far raise" in child.before and "RISK: Thoughts" in child.before
    store = open_store(db)
    try:
        [alert] = store.alerts()
    finally:
        store.close()
    assert (alert.client, alert.kind) == ("C9", "risk")


def _write_lock(db):
    """Another program holds the database's write lock until it commits."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_busy_database_keeps_the_answer_tells_the_client_to_wait_and_saves_it(db):
    child = spawn(db, "gad-7", "--client", "W1")
    answer(child, 1)
    child.expect_exact(ANSWER)  # the first answer is stored
    lock = _write_lock(db)
    try:
        child.sendline("2")
        child.expect_exact("Saving… please wait a moment.")
        assert [a.answers for a in stored(db, "W1", "gad-7")] == [{"gad7_1": 1}]
    finally:
        lock.execute("COMMIT")
        lock.close()
    child.expect_exact("Question 3 of 7")
    answer(child, 3, 0, 0, 0, 1)
    output = finish(child)
    assert "Traceback" not in output and "GAD-7 total: 7" in output
    [administration] = stored(db, "W1", "gad-7")
    assert administration.status == "finished" and administration.answers["gad7_2"] == 2


def test_ctrl_c_while_waiting_says_which_answer_was_not_saved(db):
    child = spawn(db, "gad-7", "--client", "W2")
    answer(child, 1)
    child.expect_exact(ANSWER)
    lock = _write_lock(db)
    try:
        child.sendline("3")
        child.expect_exact("Saving… please wait a moment.")
        child.sendintr()
        child.expect_exact(
            "Stopped: the answer to question 2 (3 Nearly every day) was not saved, because another"
            " program kept the database busy. Every answer before it is saved"
        )
        child.expect(pexpect.EOF)
        child.close()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert child.exitstatus == 130 and "Traceback" not in child.before
    [kept] = stored(db, "W2", "gad-7")
    assert kept.answers == {"gad7_1": 1} and kept.status == "unfinished"
