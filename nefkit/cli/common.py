"""What the command modules share besides their options (see options.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ..registry import Registry
    from ..trajectories import ExpectedCourse


def registry_for(instrument_paths: Sequence[Path] = ()) -> Registry:
    """Every plugin's registrations, with the user's own definitions (``--instruments``)."""
    from ..registry import build_registry

    return build_registry(instrument_paths)


def read_courses(registry: Registry, paths: Sequence[Path]) -> list[ExpectedCourse]:
    """Expected-course files (``--expected``), checked: an error stops the command, a warning
    (a definition changed since the fit) is said."""
    import click

    from ..terminal import safe
    from ..trajectories import check

    courses = []
    for path in paths:
        course, problems = check(path, registry)
        errors = [message for level, message in problems if level == "error"]
        if errors:
            raise click.ClickException("; ".join(errors))
        for _, message in problems:
            click.echo(f"Warning: {safe(message)}", err=True)
        courses.append(course)
    return courses
