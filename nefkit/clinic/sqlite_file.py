"""The SQLite file itself: created on purpose and private, recognised as nefkit's before anything
is written to it, opened for reading only when it or its folder cannot be written, and damage in
it named rather than spread."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Optional

from ..errors import NefkitError
from ..stores import DatabaseDamaged

# Stamped in every nefkit database's header (PRAGMA application_id: "NEFK"), so that another
# program's SQLite file is recognised, and refused, before nefkit writes a byte to it.
APPLICATION_ID = 0x4E45464B


def create(path: Path) -> None:
    """An empty file readable by its owner only, in folders readable by their owner only where
    nefkit makes them. Another process making it at the same moment is no failure."""
    _make_folders(path.parent)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as e:
        raise NefkitError(f"{path} cannot be created ({e.strerror})") from None


def _make_folders(folder: Path) -> None:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        try:
            # A folder holding client data is private, whatever the umask says.
            made.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise NefkitError(f"the folder {made} cannot be created ({e.strerror})") from None


def unwritable(path: Path) -> Optional[str]:
    """Why the database cannot be written, or None. SQLite needs the folder too: it keeps its
    write-ahead log and shared-memory index beside the file."""
    if not os.access(path, os.W_OK):
        return f"{path} is read-only"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"{path} is in a read-only folder ({path.parent})"
    return None


def connect(path: Path, read_only: bool, busy_seconds: float) -> sqlite3.Connection:
    """A connection; read-only ones are opened so that SQLite never tries to write."""
    if not read_only:
        return sqlite3.connect(path, timeout=busy_seconds, isolation_level=None)
    uri = f"{path.resolve().as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=busy_seconds, isolation_level=None)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.Error as e:
        db.close()
        wal = path.with_name(path.name + "-wal")
        if _name(e) not in ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN") or wal.exists():
            raise
    # A WAL database, closed cleanly, in a folder we cannot write: SQLite cannot create the
    # shared-memory index it reads through, so it is read as the file stands. Nobody is
    # writing it now (a writer would have made the write-ahead log); one who starts later is
    # not seen, which the README says.
    return sqlite3.connect(f"{uri}&immutable=1", uri=True, isolation_level=None)


def identify(db: sqlite3.Connection, path: Path) -> str:
    """``new`` (no pages yet), ``nefkit``, or ``legacy`` (made by nefkit before it stamped its
    files); another program's file is refused. Reads only."""
    if db.execute("PRAGMA page_count").fetchone()[0] == 0:
        return "new"
    application = db.execute("PRAGMA application_id").fetchone()[0]
    if application == APPLICATION_ID:
        return "nefkit"
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if application == 0 and version >= 1 and "administrations" in tables:
        return "legacy"
    held = f"tables {', '.join(tables[:5])}" if tables else "no tables"
    raise NefkitError(
        f"{path} is not a nefkit database: it is another program's SQLite file ({held}), and"
        " nefkit left it untouched; check --db and NEFKIT_DB, or create a clinic database"
        " with `nefkit db init PATH`"
    )


def claim(db: sqlite3.Connection) -> None:
    """Stamp a new database as nefkit's first of all (an atomic write of its first page), so
    that a second terminal opening it meanwhile recognises it."""
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def damage(db: sqlite3.Connection) -> Optional[str]:
    """What SQLite's quick check finds wrong with the file's structure, or None (milliseconds
    for a clinic's database, so it runs whenever one is opened)."""
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as e:
        if is_damage(e):
            return str(e)
        raise
    return None if rows == [("ok",)] else rows[0][0]


def is_damage(error: BaseException) -> bool:
    return isinstance(error, sqlite3.DatabaseError) and _name(error) == "SQLITE_CORRUPT"


def damaged(path: Path, detail: str) -> DatabaseDamaged:
    return DatabaseDamaged(
        f"{path} is damaged ({detail}), so nefkit neither reads nor writes it; restore your"
        f" latest backup (`nefkit db check --db {path}` lists what is wrong)"
    )


def _name(error: sqlite3.Error) -> str:
    return getattr(error, "sqlite_errorname", "")
