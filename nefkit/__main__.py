"""``nefkit`` and ``python -m nefkit``: the command line with warnings shown as plain lines."""

import gc
import sys
import warnings


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"Warning: {message}", file=sys.stderr)


def main() -> None:
    # Plugin and definition warnings are for people, not developers: no file names or line
    # numbers from inside nefkit. Set before the CLI imports, since loading plugins may warn.
    warnings.showwarning = _show_warning
    # Scoring a file makes many short-lived objects per row: at Python's default threshold (700)
    # the collector ran so often that it took 15-35 % of `score` with the row engine (NEQ-20
    # 100,000 rows; PHQ-9 300,000 rows with its change history). Cycles are still collected.
    gc.set_threshold(50_000, 20, 10)
    from .cli import cli

    cli()


if __name__ == "__main__":
    main()
