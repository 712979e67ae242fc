"""``nefkit`` and ``python -m nefkit``: the command line with warnings shown as plain lines."""

import sys
import warnings


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"Warning: {message}", file=sys.stderr)


def main() -> None:
    # Plugin and definition warnings are for people, not developers: no file names or line
    # numbers from inside nefkit. Set before the CLI imports, since loading plugins may warn.
    warnings.showwarning = _show_warning
    from .cli import cli

    cli()


if __name__ == "__main__":
    main()
