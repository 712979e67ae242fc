"""``nefkit demo``: score the bundled demo clinic's data, added through register_commands."""

from nefkit import hookimpl


@hookimpl
def register_commands(cli):
    import click

    @cli.command(name="demo")
    @click.option(
        "-o",
        "--output-dir",
        type=click.Path(file_okay=False),
        default="nefkit-demo",
        show_default=True,
        help="Where to write the demo's outputs.",
    )
    def demo(output_dir):
        """Score the bundled demo data: 12 pseudonymous clients of a fictional clinic, PHQ-9 and
        GAD-7 at every session, the NEQ-20 and the reflection inventory at the last one.

        Writes CSV scores, an Excel workbook, a cohort and a client HTML report, and a clinic
        database holding the same forms."""
        from pathlib import Path

        from .run import run_demo

        for line in run_demo(Path(output_dir)):
            click.echo(line)
