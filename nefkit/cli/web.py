"""The web front door's commands: ``nefkit serve``, ``nefkit invite`` and ``nefkit user``.

Starlette and uvicorn are imported by ``serve`` only, so that the other commands start fast.
"""

from __future__ import annotations

import ipaddress
import os
from contextlib import nullcontext
from pathlib import Path

import click

from .clinic import _by, _open
from .common import registry_for
from .options import CLIENT_ID, by_option, db_option, instruments_option, lang_option

DEFAULT_PORT = 8765


@click.group(name="user")
def user() -> None:
    """Clinicians who sign in to `nefkit serve`."""


def _password(name: str) -> str:
    from ..clinic.users import password_problem

    if os.environ.get("NEFKIT_PASSWORD"):  # for scripts; a terminal is asked twice
        password = os.environ["NEFKIT_PASSWORD"]
    else:
        password = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)
    return password


@user.command(name="add")
@click.argument("name")
@db_option
@by_option
def user_add(name, db, by):
    """Add NAME, who may sign in with the password typed (twice; or NEFKIT_PASSWORD)."""
    from ..clinic.users import check_name, hash_password

    check_name(name)
    with _open(db) as store:
        store.add_user(name, hash_password(_password(name)), _by(by))
    click.echo(f"{name} may sign in to nefkit serve on {store.path}.")


@user.command(name="password")
@click.argument("name")
@db_option
@by_option
def user_password(name, db, by):
    """Give NAME a new password; this also unlocks them and signs them out everywhere."""
    from ..clinic.users import hash_password

    with _open(db) as store:
        if store.user(name) is None:
            raise click.ClickException(f"there is no user {name!r}; add one with `nefkit user add`")
        store.set_secret(name, hash_password(_password(name)), _by(by))
    click.echo(f"{name} has a new password.")


@click.command(name="invite")
@click.argument("instrument_ids", nargs=-1, required=True)
@click.option("--client", required=True, type=CLIENT_ID, help="The client's pseudonym.")
@click.option(
    "--expires", default="2h", show_default=True, help="How long the link stays open: 30m, 2h, 3d."
)
@click.option(
    "--layout",
    type=click.Choice(["question", "page"]),
    default="question",
    show_default=True,
    help="One question a screen, or one questionnaire a screen.",
)
@click.option(
    "--url",
    "base_url",
    default=lambda: os.environ.get("NEFKIT_URL", f"http://127.0.0.1:{DEFAULT_PORT}"),
    help="Where nefkit serve is reached (default: NEFKIT_URL, else this computer's).",
)
@click.option(
    "--qr",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the link as a QR code (SVG).",
)
@db_option
@by_option
@lang_option
@instruments_option
def invite(instrument_ids, client, expires, layout, base_url, qr, db, by, lang, instrument_paths):
    """A one-time link (and a code to type) for CLIENT to fill in INSTRUMENT_IDS on their own
    phone or a tablet, through `nefkit serve`. The link never shows the client id; it opens
    those questionnaires only, and stops working once they are sent or when it expires."""
    from ..api import get_plan
    from ..clinic import invitations
    from ..clinic.alerts import Clinic
    from ..outputs import written_whole
    from ..web.qr import svg

    registry = registry_for(instrument_paths)
    plans = [get_plan(i, registry, lang) for i in instrument_ids]
    span = invitations.lifetime(expires)
    # The QR file is checked before the invitation is made: a folder that does not exist
    # fails first, leaving no link that nobody was given. It holds the link: its owner's only.
    with _open(db) as store, written_whole(qr, private=True) if qr else nullcontext() as staged:
        made = invitations.invite(
            Clinic(store, registry, _by(by)), client, plans, lang, layout, span
        )
        link = made.link(base_url)
        if staged is not None:
            staged.write_text(svg(link), encoding="utf-8")
    click.echo(f"Link for {client} (open until {made.expires_at:%Y-%m-%d %H:%M} UTC):")
    click.echo(f"  {link}")
    click.echo(
        f"Or type the code {invitations.show_code(made.code)} at {base_url.rstrip('/')}/code"
    )
    if qr is not None:
        click.echo(f"QR code: {qr}")


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TLS certificate (PEM).",
)
@click.option(
    "--keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TLS private key (PEM).",
)
@click.option(
    "--insecure-behind-proxy",
    is_flag=True,
    help="Listen beyond this computer without TLS, because a proxy in front provides it.",
)
@db_option
@instruments_option
def serve(host, port, certfile, keyfile, insecure_behind_proxy, db, instrument_paths):
    """Serve the clinic database on the web: clients fill in the questionnaires they were
    invited to (nefkit invite), clinicians sign in (nefkit user add) to see alerts."""
    if (certfile is None) != (keyfile is None):
        raise click.UsageError("give both --certfile and --keyfile, or neither")
    tls = certfile is not None
    if not _loopback(host) and not tls:
        if not insecure_behind_proxy:
            raise click.UsageError(
                f"--host {host} reaches beyond this computer: health data must travel"
                " encrypted. Give --certfile and --keyfile, or --insecure-behind-proxy if a"
                " proxy in front provides TLS"
            )
        click.echo(
            "Warning: serving without TLS on a network address; only safe behind a proxy that"
            " provides it.",
            err=True,
        )
    with _open(db) as store:  # made (or checked) here, with a clear error, before serving
        path = store.path
        users = len(store.users())
    import uvicorn

    from ..web.app import create_app

    app = create_app(path, registry_for(instrument_paths), secure=tls or insecure_behind_proxy)
    scheme = "https" if tls else "http"
    click.echo(f"Serving {path} at {scheme}://{host}:{port}/ (Ctrl-C to stop)", err=True)
    if not users:
        click.echo("No clinician can sign in yet: add one with `nefkit user add NAME`.", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(certfile) if tls else None,
        ssl_keyfile=str(keyfile) if tls else None,
        log_level="warning",
        proxy_headers=insecure_behind_proxy,
        server_header=False,
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


COMMANDS = (serve, invite, user)
