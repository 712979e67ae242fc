"""The store on one SQLite file: WAL so that readers never block the writer, a busy timeout so
that two terminals administering at once both succeed, one transaction per answer so a crash
loses at most the answer being typed, and a schema versioned by ``PRAGMA user_version``."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

from ..errors import NefkitError
from ..outputs import written_whole
from ..stores import (
    Administration,
    Alert,
    AnswerRecord,
    DatabaseBusy,
    ErasureUnfinished,
    ExpectedCourseInUse,
    Invitation,
    Store,
    User,
    WebSession,
    now,
)
from . import sqlite_file

# Each entry upgrades the schema by one version; never edit one that has shipped, add another.
MIGRATIONS = (
    """
    CREATE TABLE administrations (
        id INTEGER PRIMARY KEY,
        client TEXT NOT NULL,
        instrument TEXT NOT NULL,
        instrument_version TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        session INTEGER,
        administered_at TEXT,
        context TEXT NOT NULL DEFAULT '{}',
        mode TEXT NOT NULL,
        started_at TEXT NOT NULL,
        started_by TEXT NOT NULL,
        finished_at TEXT,
        voided_at TEXT,
        void_reason TEXT,
        voided_by TEXT
    );
    CREATE INDEX administrations_client ON administrations (client, instrument);
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY,
        administration INTEGER NOT NULL REFERENCES administrations (id),
        item TEXT NOT NULL,
        value TEXT NOT NULL,
        at TEXT NOT NULL,
        by TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX answers_administration ON answers (administration, item, id);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        administration INTEGER NOT NULL REFERENCES administrations (id),
        kind TEXT NOT NULL,
        label TEXT NOT NULL,
        action TEXT NOT NULL,
        raised_at TEXT NOT NULL,
        acknowledged_at TEXT,
        acknowledged_by TEXT,
        note TEXT
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        by TEXT NOT NULL,
        action TEXT NOT NULL,
        client TEXT,
        administration INTEGER,
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
    # Alerts are derived from the record: each names the condition it stands for, and is closed
    # (not deleted) when the condition stops holding, keeping its acknowledgement. Alerts of
    # earlier versions get a key of their own; the first recomputation adopts or closes them.
    """
    ALTER TABLE alerts ADD COLUMN key TEXT NOT NULL DEFAULT '';
    ALTER TABLE alerts ADD COLUMN closed_at TEXT;
    ALTER TABLE alerts ADD COLUMN closed_by TEXT;
    ALTER TABLE alerts ADD COLUMN close_reason TEXT;
    UPDATE alerts SET key = 'legacy:' || id;
    CREATE INDEX alerts_administration ON alerts (administration, closed_at);
    CREATE INDEX administrations_session ON administrations (client, session);
    """,
    # nefkit serve: clinicians who sign in, browsers signed in, and clients' one-time links.
    # Secrets are stored as hashes only.
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT
    );
    CREATE TABLE invitations (
        id INTEGER PRIMARY KEY,
        token TEXT NOT NULL UNIQUE,
        code TEXT NOT NULL UNIQUE,
        client TEXT NOT NULL,
        instruments TEXT NOT NULL,
        language TEXT,
        layout TEXT NOT NULL,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        opened_at TEXT,
        finished_at TEXT,
        revoked_at TEXT,
        administrations TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX invitations_client ON invitations (client);
    CREATE TABLE web_sessions (
        key TEXT PRIMARY KEY,
        user TEXT REFERENCES users (name),
        invitation INTEGER REFERENCES invitations (id),
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    """,
    # The expected courses progress is checked against (nefkit administer --expected): part of
    # the record, as the not-on-track alerts are derived from them.
    """
    CREATE TABLE expected_courses (
        instrument TEXT NOT NULL,
        score TEXT NOT NULL,
        course TEXT NOT NULL,
        source TEXT NOT NULL,
        set_at TEXT NOT NULL,
        set_by TEXT NOT NULL,
        PRIMARY KEY (instrument, score)
    );
    """,
)


BUSY_SECONDS = 30  # how long a terminal waits for another that holds the database
# For the fault-injection tests: the process kills itself (SIGKILL, as a power cut would) just
# before its N-th write statement or commit, to prove that every state it can leave is whole.
KILL_AT_WRITE = "NEFKIT_TEST_KILL_AT_WRITE"


_WRITERS: dict[str, threading.Lock] = {}
_WRITERS_GUARD = threading.Lock()


def _writer(path: Path) -> threading.Lock:
    """The lock this process's writers of ``path`` take turns with."""
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(str(Path(path).resolve()), threading.Lock())


def _time(text: Optional[str]) -> Optional[dt.datetime]:
    return dt.datetime.fromisoformat(text) if text else None


def _when(text: Optional[str]) -> Optional[dt.date]:
    """A paper form's date stays a date; an administration's start keeps its time."""
    if not text:
        return None
    return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)


class SqliteStore(Store):
    def __init__(self, path: Path, create: bool = False, allow_damaged: bool = False):
        self.path = path
        self._depth = 0  # nesting of transaction()
        self._writes = 0
        self._kill_at = int(os.environ.get(KILL_AT_WRITE) or 0)
        self._busy_seconds = BUSY_SECONDS
        self._writer = _writer(path)
        self.damage: Optional[str] = None
        self.created = False
        if path.is_dir():
            raise NefkitError(f"{path} is a folder; give the database file")
        if not path.exists():
            if not create:
                raise NefkitError(
                    f"{path} does not exist; check the name (--db or NEFKIT_DB), or create a"
                    f" new clinic database there with `nefkit db init {path}`"
                )
            sqlite_file.create(path)
        self._read_only_because = sqlite_file.unwritable(path)
        self.read_only = self._read_only_because is not None
        try:
            self.db = sqlite_file.connect(path, self.read_only, BUSY_SECONDS)
        except sqlite3.Error as e:
            raise self._unopenable(e) from None
        try:
            self._open(create, allow_damaged)
        except BaseException as e:
            self.db.close()
            if isinstance(e, sqlite3.Error):
                raise self._unopenable(e) from None
            raise

    def _open(self, create: bool, allow_damaged: bool) -> None:
        """Recognise the file before writing to it, then bring it up to date."""
        kind = sqlite_file.identify(self.db, self.path)
        self.damage = sqlite_file.damage(self.db)
        if self.damage and not allow_damaged:
            raise sqlite_file.damaged(self.path, self.damage)
        self.created = kind == "new"
        if self.created:
            if not create or self.read_only:
                raise NefkitError(
                    f"{self.path} is an empty file, not a nefkit database; make it one with"
                    f" `nefkit db init {self.path}`"
                )
            sqlite_file.claim(self.db)
        if not (self.read_only or self.damage):
            self._write_ahead_log()
        self.db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _unopenable(self, error: sqlite3.Error) -> Exception:
        if sqlite_file.is_damage(error):
            return sqlite_file.damaged(self.path, str(error))
        if isinstance(error, sqlite3.OperationalError):
            return self._unwritable(error)
        return NefkitError(f"{self.path} is not a nefkit database ({error})")

    def __exit__(self, kind, error, traceback) -> None:
        self.close()
        if sqlite_file.is_damage(error):
            raise sqlite_file.damaged(self.path, str(error)) from None

    def _write_ahead_log(self) -> None:
        """WAL mode, so that terminals read while another writes. Switching to it needs the
        database to itself and, unlike other statements, fails at once when another
        connection (a second terminal opening the same new database) holds it: retried."""
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                    return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
            time.sleep(0.02)

    def _version(self) -> tuple[int, int]:
        db = self.db
        return (
            db.execute("PRAGMA user_version").fetchone()[0],
            db.execute("PRAGMA application_id").fetchone()[0],
        )

    def _migrate(self) -> None:
        version, application = self._version()
        if version > len(MIGRATIONS):
            raise NefkitError(
                f"{self.path} was written by a newer nefkit (schema {version}); upgrade nefkit"
            )
        if version == len(MIGRATIONS) and (
            application == sqlite_file.APPLICATION_ID or self.read_only or self.damage
        ):
            return  # up to date (or one of before the stamp, read as it is where unwritable)
        # Read again under the write lock: two terminals opening a new database at once must
        # not both create its tables.
        with self.transaction():
            version, _ = self._version()
            self.db.execute(f"PRAGMA application_id = {sqlite_file.APPLICATION_ID}")
            for number, script in enumerate(MIGRATIONS[version:], version + 1):
                for statement in filter(str.strip, script.split(";")):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self):
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        if self.read_only:
            raise self._read_only()
        if self.damage:
            raise sqlite_file.damaged(self.path, self.damage)  # never spread damage by writing
        # Threads of one process (nefkit serve's) queue here for the file's one writer, rather
        # than each polling SQLite's lock with growing sleeps (seconds at the tail under load).
        if not self._writer.acquire(timeout=self._busy_seconds):
            raise self._busy()
        try:
            # IMMEDIATE takes the write lock up front, so a busy database waits instead of
            # failing half-way through.
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise self._unwritable(e) from None
            self._depth = 1
            try:
                yield
                self._fault()
                self.db.execute("COMMIT")
            except BaseException as e:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if isinstance(e, sqlite3.OperationalError):
                    raise self._unwritable(e) from None
                raise
            finally:
                self._depth = 0
        finally:
            self._writer.release()

    def _write(self, sql: str, args=()) -> sqlite3.Cursor:
        self._fault()
        return self.db.execute(sql, args)

    def _fault(self) -> None:
        if self._kill_at:
            self._writes += 1
            if self._writes == self._kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    def _read_only(self) -> NefkitError:
        why = self._read_only_because or f"{self.path} is read-only"
        return NefkitError(
            f"{why}, so nothing was written; check the permissions of the file and its folder"
            " (ls -l), or ask who manages the database"
        )

    def _unwritable(self, error: sqlite3.OperationalError) -> Exception:
        if "readonly" in str(error):
            return self._read_only()
        if "locked" in str(error):
            return self._busy()
        return NefkitError(f"{self.path} cannot be used ({error})")

    def _busy(self) -> DatabaseBusy:
        return DatabaseBusy(
            f"{self.path} stayed in use by another program for {self._busy_seconds:g} s;"
            " nothing was written; try again"
        )

    @contextmanager
    def waiting(self, seconds: float) -> Iterator[None]:
        before = self._busy_seconds
        self._set_busy(seconds)
        try:
            yield
        finally:
            self._set_busy(before)

    def _set_busy(self, seconds: float) -> None:
        self._busy_seconds = seconds
        self.db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def _audit(self, by: str, action: str, client=None, administration=None, detail="") -> None:
        self._write(
            "INSERT INTO audit (at, by, action, client, administration, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (now().isoformat(), by, action, client, administration, detail),
        )

    def start(
        self,
        client,
        instrument,
        version,
        content_hash,
        session,
        context,
        by,
        mode="administered",
        administered_at=None,
    ) -> int:
        started = now()
        with self.transaction():
            cursor = self._write(
                "INSERT INTO administrations (client, instrument, instrument_version, content_hash,"
                " session, administered_at, context, mode, started_at, started_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    client,
                    instrument,
                    version,
                    content_hash,
                    session,
                    (administered_at or started).isoformat(),
                    json.dumps(dict(context)),
                    mode,
                    started.isoformat(),
                    by,
                ),
            )
            self._audit(by, "start", client, cursor.lastrowid, f"{instrument} {version} ({mode})")
        return cursor.lastrowid

    def _require(self, administration: int, open_only: bool = False) -> sqlite3.Row:
        row = self.db.execute(
            "SELECT client, finished_at, voided_at FROM administrations WHERE id = ?",
            (administration,),
        ).fetchone()
        if row is None:
            raise NefkitError(f"there is no administration {administration}")
        if row[2]:
            raise NefkitError(f"administration {administration} was voided")
        if open_only and row[1]:
            raise NefkitError(f"administration {administration} is finished; correct it instead")
        return row

    def answer(self, administration, item, value, by, reason=None) -> None:
        value_json = json.dumps(list(value) if isinstance(value, tuple) else value)
        with self.transaction():
            client = self._require(administration)[0]
            self._write(
                "INSERT INTO answers (administration, item, value, at, by, reason) VALUES (?, ?, ?, ?, ?, ?)",
                (administration, item, value_json, now().isoformat(), by, reason),
            )
            if reason is not None:
                self._audit(by, "correct", client, administration, f"{item}: {reason}")

    def finish(self, administration, by) -> None:
        with self.transaction():
            client = self._require(administration, open_only=True)[0]
            self._write(
                "UPDATE administrations SET finished_at = ? WHERE id = ?",
                (now().isoformat(), administration),
            )
            self._audit(by, "finish", client, administration)

    def void(self, administration, reason, by) -> None:
        with self.transaction():
            client = self._require(administration)[0]
            self._write(
                "UPDATE administrations SET voided_at = ?, void_reason = ?, voided_by = ? WHERE id = ?",
                (now().isoformat(), reason, by, administration),
            )
            self._audit(by, "void", client, administration, reason)

    def _answers(self, administration: int) -> dict[str, Any]:
        latest: dict[str, Any] = {}
        for item, value in self.db.execute(
            "SELECT item, value FROM answers WHERE administration = ? ORDER BY id",
            (administration,),
        ):
            decoded = json.loads(value)
            latest[item] = tuple(decoded) if isinstance(decoded, list) else decoded
        return latest

    def _administration(self, row) -> Administration:
        return Administration(
            id=row[0],
            client=row[1],
            instrument=row[2],
            instrument_version=row[3],
            content_hash=row[4],
            session=row[5],
            context=json.loads(row[6]),
            mode=row[7],
            started_at=_time(row[8]),
            started_by=row[9],
            finished_at=_time(row[10]),
            voided_at=_time(row[11]),
            void_reason=row[12],
            administered_at=_when(row[13]),
            answers=self._answers(row[0]),
        )

    _COLUMNS = (
        "id, client, instrument, instrument_version, content_hash, session, context, mode,"
        " started_at, started_by, finished_at, voided_at, void_reason, administered_at"
    )

    def get(self, administration) -> Administration:
        row = self.db.execute(
            f"SELECT {self._COLUMNS} FROM administrations WHERE id = ?", (administration,)
        ).fetchone()
        if row is None:
            raise NefkitError(f"there is no administration {administration}")
        return self._administration(row)

    def answer_history(self, administration) -> list[AnswerRecord]:
        return [
            AnswerRecord(item, json.loads(value), _time(at), by, reason)
            for item, value, at, by, reason in self.db.execute(
                "SELECT item, value, at, by, reason FROM answers WHERE administration = ? ORDER BY id",
                (administration,),
            )
        ]

    def administrations(
        self, client=None, instrument=None, include_voided=False
    ) -> Iterator[Administration]:
        where, args = [], []
        if client is not None:
            where.append("client = ?")
            args.append(client)
        if instrument is not None:
            where.append("instrument = ?")
            args.append(instrument)
        if not include_voided:
            where.append("voided_at IS NULL")
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.execute(
            f"SELECT {self._COLUMNS} FROM administrations{clause} ORDER BY id", args
        ).fetchall()
        return (self._administration(row) for row in rows)

    def next_session(self, client) -> int:
        row = self.db.execute(
            "SELECT MAX(session) FROM administrations WHERE client = ? AND voided_at IS NULL",
            (client,),
        ).fetchone()
        return (row[0] or 0) + 1

    def clients(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT a.client, COUNT(*), MIN(a.administered_at), MAX(a.administered_at),"
            " (SELECT COUNT(*) FROM alerts l JOIN administrations b ON l.administration = b.id"
            "  WHERE b.client = a.client AND l.acknowledged_at IS NULL AND l.closed_at IS NULL)"
            " FROM administrations a WHERE a.voided_at IS NULL GROUP BY a.client ORDER BY a.client"
        )
        return [
            {
                "client": c,
                "administrations": n,
                "first": _when(first),
                "last": _when(last),
                "open_alerts": alerts,
            }
            for c, n, first, last, alerts in rows
        ]

    def sync_alerts(self, administrations, wanted, by, reason) -> None:
        ids = list(administrations)
        if not ids:
            return
        wanted = {(spec.administration, spec.key): spec for spec in wanted}
        marks = ",".join("?" * len(ids))
        with self.transaction():
            current = self.db.execute(
                "SELECT l.id, l.administration, l.key, l.kind, l.label, l.action, a.client"
                " FROM alerts l JOIN administrations a ON l.administration = a.id"
                f" WHERE l.administration IN ({marks}) AND l.closed_at IS NULL ORDER BY l.id",
                ids,
            ).fetchall()
            held = {(adm, key) for _, adm, key, *_ in current}
            # An alert of an earlier nefkit is adopted when its words are those wanted.
            words = {(s.administration, s.label): k for k, s in wanted.items() if k not in held}
            for alert, adm, key, kind, label, action, client in current:
                if key.startswith("legacy:") and (adm, label) in words:
                    key = words.pop((adm, label))[1]
                    self._write("UPDATE alerts SET key = ? WHERE id = ?", (key, alert))
                spec = wanted.pop((adm, key), None)
                if spec is None:
                    self._write(
                        "UPDATE alerts SET closed_at = ?, closed_by = ?, close_reason = ? WHERE id = ?",
                        (now().isoformat(), by, reason, alert),
                    )
                    self._audit(by, "close alert", client, adm, f"alert {alert}: {reason}")
                elif (kind, label, action) != (spec.kind, spec.label, spec.action):
                    self._write(
                        "UPDATE alerts SET kind = ?, label = ?, action = ? WHERE id = ?",
                        (spec.kind, spec.label, spec.action, alert),
                    )
            for spec in wanted.values():
                client = self._require(spec.administration)[0]
                cursor = self._write(
                    "INSERT INTO alerts (administration, key, kind, label, action, raised_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        spec.administration,
                        spec.key,
                        spec.kind,
                        spec.label,
                        spec.action,
                        now().isoformat(),
                    ),
                )
                self._audit(
                    "nefkit",
                    "alert",
                    client,
                    spec.administration,
                    f"alert {cursor.lastrowid}, {spec.kind}: {spec.label}",
                )

    def alerts(self, open_only=True) -> list[Alert]:
        clause = " WHERE l.acknowledged_at IS NULL AND l.closed_at IS NULL" if open_only else ""
        rows = self.db.execute(
            "SELECT l.id, l.administration, a.client, a.instrument, l.key, l.kind, l.label,"
            " l.action, l.raised_at, a.administered_at, a.session, l.acknowledged_at,"
            " l.acknowledged_by, l.note, l.closed_at, l.closed_by, l.close_reason FROM alerts l"
            f" JOIN administrations a ON l.administration = a.id{clause} ORDER BY l.id"
        )
        return [
            Alert(
                *row[:8],
                raised_at=_time(row[8]),
                administered_at=_when(row[9]),
                session=row[10],
                acknowledged_at=_time(row[11]),
                acknowledged_by=row[12],
                note=row[13],
                closed_at=_time(row[14]),
                closed_by=row[15],
                close_reason=row[16],
            )
            for row in rows
        ]

    def acknowledge(self, alert, note, by) -> None:
        with self.transaction():
            row = self.db.execute(
                "SELECT a.client, l.administration, l.acknowledged_at, l.closed_at, l.close_reason"
                " FROM alerts l JOIN administrations a ON l.administration = a.id WHERE l.id = ?",
                (alert,),
            ).fetchone()
            if row is None:
                raise NefkitError(f"there is no alert {alert}")
            if row[2]:
                raise NefkitError(f"alert {alert} was already acknowledged")
            if row[3]:
                raise NefkitError(
                    f"alert {alert} was closed on {row[3][:10]} ({row[4]}); its condition no"
                    " longer holds, so there is nothing to acknowledge"
                )
            self._write(
                "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, note = ? WHERE id = ?",
                (now().isoformat(), by, note, alert),
            )
            self._audit(by, "acknowledge", row[0], row[1], f"alert {alert}: {note}")

    def audit_read(self, by, action, client, detail) -> bool:
        if self.read_only or self.damage:
            return False
        with self.transaction():
            self._audit(by, action, client, None, detail)
        return True

    def audit_log(self, client=None, since=None) -> list[dict[str, Any]]:
        where, args = [], []
        if client is not None:
            where.append("client = ?")
            args.append(client)
        if since is not None:
            # Times are stored as UTC in ISO form, which sorts as text.
            where.append("at >= ?")
            args.append(since.astimezone(dt.timezone.utc).isoformat())
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self.db.execute(
            f"SELECT at, by, action, client, administration, detail FROM audit{clause} ORDER BY id",
            args,
        )
        return [
            {
                "at": _time(at),
                "by": by,
                "action": action,
                "client": client,
                "administration": adm,
                "detail": detail,
            }
            for at, by, action, client, adm, detail in rows
        ]

    def check(self) -> list[str]:
        findings: list[str] = []
        try:
            rows = self.db.execute("PRAGMA integrity_check").fetchall()
            findings += [row[0] for row in rows if row != ("ok",)]
            findings += [
                f"{table} row {rowid} refers to a record of {parent} that does not exist"
                for table, rowid, parent, _ in self.db.execute("PRAGMA foreign_key_check")
            ]
        except sqlite3.DatabaseError as e:
            findings.append(f"the check stopped: {e}")
        return findings

    def backup(self, path: Path) -> None:
        path = Path(path)
        if path.exists():
            raise NefkitError(f"{path} exists; choose a new file for the backup")
        with written_whole(path) as staged:
            os.close(os.open(staged, os.O_CREAT | os.O_WRONLY, 0o600))
            target = sqlite3.connect(staged)
            try:
                self.db.backup(target)
            finally:
                target.close()

    def expected_courses(self) -> list[ExpectedCourseInUse]:
        rows = self.db.execute(
            "SELECT instrument, score, course, source, set_at, set_by FROM expected_courses"
            " ORDER BY instrument, score"
        ).fetchall()
        return [
            ExpectedCourseInUse(i, sc, text, source, dt.datetime.fromisoformat(at), by)
            for i, sc, text, source, at, by in rows
        ]

    def use_expected_course(self, course: ExpectedCourseInUse) -> None:
        with self.transaction():
            self._write(
                "INSERT OR REPLACE INTO expected_courses"
                " (instrument, score, course, source, set_at, set_by) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    course.instrument,
                    course.score,
                    course.text,
                    course.source,
                    course.set_at.isoformat(),
                    course.set_by,
                ),
            )
            self._audit(
                course.set_by,
                "use expected course",
                detail=f"{course.instrument} {course.score} from {course.source}",
            )

    def stop_expected_course(self, instrument: str, score: str, by: str) -> bool:
        with self.transaction():
            cursor = self._write(
                "DELETE FROM expected_courses WHERE instrument = ? AND score = ?",
                (instrument, score),
            )
            if cursor.rowcount:
                self._audit(by, "stop expected course", detail=f"{instrument} {score}")
        return bool(cursor.rowcount)

    def erase_client(self, client, reason, by) -> dict[str, int]:
        # Deleted records are overwritten with zeros, not only unlinked: should the clean-up
        # below be prevented, a later checkpoint still copies no erased data into the file.
        self.db.execute("PRAGMA secure_delete = ON")
        with self.transaction():
            ids = [
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM administrations WHERE client = ?", (client,)
                )
            ]
            if not ids:
                raise NefkitError(f"there is no client {client!r} in {self.path}")
            marks = ",".join("?" * len(ids))
            counts = {
                "administrations": len(ids),
                "answers": self._write(
                    f"DELETE FROM answers WHERE administration IN ({marks})", ids
                ).rowcount,
                "alerts": self._write(
                    f"DELETE FROM alerts WHERE administration IN ({marks})", ids
                ).rowcount,
            }
            self._write(
                "DELETE FROM web_sessions WHERE invitation IN"
                " (SELECT id FROM invitations WHERE client = ?)",
                (client,),
            )
            links = self._write("DELETE FROM invitations WHERE client = ?", (client,)).rowcount
            if links:  # said only where nefkit serve was used
                counts["invitations"] = links
            self._write(f"DELETE FROM administrations WHERE id IN ({marks})", ids)
            # Earlier audit entries keep what was done and when, not about whom.
            self._write(
                f"UPDATE audit SET client = NULL, detail = '' WHERE client = ? OR administration IN ({marks})",
                [client, *ids],
            )
            summary = ", ".join(f"{n} {what}" for what, n in counts.items())
            self._audit(
                by, "erase", None, None, f"erased one client's data ({summary}); reason: {reason}"
            )
        kept = self._purge()
        if kept:
            raise ErasureUnfinished(
                f"Erasure of {len(ids)} administrations recorded, but the data is still in"
                f" {self.path} {kept}; run `nefkit db erase --finish`"
            )
        return counts

    def finish_erasure(self) -> None:
        if self.read_only:
            raise self._read_only()
        self.db.execute("PRAGMA secure_delete = ON")
        kept = self._purge()
        if kept:
            raise ErasureUnfinished(
                f"The erased data is still in {self.path} {kept}; run `nefkit db erase"
                " --finish` again then"
            )

    def _purge(self) -> Optional[str]:
        """None once deleted data is verified gone from the file and its write-ahead log, else
        until when it stays. VACUUM rewrites the database from its live records (into the log,
        in WAL mode); a TRUNCATE checkpoint copies the log into the file and empties it, unless
        another connection still reads an older state: then it says it was busy, or copied
        only part of the log."""
        try:
            self.db.execute("VACUUM")
            busy, log, copied = self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                return "until other programs using it close"
            return f"until SQLite can rewrite it ({e})"
        wal = self.path.with_name(self.path.name + "-wal")
        emptied = not wal.exists() or wal.stat().st_size == 0
        if busy or log != copied or not emptied:
            return "until other programs using it close"
        return None

    # -- the web front door -----------------------------------------------------------------

    def add_user(self, name, secret, by) -> None:
        with self.transaction():
            if self.user(name) is not None:
                raise NefkitError(
                    f"there is a user {name!r} already; give another name, or a new password"
                    f" with `nefkit user password {name}`"
                )
            self._write(
                "INSERT INTO users (name, secret, created_at, created_by) VALUES (?, ?, ?, ?)",
                (name, secret, now().isoformat(), by),
            )
            self._audit(by, "user add", None, None, f"user {name}")

    def set_secret(self, name, secret, by) -> None:
        with self.transaction():
            if self.user(name) is None:
                raise NefkitError(f"there is no user {name!r}; add one with `nefkit user add`")
            self._write(
                "UPDATE users SET secret = ?, failed_logins = 0, locked_until = NULL"
                " WHERE name = ?",
                (secret, name),
            )
            self._write("DELETE FROM web_sessions WHERE user = ?", (name,))
            self._audit(by, "user password", None, None, f"user {name}")

    def user(self, name) -> Optional[User]:
        row = self.db.execute(
            "SELECT name, secret, created_at, failed_logins, locked_until FROM users"
            " WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return User(row[0], row[1], _time(row[2]), row[3], _time(row[4]))

    def users(self) -> list[User]:
        names = [r[0] for r in self.db.execute("SELECT name FROM users ORDER BY name")]
        return [self.user(name) for name in names]

    def login_attempt(self, name, succeeded, locked_until, detail) -> None:
        with self.transaction():
            if succeeded:
                self._write(
                    "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE name = ?",
                    (name,),
                )
            else:
                self._write(
                    "UPDATE users SET failed_logins = failed_logins + 1, locked_until = ?"
                    " WHERE name = ?",
                    (locked_until.isoformat() if locked_until else None, name),
                )
            self._audit(name, "sign-in" if succeeded else "sign-in refused", None, None, detail)

    def open_session(self, key, session) -> None:
        with self.transaction():
            self._write(
                "INSERT INTO web_sessions (key, user, invitation, csrf, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key,
                    session.user,
                    session.invitation,
                    session.csrf,
                    session.created_at.isoformat(),
                    session.expires_at.isoformat(),
                ),
            )
            # Expired sessions are of no use to anyone: cleared as new ones begin.
            self._write("DELETE FROM web_sessions WHERE expires_at < ?", (now().isoformat(),))

    def web_session(self, key, at) -> Optional[WebSession]:
        row = self.db.execute(
            "SELECT user, invitation, csrf, created_at, expires_at FROM web_sessions WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None or _time(row[4]) <= at:
            return None
        return WebSession(row[0], row[1], row[2], _time(row[3]), _time(row[4]))

    def close_session(self, key) -> None:
        with self.transaction():
            self._write("DELETE FROM web_sessions WHERE key = ?", (key,))

    def invite(self, token, code, client, instruments, language, layout, expires_at, by) -> int:
        with self.transaction():
            cursor = self._write(
                "INSERT INTO invitations (token, code, client, instruments, language, layout,"
                " created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token,
                    code,
                    client,
                    json.dumps(instruments),
                    language,
                    layout,
                    now().isoformat(),
                    by,
                    expires_at.isoformat(),
                ),
            )
            self._audit(
                by,
                "invite",
                client,
                None,
                f"invitation {cursor.lastrowid}: {', '.join(instruments)} until {expires_at:%Y-%m-%d %H:%M} UTC",
            )
        return cursor.lastrowid

    _INVITATION = (
        "SELECT id, client, instruments, language, layout, created_at, created_by, expires_at,"
        " opened_at, finished_at, revoked_at, administrations FROM invitations"
    )

    def _invitation(self, row) -> Invitation:
        return Invitation(
            row[0],
            row[1],
            json.loads(row[2]),
            row[3],
            row[4],
            _time(row[5]),
            row[6],
            _time(row[7]),
            _time(row[8]),
            _time(row[9]),
            _time(row[10]),
            json.loads(row[11]),
        )

    def invitation(self, id=None, token=None, code=None) -> Optional[Invitation]:
        column, value = next(
            (c, v) for c, v in (("id", id), ("token", token), ("code", code)) if v is not None
        )
        row = self.db.execute(f"{self._INVITATION} WHERE {column} = ?", (value,)).fetchone()
        return None if row is None else self._invitation(row)

    def invitations(self, client=None) -> list[Invitation]:
        where, args = ("", ()) if client is None else (" WHERE client = ?", (client,))
        rows = self.db.execute(f"{self._INVITATION}{where} ORDER BY id DESC", args)
        return [self._invitation(row) for row in rows]

    def open_invitation(self, invitation, administrations) -> None:
        with self.transaction():
            self._write(
                "UPDATE invitations SET opened_at = ?, administrations = ? WHERE id = ?",
                (now().isoformat(), json.dumps(administrations), invitation),
            )

    def end_invitation(self, invitation, how, by) -> None:
        column = {"finished": "finished_at", "revoked": "revoked_at"}[how]
        with self.transaction():
            row = self._write(
                f"UPDATE invitations SET {column} = ? WHERE id = ? RETURNING client",
                (now().isoformat(), invitation),
            ).fetchone()
            if row is None:
                raise NefkitError(f"there is no invitation {invitation}")
            self._write("DELETE FROM web_sessions WHERE invitation = ?", (invitation,))
            self._audit(by, f"invitation {how}", row[0], None, f"invitation {invitation}")

    def close(self) -> None:
        self.db.close()


def default_path() -> Path:
    """``NEFKIT_DB``, else ``$XDG_DATA_HOME/nefkit/nefkit.db`` (``~/.local/share/...``)."""
    if os.environ.get("NEFKIT_DB"):
        return Path(os.environ["NEFKIT_DB"]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(data_home).expanduser() / "nefkit" / "nefkit.db"


def open_store(
    path: Optional[Path] = None, *, create: bool = False, allow_damaged: bool = False
) -> Store:
    """The clinic database at ``path``, else :func:`default_path`. It must exist, unless
    ``create`` is set or the path is the default one (``NEFKIT_DB`` unset): then it is created,
    and ``created`` says so. A file or folder that cannot be written is opened for reading
    only. A damaged database is refused, unless ``allow_damaged`` (to check or copy it): then
    ``damage`` says what is wrong, and nothing is written to it."""
    if path is None:
        create = create or not os.environ.get("NEFKIT_DB")
        path = default_path()
    return SqliteStore(Path(path), create=create, allow_damaged=allow_damaged)
