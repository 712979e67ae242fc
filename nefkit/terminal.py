"""Text nefkit did not write itself, made safe to show in a terminal.

A terminal obeys what it is sent: an escape sequence retitles the window, clears the screen,
moves the cursor, erases a line or hides the text after it; C1 controls do the same on some
terminals; a carriage return or a line break lets one value pass for another line (an extra
answer option, an extra alert); the bidirectional-text controls reorder what is shown. Any text
from an instrument definition, a data file or the clinic's records is passed through
:func:`safe` where it is shown, so that the screen shows what the text holds: each such
character becomes a visible escape (``\\x1b``, ``\\n``, ``\\u202e``), never silently dropped.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls; the bidirectional embeddings and overrides (U+202A-U+202E)
# and isolates (U+2066-U+2069). The bidi marks (U+200E, U+200F, U+061C) stay: right-to-left
# translations need them, and they cannot reorder a run of text by themselves.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: str) -> str:
    """``text`` for one line of a terminal: every control character (line breaks and tabs
    too) and bidi control shown as its escape, as Python writes it in a string literal."""
    return UNSAFE.sub(lambda found: repr(found.group())[1:-1], text)
