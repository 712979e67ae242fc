"""Deprecated: import ``SqlScore`` from :mod:`nefkit.sql`."""

import warnings


def __getattr__(name: str):
    if name == "SqlScore":
        warnings.warn(
            "nefkit.engine.sql.SqlScore is deprecated: import SqlScore from nefkit.sql",
            DeprecationWarning,
            stacklevel=2,
        )
        from ..sql import SqlScore

        return SqlScore
    raise AttributeError(name)
