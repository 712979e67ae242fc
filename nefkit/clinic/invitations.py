"""Clients' one-time links to their questionnaires: an unguessable token for the link, a short
code to type instead, both stored as hashes only, and the forms each opens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

from ..definitions.plan import Plan
from ..errors import NefkitError
from ..stores import Administration, Invitation, now
from .alerts import Clinic

# Codes are read aloud and typed on phones: no 0/O, 1/I/L, 5/S or 2/Z to confuse. 8 characters
# of 28 are 3.8e11 codes; guesses are limited per address (see nefkit.web.security).
CODE_ALPHABET = "ABCDEFGHJKMNPQRTUVWXY3456789"
CODE_LENGTH = 8
LONGEST = dt.timedelta(days=30)
LAYOUTS = ("question", "page")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def code_digest(code: str) -> str:
    """The hash of a code as typed: case, spaces and dashes do not matter."""
    return digest(re.sub(r"[\s-]", "", code).upper())


def show_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def lifetime(text: str) -> dt.timedelta:
    """ "30m", "2h", "3d": how long a link stays open."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if not match:
        raise NefkitError(f"--expires {text!r}: give minutes, hours or days, such as 30m, 2h, 3d")
    amount, unit = int(match[1]), match[2]
    span = dt.timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    if not dt.timedelta(minutes=5) <= span <= LONGEST:
        raise NefkitError(f"--expires {text!r}: a link stays open from 5 minutes to 30 days")
    return span


@dataclass
class NewInvitation:
    id: int
    token: str  # shown once, in the link: only its hash is kept
    code: str
    expires_at: dt.datetime

    def link(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/f/{self.token}"


def invite(
    clinic: Clinic,
    client: str,
    plans: list[Plan],
    language: Optional[str],
    layout: str,
    expires: dt.timedelta,
) -> NewInvitation:
    if layout not in LAYOUTS:
        raise NefkitError(f"--layout {layout!r}: choose {' or '.join(LAYOUTS)}")
    token = secrets.token_urlsafe(32)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now() + expires
    ids = [plan.instrument.id for plan in plans]
    number = clinic.store.invite(
        digest(token), code_digest(code), client, ids, language, layout, expires_at, clinic.by
    )
    return NewInvitation(number, token, code, expires_at)


def usable(invitation: Optional[Invitation]) -> Optional[Invitation]:
    """The invitation, if its link may still be used now."""
    if invitation is None or invitation.status(now()) not in ("waiting", "opened"):
        return None
    return invitation


def forms(
    clinic: Clinic, invitation: Invitation, plan: Callable[[str, Optional[str]], Plan]
) -> list[tuple[Plan, Administration]]:
    """The forms the invitation opens, started in one new session of the client the first time
    it is opened (so that session numbers follow the order forms are filled in). ``plan`` gives
    an instrument's plan in a language: the invitation's, for the client to read (alerts are
    derived as ever, in the instrument's own: see Clinic.plan)."""
    plans = [plan(instrument, invitation.language) for instrument in invitation.instruments]
    store = clinic.store
    if not invitation.administrations:
        with store.transaction():
            fresh = store.invitation(id=invitation.id)
            if not fresh.administrations:  # not opened meanwhile in another tab
                session = store.next_session(invitation.client)
                started = [
                    clinic.start(
                        plan, invitation.client, session, {"invitation": str(invitation.id)}
                    )
                    for plan in plans
                ]
                store.open_invitation(invitation.id, started)
            invitation = store.invitation(id=invitation.id)
    return [(plan, store.get(a)) for plan, a in zip(plans, invitation.administrations)]
