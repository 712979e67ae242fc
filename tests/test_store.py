"""The SQLite store: nothing overwritten, everything audited, safe under two writers, erasable."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat

import pytest

from nefkit.clinic.sqlite import MIGRATIONS, open_store
from nefkit.clinic.sqlite_file import APPLICATION_ID
from nefkit.errors import NefkitError
from nefkit.stores import AlertSpec


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "clinic.db", create=True)
    yield s
    s.close()


def start(store, client="C1", instrument="phq-9", session=1):
    return store.start(
        client, instrument, "1.0.0", "sha256:x", session, {"format": "group"}, "dr-a"
    )


def test_the_database_file_is_private_and_versioned(tmp_path, store):
    mode = stat.S_IMODE((tmp_path / "clinic.db").stat().st_mode)
    assert mode == 0o600
    version = sqlite3.connect(tmp_path / "clinic.db").execute("PRAGMA user_version").fetchone()[0]
    assert version == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    future = sqlite3.connect(path)
    future.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    future.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    future.close()
    with pytest.raises(NefkitError, match="written by a newer nefkit"):
        open_store(path)


def test_not_a_database_is_a_plain_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database" * 100)
    with pytest.raises(NefkitError, match="is not a nefkit database"):
        open_store(path)


def test_answers_are_never_overwritten(store):
    administration = start(store)
    store.answer(administration, "phq9_1", 1, "dr-a")
    store.answer(administration, "phq9_1", 2, "dr-a")
    store.finish(administration, "dr-a")
    store.answer(administration, "phq9_1", 3, "dr-b", reason="client corrected it by phone")
    assert store.get(administration).answers == {"phq9_1": 3}
    history = store.answer_history(administration)
    assert [(h.value, h.by, h.reason) for h in history] == [
        (1, "dr-a", None),
        (2, "dr-a", None),
        (3, "dr-b", "client corrected it by phone"),
    ]
    actions = [(e["action"], e["by"], e["detail"]) for e in store.audit_log()]
    assert ("correct", "dr-b", "phq9_1: client corrected it by phone") in actions


def test_voiding_keeps_the_administration_with_its_reason(store):
    administration = start(store)
    store.void(administration, "wrong client", "dr-a")
    assert list(store.administrations("C1")) == []
    [kept] = store.administrations("C1", include_voided=True)
    assert (kept.status, kept.void_reason) == ("voided", "wrong client")
    with pytest.raises(NefkitError, match="was voided"):
        store.answer(administration, "phq9_1", 1, "dr-a")


def test_a_transaction_stores_everything_or_nothing(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            administration = start(store)
            store.answer(administration, "phq9_1", 2, "dr-a")
            with store.transaction():  # nested: committed with the outer one
                store.finish(administration, "dr-a")
            raise RuntimeError("the power went off")
    assert list(store.administrations(include_voided=True)) == []
    assert [e["action"] for e in store.audit_log()] == []


def test_the_next_session_ignores_voided_administrations(store):
    assert store.next_session("C1") == 1
    first = start(store, session=1)
    second = start(store, session=2)
    assert store.next_session("C1") == 3 and store.next_session("C2") == 1
    store.void(second, "entered for the wrong client", "dr-a")
    assert store.next_session("C1") == 2
    store.void(first, "entered for the wrong client", "dr-a")
    assert store.next_session("C1") == 1


def risk(administration, label="Item 9 endorsed"):
    return AlertSpec(administration, "flag:risk", "risk", label, "Ask today.")


def test_alerts_follow_the_wanted_set_and_keep_their_acknowledgement(store):
    administration = start(store)
    store.sync_alerts([administration], [risk(administration)], "nefkit", "recorded")
    [alert] = store.alerts()
    assert (alert.client, alert.kind, alert.label, alert.session) == (
        "C1",
        "risk",
        "Item 9 endorsed",
        1,
    )
    store.acknowledge(alert.id, "Safety plan made with the client", "dr-b")
    assert store.alerts() == []
    with pytest.raises(NefkitError, match="already acknowledged"):
        store.acknowledge(alert.id, "again", "dr-b")
    # Still wanted, in other words: the same alert, still acknowledged, in the new words.
    new_words = risk(administration, "Item 9 endorsed (corrected)")
    store.sync_alerts([administration], [new_words], "nefkit", "corrected")
    [same] = store.alerts(open_only=False)
    assert (same.id, same.label, same.note) == (
        alert.id,
        "Item 9 endorsed (corrected)",
        "Safety plan made with the client",
    )
    # No longer wanted: closed with the reason, acknowledgement kept; wanted again: a new one.
    store.sync_alerts([administration], [], "nefkit", "corrected on 2026-12-05 by dr-b: typo")
    [closed] = store.alerts(open_only=False)
    assert (closed.close_reason, closed.acknowledged_by, closed.is_open) == (
        "corrected on 2026-12-05 by dr-b: typo",
        "dr-b",
        False,
    )
    store.sync_alerts([administration], [risk(administration)], "nefkit", "corrected back")
    [again] = store.alerts()
    assert again.id != alert.id and again.acknowledged_at is None
    store.sync_alerts([administration], [], "nefkit", "voided")
    with pytest.raises(NefkitError, match="was closed on .* nothing to acknowledge"):
        store.acknowledge(again.id, "too late", "dr-b")
    actions = [e["action"] for e in store.audit_log()]
    assert actions.count("alert") == 2 and actions.count("close alert") == 2


def test_alerts_of_an_earlier_version_are_adopted_or_closed(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    for statement in filter(str.strip, MIGRATIONS[0].split(";")):
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO administrations (client, instrument, instrument_version, content_hash,"
        " administered_at, mode, started_at, started_by, finished_at) VALUES"
        " ('C1', 'phq-9', '1', 'x', '2026-10-01', 'recorded', '2026-10-01', 'a', '2026-10-01')"
    )
    for label in ("Item 9 endorsed", "Something no longer true"):
        db.execute(
            "INSERT INTO alerts (administration, kind, label, action, raised_at, acknowledged_at,"
            " acknowledged_by, note) VALUES (1, 'risk', ?, '', '2026-10-01', '2026-10-02', 'b', 'ok')",
            (label,),
        )
    db.commit()
    db.close()
    store = open_store(path)
    try:
        store.sync_alerts([1], [risk(1)], "nefkit", "recomputed")
        adopted, closed = store.alerts(open_only=False)
    finally:
        store.close()
    assert (adopted.key, adopted.closed_at, adopted.note) == ("flag:risk", None, "ok")
    assert (closed.key, closed.close_reason) == ("legacy:2", "recomputed")


def test_erasure_removes_the_client_even_from_the_file_bytes(tmp_path, store):
    secret = "my neighbour Mrs Example knows about my treatment"
    administration = start(store, client="C-ERASE")
    store.answer(administration, "other", secret, "dr-a")
    store.sync_alerts(
        [administration],
        [AlertSpec(administration, "flag:x", "warning", "Attributed to treatment", "Talk.")],
        "nefkit",
        "recorded",
    )
    keep = start(store, client="C-KEEP")
    store.answer(keep, "phq9_1", 1, "dr-a")
    counts = store.erase_client("C-ERASE", "data-protection request", "dr-a")
    assert counts == {"administrations": 1, "answers": 1, "alerts": 1}
    assert [c["client"] for c in store.clients()] == ["C-KEEP"]
    log = store.audit_log()
    assert all(e["client"] != "C-ERASE" for e in log)
    assert "erased one client's data (1 administrations, 1 answers, 1 alerts)" in log[-1]["detail"]
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("clinic.db*"))
    assert secret.encode() not in raw and b"C-ERASE" not in raw
    with pytest.raises(NefkitError, match="there is no client"):
        store.erase_client("C-ERASE", "again", "dr-a")


def test_backup_is_a_consistent_private_copy(tmp_path, store):
    administration = start(store)
    store.answer(administration, "phq9_1", 3, "dr-a")
    store.backup(tmp_path / "copy.db")
    assert stat.S_IMODE((tmp_path / "copy.db").stat().st_mode) == 0o600
    copy = open_store(tmp_path / "copy.db")
    assert copy.get(administration).answers == {"phq9_1": 3}
    copy.close()
    with pytest.raises(NefkitError, match="exists"):
        store.backup(tmp_path / "copy.db")


def _writer(path, client, count):
    store = open_store(path)
    administration = store.start(client, "phq-9", "1", "h", 1, {}, client)
    for n in range(count):
        store.answer(administration, f"q{n}", n, client)
    store.finish(administration, client)
    store.close()


def test_two_writers_at_once_both_succeed_and_lose_nothing(tmp_path):
    path = tmp_path / "busy.db"
    open_store(path, create=True).close()
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(path, f"C{i}", 200)) for i in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    store = open_store(path)
    for client in ("C0", "C1"):
        [administration] = store.administrations(client)
        assert administration.finished_at is not None
        assert len(administration.answers) == 200
    store.close()


def _open_new(path, results):
    try:
        open_store(path, create=True).close()
        results.put("ok")
    except Exception as e:  # reported to the test
        results.put(repr(e))


def test_two_processes_creating_one_new_database_at_once(tmp_path):
    context = multiprocessing.get_context("spawn")
    for attempt in range(3):  # the race needs both to start before either has migrated
        path = tmp_path / f"new-{attempt}.db"
        results = context.Queue()
        openers = [context.Process(target=_open_new, args=(path, results)) for _ in range(4)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join(60)
        assert sorted(results.get() for _ in openers) == ["ok"] * 4


def _held(path, seconds):
    """Another terminal holds a new database's write lock while it sets it up, for
    ``seconds``."""
    import threading

    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    release = threading.Timer(seconds, lambda: (other.execute("COMMIT"), other.close()))
    release.start()
    return release


def test_a_terminal_waits_for_another_setting_up_the_same_database(tmp_path):
    """Switching a new database to WAL fails at once, not after SQLite's busy timeout, while
    another connection holds it: two terminals starting together must not fail."""
    path = tmp_path / "clinic.db"
    release = _held(path, 0.3)
    store = open_store(path, create=True)
    release.join()
    assert start(store) > 0
    store.close()


def test_a_database_held_too_long_is_said_to_be_busy(tmp_path, monkeypatch):
    from nefkit.clinic import sqlite as module

    monkeypatch.setattr(module, "BUSY_SECONDS", 0.1)
    path = tmp_path / "clinic.db"
    release = _held(path, 1.0)
    with pytest.raises(NefkitError, match="stayed in use by another program for 0.1 s"):
        open_store(path, create=True)
    release.join()
