"""Deprecated: nefkit 0.1 documented ``nefkit.engine.sql.SqlScore``; it is :mod:`nefkit.sql` now.
This package goes in the next release."""
