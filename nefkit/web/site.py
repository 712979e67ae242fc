"""What the routes of both sides share: the database (a store per worker thread: a SQLite
connection belongs to the thread that opened it, and Starlette runs each request's work in a
thread pool), the plugins, the templates and the limits on guesses."""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..api import get_plan
from ..clinic.alerts import Clinic
from ..definitions.plan import Plan
from ..registry import Registry
from ..stores import Store
from . import security


class Site:
    """One served database."""

    def __init__(self, db: Path, registry: Registry, secure: bool):
        self.db = db
        self.registry = registry
        self.secure = secure  # cookies only over HTTPS (TLS here, or at a proxy in front)
        self.templates = Environment(
            loader=PackageLoader("nefkit.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self.codes = security.Guesses(most=10, seconds=600)
        self.passwords = security.Guesses(most=20, seconds=600)
        self._local = threading.local()
        # Definitions do not change while serving: each plan is made once (about 1 ms).
        self._plans: dict[str, Plan] = {}
        self.plan = functools.lru_cache(maxsize=None)(
            lambda instrument, language: get_plan(instrument, registry, language)
        )

    def store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            from ..clinic.sqlite import open_store

            store = self._local.store = open_store(self.db)
        return store

    def clinic(self, by: str) -> Clinic:
        return Clinic(self.store(), self.registry, by, self._plans)

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        nonce = security.nonce()
        html = self.templates.get_template(template).render(nonce=nonce, **context)
        return security.headers(HTMLResponse(html, status_code=status), nonce)


def posted(
    handler: Callable[[Request, FormData], Response],
) -> Callable[[Request], Awaitable[Response]]:
    """A form's handler, given the form's fields and run in the thread pool: the database and
    password hashing block, and must not hold up the server's other requests."""

    async def endpoint(request: Request) -> Response:
        fields = await request.form()
        return await run_in_threadpool(handler, request, fields)

    return endpoint


def address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
