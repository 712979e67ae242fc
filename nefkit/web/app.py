"""The application: the client's routes and the clinician's, on one site."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from ..registry import Registry
from . import client, clinician
from .site import Site


def create_app(db: Path, registry: Registry, secure: bool) -> Starlette:
    site = Site(db, registry, secure)
    app = Starlette(routes=[*client.routes(site), *clinician.routes(site)])
    app.state.site = site
    return app
