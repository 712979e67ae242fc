"""Exceptions nefkit raises on purpose; the CLI shows their message as ``Error: ...``."""

import os
from collections.abc import Iterator
from contextlib import contextmanager


def debugging() -> bool:
    """``NEFKIT_DEBUG=1``: show the traceback behind an error, for a bug report."""
    return os.environ.get("NEFKIT_DEBUG", "") not in ("", "0")


class NefkitError(Exception):
    """A failure to be shown to the user as a plain message, without a traceback."""


class PluginError(NefkitError):
    """A plugin could not be loaded or registered something it should not have."""


class DuplicateRegistration(PluginError):
    """Two plugins registered the same instrument id, rule name or renderer format."""


class DefinitionError(NefkitError):
    """An instrument definition has problems; ``problems`` lists every one of them."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def describe(error: BaseException) -> str:
    """An exception in one line: its type and message."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class RuleFailed(NefkitError):
    """A scoring or change rule raised. The plan names the rule, its plugin and the score; the
    engine adds the row it failed on, where it knows it."""

    def __init__(self, kind: str, rule: str, target: str, error: Exception, index: int | None):
        self.kind, self.rule, self.target, self.error = kind, rule, target, error
        self.index = index  # the failing administration's position in the batch, if known
        self.row: str | None = None
        self.origin: str | None = None
        super().__init__(kind, rule, target, error)

    def __str__(self) -> str:
        origin = f" from {self.origin}" if self.origin else ""
        row = f" on {self.row}," if self.row else ""
        return (
            f"{self.kind} '{self.rule}'{origin} failed{row} {self.target}: {describe(self.error)}."
            " It is a fault in the rule: tell its authors, with this message"
        )


@contextmanager
def blamed(who: str, doing: str) -> Iterator[None]:
    """Turn an unexpected exception from a plugin's code into an error naming the plugin and
    what it was doing; nefkit's own errors pass through. The traceback stays attached as the
    cause, shown with ``NEFKIT_DEBUG=1``."""
    try:
        yield
    except NefkitError:
        raise
    except Exception as e:
        raise NefkitError(f"{who} failed {doing}: {describe(e)}") from e
