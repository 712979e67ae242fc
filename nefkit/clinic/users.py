"""Clinicians who sign in to ``nefkit serve``: passwords kept as scrypt hashes (the standard
library's, from OpenSSL: no extra dependency), and sign-ins refused for a while after repeated
failures, so that a password cannot be guessed by trying."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from typing import Optional

from ..errors import NefkitError
from ..stores import Store, User, now

# scrypt's cost: 2**15 x 8 x 1 takes about 0.1 s and 32 MB per hash on the reference machine
# (RFC 7914 and OWASP's guidance for interactive sign-ins).
N, R, P = 2**15, 8, 1
MIN_LENGTH = 12
# After this many failures in a row, sign-ins for the name are refused for LOCK_MINUTES.
MAX_FAILURES = 5
LOCK_MINUTES = 15


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, maxmem=64 * 2**20)
    return "$".join(["scrypt", str(N), str(R), str(P), _b64(salt), _b64(digest)])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def password_matches(secret: str, password: str) -> bool:
    kind, n, r, p, salt, digest = secret.split("$")
    if kind != "scrypt":
        return False
    again = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        maxmem=64 * 2**20,
    )
    return hmac.compare_digest(again, base64.b64decode(digest))


def password_problem(password: str) -> Optional[str]:
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters"
    return None


# A hash to check against when the name is unknown, so that an unknown name takes as long to
# refuse as a wrong password (the time would otherwise tell which names exist).
_NOBODY = None


def sign_in(store: Store, name: str, password: str, where: str) -> Optional[User]:
    """The user, if ``password`` is theirs and they are not locked out; every attempt is
    counted and audited. Refusals do not say whether the name exists."""
    global _NOBODY
    user = store.user(name)
    if user is None:
        _NOBODY = _NOBODY or hash_password(secrets.token_hex(8))
        password_matches(_NOBODY, password)
        return None
    at = now()
    if user.locked_until is not None and user.locked_until > at:
        store.login_attempt(name, False, user.locked_until, f"{where}; locked out")
        return None
    if password_matches(user.secret, password):
        store.login_attempt(name, True, None, where)
        return user
    failures = user.failed_logins + 1
    locked = at + dt.timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
    store.login_attempt(name, False, locked, f"{where}; wrong password ({failures} in a row)")
    return None


def check_name(name: str) -> str:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise NefkitError(
            f"{name!r} cannot be a user name: use letters, digits and . _ - @ (at most 64)"
        )
    return name
