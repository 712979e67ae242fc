"""The clinician's side: sign in, then open alerts (risk first) with acknowledge and note, a
badge that updates itself while the page is open, and sign out. Every sign-in and every page
of client data is in the database's audit trail."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..clinic import invitations
from ..clinic.alerts import ALERT_KINDS, sorted_alerts
from ..clinic.people import name_problem
from ..clinic.users import sign_in
from ..errors import NefkitError
from ..stores import WebSession, now
from . import security
from .qr import svg
from .site import Site, address, posted


def routes(site: Site) -> list[Route]:
    def signed_in(request: Request) -> Optional[WebSession]:
        session = security.current(site.store(), request, security.CLINICIAN_COOKIE)
        return session if session is not None and session.user is not None else None

    def to_login() -> Response:
        return RedirectResponse("/login", 303)

    def login(request: Request) -> Response:
        return site.page("clinician/login.html", problem=None)

    def login_sent(request: Request, fields: FormData) -> Response:
        where = address(request)
        refused = "That name and password do not match, or the name is locked for a while."
        if not site.passwords.allowed(where):
            return site.page(
                "clinician/login.html",
                429,
                problem="Too many attempts from here; wait ten minutes.",
            )
        name, password = str(fields.get("name", "")), str(fields.get("password", ""))
        user = sign_in(site.store(), name, password, f"from {where}") if name else None
        if user is None:
            site.passwords.failed(where)
            return site.page("clinician/login.html", 401, problem=refused)
        response = RedirectResponse("/alerts", 303)
        security.end(site.store(), request, response, security.CLINICIAN_COOKIE)
        security.begin(
            site.store(),
            response,
            security.CLINICIAN_COOKIE,
            security.CLINICIAN_HOURS,
            site.secure,
            user=user.name,
        )
        return response

    def logout(request: Request, fields: FormData) -> Response:
        session = signed_in(request)
        if session is None or not security.csrf_ok(session, fields.get("csrf")):
            return to_login()
        response = RedirectResponse("/login", 303)
        security.end(site.store(), request, response, security.CLINICIAN_COOKIE)
        return response

    def alerts(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        store = site.store()
        shown = sorted_alerts(store.alerts())
        store.audit_read(session.user, "web alerts", None, f"{len(shown)} open alerts")
        return site.page(
            "clinician/alerts.html",
            **bar(site, session),
            alerts=shown,
            kinds=ALERT_KINDS,
            problem=request.query_params.get("problem"),
        )

    def count(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return JSONResponse({"error": "sign in"}, 401)
        open_alerts = site.store().alerts()
        return JSONResponse(
            {
                "open": len(open_alerts),
                "risk": sum(a.kind.startswith("risk") for a in open_alerts),
            },
            headers={"Cache-Control": "no-store"},
        )

    def acknowledge(request: Request, fields: FormData) -> Response:
        session = signed_in(request)
        if session is None or not security.csrf_ok(session, fields.get("csrf")):
            return to_login()
        note = str(fields.get("note", "")).strip()
        if not note:
            return RedirectResponse("/alerts?problem=Say+what+was+done+in+the+note.", 303)
        try:
            site.store().acknowledge(int(request.path_params["alert"]), note, session.user)
        except NefkitError as e:
            return site.page(
                "clinician/message.html",
                409,
                **bar(site, session),
                title="Not acknowledged",
                text=str(e),
            )
        return RedirectResponse("/alerts", 303)

    def clients(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        store = site.store()
        rows = store.clients()
        store.audit_read(session.user, "web clients", None, f"{len(rows)} clients")
        return site.page("clinician/clients.html", **bar(site, session), clients=rows)

    def client(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        name = request.path_params["client"]
        store = site.store()
        administrations = list(store.administrations(name, include_voided=True))
        if not administrations:
            return site.page(
                "clinician/message.html",
                404,
                **bar(site, session),
                title="No such client",
                text=f"There is no client {name} in the database.",
            )
        store.audit_read(session.user, "web history", name, "")
        return site.page(
            "clinician/client.html",
            **bar(site, session),
            client=name,
            history=history(site, administrations),
            invitations=store.invitations(name),
            now=now(),
        )

    def report(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        name = request.path_params["client"]
        store = site.store()
        html = client_report(site, store, name)
        if html is None:
            return site.page(
                "clinician/message.html",
                404,
                **bar(site, session),
                title="Nothing to report",
                text=f"{name} has no finished administrations.",
            )
        store.audit_read(session.user, "report", name, "client report in the browser")
        # The report is the file `nefkit report` writes, with its own policy: styles inline,
        # nothing loaded, nothing run.
        response = security.headers(HTMLResponse(html), security.nonce())
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none';"
            " form-action 'none'; frame-ancestors 'none'"
        )
        return response

    def invitation_list(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return to_login()
        return invitations_page(session, None, None)

    def invitations_page(session: WebSession, made: Optional[dict], problem: Optional[str]):
        """Every invitation and its status, the form for a new one, and the one just made
        (its link, code and QR code, shown this once)."""
        store = site.store()
        listed = store.invitations()
        store.audit_read(session.user, "web invitations", None, f"{len(listed)} invitations")
        return site.page(
            "clinician/invitations.html",
            200 if problem is None else 400,
            **bar(site, session),
            invitations=listed,
            now=now(),
            instruments=sorted(site.registry.instruments),
            made=made,
            problem=problem,
        )

    def invitation_made(request: Request, fields: FormData) -> Response:
        session = signed_in(request)
        if session is None or not security.csrf_ok(session, fields.get("csrf")):
            return to_login()
        chosen = [str(i) for i in fields.getlist("instrument")]
        name = str(fields.get("client", "")).strip()
        problem = name_problem(name) if name else "give the client's id"
        made = None
        if problem is None and not chosen:
            problem = "choose at least one questionnaire"
        if problem is None:
            try:
                plans = [site.plan(i, None) for i in chosen]
                span = invitations.lifetime(str(fields.get("expires", "2h")))
                made = invitations.invite(
                    site.clinic(session.user), name, plans, None, "question", span
                )
            except NefkitError as e:
                problem = str(e)
        shown = None
        if made is not None:
            base = str(request.base_url).rstrip("/")
            link = made.link(base)
            shown = {
                "link": link,
                "code": invitations.show_code(made.code),
                "qr": Markup(svg(link)),
                "client": name,
                "expires_at": made.expires_at,
            }
        return invitations_page(session, shown, problem)

    def revoke(request: Request, fields: FormData) -> Response:
        session = signed_in(request)
        if session is None or not security.csrf_ok(session, fields.get("csrf")):
            return to_login()
        site.store().end_invitation(int(request.path_params["invitation"]), "revoked", session.user)
        return RedirectResponse("/invitations", 303)

    def home(request: Request) -> Response:
        return RedirectResponse("/alerts" if signed_in(request) else "/login", 303)

    return [
        Route("/", home),
        Route("/login", login),
        Route("/login", posted(login_sent), methods=["POST"]),
        Route("/logout", posted(logout), methods=["POST"]),
        Route("/alerts", alerts),
        Route("/alerts/count", count),
        Route("/alerts/{alert:int}/acknowledge", posted(acknowledge), methods=["POST"]),
        Route("/clients", clients),
        Route("/clients/{client}", client),
        Route("/clients/{client}/report", report),
        Route("/invitations", invitation_list),
        Route("/invitations", posted(invitation_made), methods=["POST"]),
        Route("/invitations/{invitation:int}/revoke", posted(revoke), methods=["POST"]),
    ]


def bar(site: Site, session: WebSession) -> dict:
    """What the bar at the top of every clinician page shows: who is signed in, and the open
    alerts, risk counted apart (kept up to date by the page's script)."""
    open_alerts = site.store().alerts()
    risk = sum(a.kind.startswith("risk") for a in open_alerts)
    return {"user": session.user, "csrf": session.csrf, "open": len(open_alerts), "risk": risk}


def history(site: Site, administrations: list) -> list[dict]:
    """Each administration of a client with its status and the lines `nefkit history` prints."""
    from ..clinic.alerts import changes, course, summary_lines

    rows = []
    courses = {}
    for instrument_id in dict.fromkeys(a.instrument for a in administrations):
        plan = site.plan(instrument_id, None)
        courses[instrument_id] = (
            plan,
            course(plan, (a for a in administrations if a.instrument == instrument_id)),
        )
    for administration in administrations:
        plan, scored = courses[administration.instrument]
        index = next((i for i, (a, _) in enumerate(scored) if a.id == administration.id), None)
        lines = (
            []
            if index is None
            else summary_lines(plan, administration, scored[index][1], changes(plan, scored, index))
        )
        rows.append(
            {
                "administration": administration,
                "title": plan.instrument.title,
                "lines": [line.strip() for line in lines],
            }
        )
    return rows


def client_report(site: Site, store, client: str) -> Optional[str]:
    """The client report `nefkit report --client` writes, as HTML text (None: nothing to
    report), written in a private temporary folder that is removed at once."""
    from ..api import render
    from ..clinic.alerts import courses_in_use
    from ..clinic.exporting import results_from_store
    from ..renderers import RenderOptions

    batch = results_from_store(site.registry, store, client)
    if not batch:
        return None
    expected = tuple(c for group in courses_in_use(store).values() for c in group)
    options = RenderOptions(respondent=client, expected=expected)
    with tempfile.TemporaryDirectory(prefix="nefkit-report-") as folder:
        path = Path(folder) / "report.html"
        render(batch, path, "html", options, site.registry, private=True)
        return path.read_text(encoding="utf-8")
