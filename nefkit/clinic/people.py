"""The names the clinic's record holds for people: a client's pseudonym and whoever acts
(``--by``, ``NEFKIT_USER``).

Each is shown on one line of ``clients``, ``alerts``, a summary or the audit trail, and
looked up as typed, so it is short printable text: no line break to fake an extra line, no
control character to rewrite a terminal, no bidi control or invisible character to make two
different ids look alike, no space at either end to make ``C017`` and ``C017 `` two clients.
"""

from __future__ import annotations

from typing import Optional

MAX_LENGTH = 64
RULE = (
    f"1 to {MAX_LENGTH} printable characters, with no space at either end and no control,"
    " line-break, invisible or bidirectional-text characters"
)


def name_problem(name: str) -> Optional[str]:
    """What breaks the rule in ``name`` (``"is empty"``, ``"holds U+202E"``), or None."""
    if not name:
        return "is empty"
    if len(name) > MAX_LENGTH:
        return f"is {len(name):,} characters long"
    unprintable = next((c for c in name if not c.isprintable()), None)
    if unprintable is not None:
        return f"holds U+{ord(unprintable):04X}, which is not a printable character"
    if name != name.strip():
        return "starts or ends with a space"
    return None
