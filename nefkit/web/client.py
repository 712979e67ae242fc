"""The client's side: a link (or a code typed in) opens the forms of one invitation, one
question a screen; every answer is saved the moment it is sent, so a closed tab or a dead
battery loses at most the answer on screen, and the same link carries on. The client sees
questions, their own answers and a thank-you: never scores, flags or what the clinician does.
"""

from __future__ import annotations

from typing import Optional

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..clinic.form import Form
from ..clinic.invitations import code_digest, digest, forms, usable
from ..definitions.instrument import Item
from ..definitions.responses import CellError
from ..stores import Invitation
from . import security
from .site import Site, address, posted

NOT_VALID = (
    "This link cannot be used: it has been used already, it has expired, or it was not typed"
    " in full. Please ask your clinician for a new one."
)


def routes(site: Site) -> list[Route]:
    def invited(request: Request) -> Response:
        invitation = usable(site.store().invitation(token=digest(request.path_params["token"])))
        if invitation is None:
            return site.page("client/message.html", 404, title="Link not valid", text=NOT_VALID)
        return _enter(site, invitation)

    def code(request: Request) -> Response:
        return site.page("client/code.html", problem=None)

    def code_sent(request: Request, fields: FormData) -> Response:
        where = address(request)
        if not site.codes.allowed(where):
            return site.page(
                "client/code.html",
                429,
                problem="Too many codes were tried from here. Please wait ten minutes, or ask"
                " your clinician for help.",
            )
        invitation = usable(site.store().invitation(code=code_digest(str(fields.get("code", "")))))
        if invitation is None:
            site.codes.failed(where)
            return site.page(
                "client/code.html",
                400,
                problem="That code is not valid. Please check it and type it again.",
            )
        return _enter(site, invitation)

    def form(request: Request) -> Response:
        filling = _filling(site, request)
        if isinstance(filling, Response):
            return filling
        invitation, session, form, index, count = filling
        asked = form.asked()
        item_id = request.query_params.get("item")
        position = next((i for i, item in enumerate(asked) if item.id == item_id), None)
        if position is None:
            position = form.first_open()
        if request.query_params.get("review") or (position >= len(asked) and not item_id):
            return _review(site, form, session.csrf, index, count)
        if invitation.layout == "page":
            return _page(site, form, session.csrf, index, count, {})
        if position >= len(asked):
            return _review(site, form, session.csrf, index, count)
        return _question(site, form, asked, position, session.csrf, index, count, None)

    def answered(request: Request, fields: FormData) -> Response:
        filling = _filling(site, request, fields)
        if isinstance(filling, Response):
            return filling
        _, session, form, index, count = filling
        if fields.get("action") == "page":
            return _page_sent(site, form, session.csrf, index, count, fields)
        asked = form.asked()
        position = next((i for i, item in enumerate(asked) if item.id == fields.get("item")), None)
        if position is None:  # a question that no longer applies, or a stale page
            return RedirectResponse("/form", 303)
        item = asked[position]
        action = fields.get("action")

        def again(problem: str) -> Response:
            return _question(site, form, asked, position, session.csrf, index, count, problem)

        if action == "back":
            target = asked[position - 1].id if position else item.id
            return RedirectResponse(f"/form?item={target}", 303)
        if action == "skip":
            if not item.optional:
                return again("This question needs an answer.")
            value = None
        else:
            reply = _reply(item, fields)
            if reply is None:
                if item.id in form.answers:  # kept as it was
                    return _next(form, item)
                choices = form.plan.instrument.choices(item)
                return again("Please choose an answer." if choices else "Please type an answer.")
            try:
                value = form.parsers[item.id].parse(reply)
            except CellError:
                return again(_refusal(form, item))
        form.save(item, value, f"the answer to question {form.numbers[item.id]}")
        return _next(form, item)

    def submitted(request: Request, fields: FormData) -> Response:
        filling = _filling(site, request, fields)
        if isinstance(filling, Response):
            return filling
        form = filling[2]
        if form.first_open() < len(form.asked()):  # an answer still missing: back to it
            return RedirectResponse("/form", 303)
        form.finish()
        return RedirectResponse("/form", 303)

    def thanks(request: Request) -> Response:
        return site.page(
            "client/message.html",
            title="Thank you",
            text="Your answers are saved and sent to your clinician. You can close this page.",
        )

    return [
        Route("/f/{token}", invited),
        Route("/code", code),
        Route("/code", posted(code_sent), methods=["POST"]),
        Route("/form", form),
        Route("/form", posted(answered), methods=["POST"]),
        Route("/form/submit", posted(submitted), methods=["POST"]),
        Route("/thanks", thanks),
    ]


def _by(invitation: Invitation) -> str:
    """Who answers, for the audit trail: the client, through their invitation."""
    return f"client-link-{invitation.id}"


def _enter(site: Site, invitation: Invitation) -> Response:
    response = RedirectResponse("/form", 303)
    security.begin(
        site.store(),
        response,
        security.CLIENT_COOKIE,
        security.CLIENT_HOURS,
        site.secure,
        invitation=invitation.id,
    )
    return response


def _filling(site: Site, request: Request, fields: Optional[FormData] = None):
    """What this browser is filling in: (invitation, session, form, its place, how many forms);
    or the page saying why nothing: the link is not valid, a form came without its CSRF token
    (``fields`` given), or every form has been sent (then the thank-you)."""
    opened = _opened(site, request)
    if isinstance(opened, Response):
        return opened
    invitation, session = opened
    if fields is not None and not security.csrf_ok(session, fields.get("csrf")):
        return _refused(site)
    current = _current(site, invitation)
    if current is None:
        return _finished(site, request, invitation)
    return (invitation, session, *current)


def _opened(site: Site, request: Request):
    """The invitation and session of this browser, or the page saying the link is not valid."""
    store = site.store()
    session = security.current(store, request, security.CLIENT_COOKIE)
    invitation = None
    if session is not None and session.invitation is not None:
        invitation = usable(store.invitation(id=session.invitation))
    if invitation is None:
        return site.page("client/message.html", 404, title="Link not valid", text=NOT_VALID)
    return invitation, session


def _current(site: Site, invitation: Invitation) -> Optional[tuple[Form, int, int]]:
    """The first form of the invitation not finished yet, its place and how many there are."""
    clinic = site.clinic(_by(invitation))
    opened = forms(clinic, invitation, site.plan)
    for index, (plan, administration) in enumerate(opened):
        if not administration.finished_at and not administration.voided_at:
            return Form(plan, clinic, administration), index, len(opened)
    return None


def _finished(site: Site, request: Request, invitation: Invitation) -> Response:
    store = site.store()
    store.end_invitation(invitation.id, "finished", _by(invitation))
    response = RedirectResponse("/thanks", 303)
    response.delete_cookie(security.CLIENT_COOKIE, path="/")
    return response


def _next(form: Form, item: Item) -> Response:
    asked = form.asked()  # the answer may have brought follow-ups in or taken them out
    position = next(i for i, other in enumerate(asked) if other.id == item.id)
    if position + 1 < len(asked):
        return RedirectResponse(f"/form?item={asked[position + 1].id}", 303)
    return RedirectResponse("/form?review=1", 303)


def _reply(item: Item, fields: FormData, name: str = "answer") -> Optional[str]:
    """The answer as the terminal would have it typed: a code, codes separated by commas, a
    number or words; None when nothing was given."""
    if item.type == "multiple":
        codes = fields.getlist(name)
        return ",".join(str(c) for c in codes) if codes else None
    text = str(fields.get(name) or "").strip()
    return text or None


def _page_sent(site, form: Form, csrf, index, count, fields: FormData) -> Response:
    """One questionnaire a screen: every answer on the page saved in order (each with the
    follow-ups it brings in or takes out), a blank optional one as skipped. The page comes back
    while an answer is refused or missing, or when answers made more questions apply."""
    problems: dict[str, str] = {}
    for item in form.plan.items:
        if item not in form.asked():  # left out by an answer saved just before
            continue
        reply = _reply(item, fields, f"answer-{item.id}")
        if reply is None:
            if item.optional and f"shown-{item.id}" in fields:
                form.save(item, None, f"the answer to question {form.numbers[item.id]}")
            elif item.id not in form.answers and f"shown-{item.id}" in fields:
                problems[item.id] = "This question needs an answer."
            continue
        try:
            value = form.parsers[item.id].parse(reply)
        except CellError:
            problems[item.id] = _refusal(form, item)
            continue
        if form.answers.get(item.id, ...) != value:
            form.save(item, value, f"the answer to question {form.numbers[item.id]}")
    if problems or form.first_open() < len(form.asked()):
        return _page(site, form, csrf, index, count, problems)
    return RedirectResponse("/form?review=1", 303)


def _page(site, form: Form, csrf, index, count, problems: dict[str, str]) -> Response:
    asked = form.asked()
    questions = []
    for item in asked:
        current = form.answers.get(item.id)
        parent = form.parent(item)
        questions.append(
            {
                "item": item,
                "number": form.numbers[item.id],
                "parent": parent.text if parent else None,
                "choices": form.plan.instrument.choices(item),
                "chosen": set(current) if isinstance(current, (list, tuple)) else {current},
                "current": current,
                "problem": problems.get(item.id),
            }
        )
    return site.page(
        "client/page.html",
        400 if problems else 200,
        instrument=form.plan.instrument,
        questions=questions,
        total=form.total,
        csrf=csrf,
        problems=len(problems),
        part=(index + 1, count),
        lang=form.plan.instrument.languages[0],
    )


def _refusal(form: Form, item: Item) -> str:
    if item.type == "number":
        bounds = ""
        if item.min is not None and item.max is not None:
            bounds = f" between {item.min:g} and {item.max:g}"
        return f"Please type a {'whole ' if item.integer else ''}number{bounds}."
    return "Please choose one of the answers shown."


def _question(site, form, asked, position, csrf, index, count, problem) -> Response:
    item = asked[position]
    parent = form.parent(item)
    current = form.answers.get(item.id)
    chosen = set(current) if isinstance(current, (list, tuple)) else {current}
    return site.page(
        "client/question.html",
        400 if problem else 200,
        instrument=form.plan.instrument,
        item=item,
        number=form.numbers[item.id],
        total=form.total,
        parent=parent.text if parent else None,
        choices=form.plan.instrument.choices(item),
        chosen=chosen,
        current=current,
        first=position == 0,
        csrf=csrf,
        problem=problem,
        part=(index + 1, count),
        lang=form.plan.instrument.languages[0],
    )


def _review(site, form, csrf, index, count) -> Response:
    asked = form.asked()
    rows = [
        (
            item,
            form.numbers[item.id],
            form.describe(item, form.answers.get(item.id)),
            item.id in form.answers,
        )
        for item in asked
    ]
    return site.page(
        "client/review.html",
        instrument=form.plan.instrument,
        rows=rows,
        complete=all(answered for *_, answered in rows),
        csrf=csrf,
        part=(index + 1, count),
        lang=form.plan.instrument.languages[0],
    )


def _refused(site: Site) -> Response:
    return site.page(
        "client/message.html",
        403,
        title="Please try again",
        text="This page was out of date. Go back to the form and send your answer again.",
    )
