"""The staff console, read-only for now: accounts and one case's timeline."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from portal.agency import service
from portal.cases.service import history
from portal.contact.service import statements
from portal.disputes.service import resolution_notes
from portal.identity.roles import VIEW_CASES
from portal.identity.rules import mask_email, mask_phone, mask_tail
from portal.plans.service import decision_notes
from portal.web.access import staff_required

bp = Blueprint("agency", __name__, url_prefix="/staff")


@bp.get("/accounts")
@staff_required(VIEW_CASES)
def accounts():
    # Bounded, so a huge number is an empty page, not an OFFSET overflow in PostgreSQL.
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    return render_template("agency/accounts.html", page=page,
                           views=service.list_accounts(current_user.agency_id, page))


def _said_elsewhere(events) -> dict[int, dict]:
    """By event id, what an event names rather than holds (personal data stays out of the
    record): a statement's words, a staff decision's note."""
    found = statements(events)
    for notes in (resolution_notes(events), decision_notes(events)):
        for event_id, note in notes.items():
            found.setdefault(event_id, {})["note"] = note
    return found


@bp.get("/accounts/<reference>")
@staff_required(VIEW_CASES)
def case(reference: str):
    view = service.open_case(current_user, reference, request.remote_addr)
    events = history(view.account.borrower_id, view.account.id)
    return render_template(
        "agency/case.html",
        view=view,
        events=events,
        told=_said_elsewhere(events),
        mask_email=mask_email,
        mask_phone=mask_phone,
        mask_tail=mask_tail,
    )
