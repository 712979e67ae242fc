"""What every page shares: a strict Content-Security-Policy with a fresh nonce per response (the
only scripts and styles that run are nefkit's own, inline), sessions kept server-side with only
a hash of their cookie stored, a CSRF token checked on every form, and a limit on guesses."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
from typing import Optional

from starlette.requests import Request
from starlette.responses import Response

from ..stores import Store, WebSession, now

CLIENT_COOKIE = "nefkit_form"
CLINICIAN_COOKIE = "nefkit_session"
CLIENT_HOURS = 12  # a client's form session; the link itself may last longer
CLINICIAN_HOURS = 8  # a working day; then sign in again


def nonce() -> str:
    return secrets.token_urlsafe(16)


def headers(response: Response, nonce: str) -> Response:
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}';"
        " img-src 'self' data:; connect-src 'self'; form-action 'self';"
        " frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"  # health data: never kept by the browser
    return response


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def begin(
    store: Store,
    response: Response,
    cookie: str,
    hours: int,
    secure: bool,
    user: Optional[str] = None,
    invitation: Optional[int] = None,
) -> WebSession:
    """A new session, always with a new cookie (a cookie set before signing in is never
    promoted: no session fixation)."""
    value = secrets.token_urlsafe(32)
    started = now()
    session = WebSession(
        user, invitation, secrets.token_urlsafe(32), started, started + dt.timedelta(hours=hours)
    )
    store.open_session(_key(value), session)
    response.set_cookie(
        cookie,
        value,
        max_age=hours * 3600,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    return session


def current(store: Store, request: Request, cookie: str) -> Optional[WebSession]:
    value = request.cookies.get(cookie)
    if not value:
        return None
    return store.web_session(_key(value), now())


def end(store: Store, request: Request, response: Response, cookie: str) -> None:
    value = request.cookies.get(cookie)
    if value:
        store.close_session(_key(value))
    response.delete_cookie(cookie, path="/")


def csrf_ok(session: Optional[WebSession], given: Optional[str]) -> bool:
    return (
        session is not None
        and given is not None
        and secrets.compare_digest(session.csrf.encode(), given.encode())
    )


class Guesses:
    """At most ``most`` failed guesses (of a code, of a password) per address in ``seconds``;
    beyond that, refused without looking."""

    def __init__(self, most: int = 10, seconds: float = 600):
        self.most, self.seconds = most, seconds
        self._failed: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allowed(self, address: str) -> bool:
        with self._lock:
            failed = self._failed[address]
            while failed and failed[0] < time.monotonic() - self.seconds:
                failed.popleft()
            return len(failed) < self.most

    def failed(self, address: str) -> None:
        with self._lock:
            self._failed[address].append(time.monotonic())
