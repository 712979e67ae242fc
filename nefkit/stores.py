"""Where a clinic's administrations live: every answer written the moment it is given, nothing
ever overwritten, an audit trail of who did what.

:class:`Store` is the interface the rest of nefkit uses; :mod:`nefkit.clinic.sqlite` implements
it on one SQLite file, and a server database can implement it later without touching the rest.

The stores contract: a plugin's store implements :class:`Store`; nefkit opens its own with
:func:`nefkit.clinic.sqlite.open_store`.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import NefkitError


def current_user() -> str:
    """Who is recorded as acting: ``NEFKIT_USER``, else the operating-system login."""
    return os.environ.get("NEFKIT_USER") or getpass.getuser()


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


class DatabaseBusy(NefkitError):
    """Another program held the database for longer than this one would wait; nothing was
    written, and trying again later may succeed."""


class DatabaseDamaged(NefkitError):
    """The database file is damaged (SQLite found it malformed); nothing is written to it."""


class ErasureUnfinished(NefkitError):
    """An erasure is recorded, but the erased data is still in the file (or its write-ahead
    log): another program is using the database, or SQLite could not rewrite the file."""


@dataclass(frozen=True)
class ExpectedCourseInUse:
    """An expected-course file as the clinic uses it: its text as fitted (kept, so that the
    alerts it gives do not change when a file on disk does), where it was read, who set it."""

    instrument: str
    score: str
    text: str
    source: str
    set_at: dt.datetime
    set_by: str


@dataclass
class Administration:
    id: int
    client: str
    instrument: str
    instrument_version: str
    content_hash: str
    session: Optional[int]
    context: dict[str, str]
    started_at: dt.datetime
    started_by: str
    mode: str  # "administered" or "recorded"
    finished_at: Optional[dt.datetime] = None
    administered_at: Optional[dt.date] = None  # a date or date-time; the start by default
    voided_at: Optional[dt.datetime] = None
    void_reason: Optional[str] = None
    answers: dict[str, Any] = field(default_factory=dict)  # latest answer per item; None = skipped

    @property
    def status(self) -> str:
        if self.voided_at:
            return "voided"
        return "finished" if self.finished_at else "unfinished"


@dataclass
class AnswerRecord:
    item: str
    value: Any
    at: dt.datetime
    by: str
    reason: Optional[str]


@dataclass(frozen=True)
class AlertSpec:
    """An alert the current record calls for. ``key`` names its condition within the
    administration (a flag, or a change against one other administration), so that it keeps its
    acknowledgement while the condition holds, whatever its words."""

    administration: int
    key: str
    kind: str
    label: str
    action: str


@dataclass
class Alert:
    id: int
    administration: int
    client: str
    instrument: str
    key: str
    kind: str  # see nefkit.clinic.alerts.ALERT_KINDS
    label: str
    action: str
    raised_at: dt.datetime
    administered_at: dt.date  # when the client answered (a date or a date-time)
    session: Optional[int]
    acknowledged_at: Optional[dt.datetime] = None
    acknowledged_by: Optional[str] = None
    note: Optional[str] = None
    closed_at: Optional[dt.datetime] = None  # when its condition stopped holding
    closed_by: Optional[str] = None
    close_reason: Optional[str] = None

    @property
    def is_open(self) -> bool:
        """Its condition holds and nobody has acknowledged it yet."""
        return self.closed_at is None and self.acknowledged_at is None


@dataclass
class User:
    """Someone who signs in to ``nefkit serve``'s clinician pages. ``secret`` is the password's
    hash (see :mod:`nefkit.clinic.users`), never the password."""

    name: str
    secret: str
    created_at: dt.datetime
    failed_logins: int = 0
    locked_until: Optional[dt.datetime] = None


@dataclass
class WebSession:
    """A browser signed in: a clinician (``user``), or a client filling in the forms of an
    ``invitation``. Only a hash of its cookie is stored."""

    user: Optional[str]
    invitation: Optional[int]
    csrf: str
    created_at: dt.datetime
    expires_at: dt.datetime


@dataclass
class Invitation:
    """A one-time link (and a short code to type) that opens ``instruments`` for ``client`` and
    nothing else. Only hashes of the link's token and of the code are stored. Its forms are
    started, in one session, when the client first opens it."""

    id: int
    client: str
    instruments: list[str]
    language: Optional[str]
    layout: str  # "question": one question a screen; "page": one instrument a screen
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime
    opened_at: Optional[dt.datetime] = None
    finished_at: Optional[dt.datetime] = None
    revoked_at: Optional[dt.datetime] = None
    administrations: list[int] = field(default_factory=list)

    def status(self, at: dt.datetime) -> str:
        if self.revoked_at:
            return "revoked"
        if self.finished_at:
            return "finished"
        if at >= self.expires_at:
            return "expired"
        return "opened" if self.opened_at else "waiting"


class Store(ABC):
    """The operations nefkit needs from a database of administrations.

    Each write is one transaction. :meth:`transaction` groups several into one, so that a form,
    its finish and the alerts it raises are stored together or not at all.

    Used as a context manager it is closed at the end, and a failure of the database itself
    (damage found while reading) becomes a :class:`DatabaseDamaged` naming the file."""

    path: Path
    created: bool  # this open made it a nefkit database (db init; the default path at first)
    read_only: bool  # opened for reading only: the file or its folder cannot be written
    damage: Optional[str]  # what is wrong with a damaged database opened to check or copy it

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        self.close()

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Everything written inside is committed together at the end, or not at all; may be
        nested (the outermost one commits). Held exclusively, so reads inside it (the next
        session number) stay true until the commit."""

    @abstractmethod
    def next_session(self, client: str) -> int:
        """One more than the highest session number of the client's administrations that are
        not voided (1 for a new client). Call it inside the :meth:`transaction` that starts the
        administration, so that two writers never get the same number."""

    @abstractmethod
    def start(
        self,
        client: str,
        instrument: str,
        version: str,
        content_hash: str,
        session: Optional[int],
        context: Mapping[str, str],
        by: str,
        mode: str = "administered",
        administered_at: Optional[dt.date] = None,
    ) -> int:
        """A new unfinished administration; returns its id. ``administered_at`` is when the
        client answered (a paper form's date); it defaults to now."""

    @abstractmethod
    def answer(
        self, administration: int, item: str, value: Any, by: str, reason: Optional[str] = None
    ) -> None:
        """Record one answer now (durably). A later answer to the same item supersedes it;
        both are kept. ``reason`` says why, for a correction."""

    @abstractmethod
    def finish(self, administration: int, by: str) -> None: ...

    @abstractmethod
    def void(self, administration: int, reason: str, by: str) -> None:
        """Mark an administration void; it is kept, with the reason."""

    @abstractmethod
    def get(self, administration: int) -> Administration: ...

    @abstractmethod
    def answer_history(self, administration: int) -> list[AnswerRecord]: ...

    @abstractmethod
    def administrations(
        self,
        client: Optional[str] = None,
        instrument: Optional[str] = None,
        include_voided: bool = False,
    ) -> Iterator[Administration]:
        """Administrations with their latest answers, oldest first."""

    @abstractmethod
    def clients(self) -> list[dict[str, Any]]:
        """Per client: administrations, the first and last date they took place, open alerts."""

    @abstractmethod
    def sync_alerts(
        self,
        administrations: Iterable[int],
        wanted: Iterable[AlertSpec],
        by: str,
        reason: str,
    ) -> None:
        """Make the alerts of ``administrations`` those ``wanted``: an alert whose condition
        holds keeps its acknowledgement (its words are brought up to date), a new one is raised,
        and one no longer wanted is closed with ``reason``. Called in the transaction of the
        write that changed them."""

    @abstractmethod
    def alerts(self, open_only: bool = True) -> list[Alert]:
        """Alerts not yet acknowledged whose condition holds; with ``open_only`` False, every
        alert ever raised, acknowledged and closed ones too."""

    @abstractmethod
    def acknowledge(self, alert: int, note: str, by: str) -> None: ...

    @abstractmethod
    def audit_read(self, by: str, action: str, client: Optional[str], detail: str) -> bool:
        """Record that ``by`` read health data out of the database (``action``: report,
        history, export, backup) about ``client``, or the whole cohort when None. False when
        the database cannot be written (read-only or damaged), so the read is not recorded."""

    @abstractmethod
    def audit_log(
        self, client: Optional[str] = None, since: Optional[dt.datetime] = None
    ) -> list[dict[str, Any]]:
        """The audit trail, oldest first: about ``client`` only, from ``since`` on."""

    @abstractmethod
    def waiting(self, seconds: float) -> AbstractContextManager[None]:
        """Within it, a write waits at most ``seconds`` for another program holding the
        database, then raises :class:`DatabaseBusy`."""

    @abstractmethod
    def check(self) -> list[str]:
        """What is wrong with the database itself: the engine's integrity check, and records
        that refer to an administration that does not exist. Empty when nothing is."""

    @abstractmethod
    def backup(self, path: Path) -> None:
        """A consistent copy, taken while others may be writing."""

    @abstractmethod
    def erase_client(self, client: str, reason: str, by: str) -> dict[str, int]:
        """Delete everything about a client for a data-protection request, and remove the
        deleted data from the file; returns what was deleted. The audit log keeps that an
        erasure happened and how much it removed, but not the client's id or data. Raises
        :class:`ErasureUnfinished` when the erasure is recorded but another program's use of
        the database keeps the data in the file (see :meth:`finish_erasure`)."""

    @abstractmethod
    def finish_erasure(self) -> None:
        """Remove data deleted earlier from the file, verified; raises
        :class:`ErasureUnfinished` while another program's use of the database prevents it."""

    # -- how progress is judged: expected courses in use ---------------------------------------

    @abstractmethod
    def expected_courses(self) -> list[ExpectedCourseInUse]:
        """The expected courses the clinic checks progress against, one per instrument and
        score; not-on-track alerts are derived from them, so they are part of the record."""

    @abstractmethod
    def use_expected_course(self, course: ExpectedCourseInUse) -> None:
        """Put ``course`` in use, replacing the one of its instrument and score; audited.
        Run it in a transaction with the re-derivation of that instrument's alerts."""

    @abstractmethod
    def stop_expected_course(self, instrument: str, score: str, by: str) -> bool:
        """Stop checking against the course of ``instrument`` and ``score``; audited. False
        when none was in use."""

    # -- the web front door (nefkit serve) ---------------------------------------------------

    @abstractmethod
    def add_user(self, name: str, secret: str, by: str) -> None:
        """A clinician who may sign in; raises NefkitError if ``name`` is taken."""

    @abstractmethod
    def set_secret(self, name: str, secret: str, by: str) -> None:
        """A new password hash; unlocks the user."""

    @abstractmethod
    def user(self, name: str) -> Optional[User]: ...

    @abstractmethod
    def users(self) -> list[User]: ...

    @abstractmethod
    def login_attempt(
        self, name: str, succeeded: bool, locked_until: Optional[dt.datetime], detail: str
    ) -> None:
        """Count a failed sign-in (with the lock it brings, if any) or clear the count; audited
        either way, ``detail`` saying from where."""

    @abstractmethod
    def open_session(self, key: str, session: WebSession) -> None:
        """``key``: the hash of the session's cookie."""

    @abstractmethod
    def web_session(self, key: str, at: dt.datetime) -> Optional[WebSession]:
        """The session of a cookie's hash, unless it has expired by ``at``."""

    @abstractmethod
    def close_session(self, key: str) -> None: ...

    @abstractmethod
    def invite(
        self,
        token: str,
        code: str,
        client: str,
        instruments: list[str],
        language: Optional[str],
        layout: str,
        expires_at: dt.datetime,
        by: str,
    ) -> int:
        """A new invitation; ``token`` and ``code`` are their hashes. Returns its id."""

    @abstractmethod
    def invitation(
        self, id: Optional[int] = None, token: Optional[str] = None, code: Optional[str] = None
    ) -> Optional[Invitation]:
        """The invitation with this id, or the hash of its token or of its code."""

    @abstractmethod
    def invitations(self, client: Optional[str] = None) -> list[Invitation]:
        """Newest first."""

    @abstractmethod
    def open_invitation(self, invitation: int, administrations: list[int]) -> None:
        """The first opening: the forms started for it."""

    @abstractmethod
    def end_invitation(self, invitation: int, how: str, by: str) -> None:
        """``how``: "finished" (the client submitted; the link is used) or "revoked"."""

    @abstractmethod
    def close(self) -> None: ...
