"""Your data: everything the portal holds about a borrower (decrypted for them alone), who at
the agency viewed it, and corrections asked for and answered (each an operation with its event)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.models import Account, Borrower, ContactPoint, LedgerEntry
from portal.agency.scope import within
from portal.cases.kinds import EventKind
from portal.cases.models import CaseEvent
from portal.cases.service import Actor, record
from portal.casework.history import actor_words, describe
from portal.contact.models import ContactAttempt, ContactConsent, ContactHold
from portal.contact.service import jurisdiction_of
from portal.disputes.models import Dispute, EvidenceFile
from portal.extensions import db
from portal.identity.helpers import HelperGrant
from portal.identity.models import StaffUser
from portal.messaging import messages
from portal.messaging.models import OutgoingMessage
from portal.messaging.notify import notify
from portal.notices.models import DeliveryConsent
from portal.operations import NotFound, Refused, operation
from portal.payments.models import Payment
from portal.plans.models import Installment, PaymentPlan
from portal.rights import rules
from portal.rights.models import CorrectionRequest

#: Digests and sealed copies are ours, not the borrower's data: left out of their file.
_LEFT_OUT = ("digest", "code_hash", "token")
#: Views of a borrower's personal data by staff, and by lender users (whose account page names
#: the borrower), as the case record holds them.
VIEWS = (EventKind.STAFF_VIEWED, EventKind.PERSONAL_DATA_VIEWED, EventKind.LENDER_VIEWED)


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return None
    return value if value is None or isinstance(value, int | float | bool | dict | list) \
        else str(value)


def row(obj) -> dict:
    """A row as the borrower's file shows it: every column, encrypted ones opened."""
    return {c.key: _plain(getattr(obj, c.key)) for c in obj.__table__.columns
            if not any(word in c.key for word in _LEFT_OUT)}


def _rows(model, *where) -> list[dict]:
    return [row(r) for r in db.session.scalars(select(model).where(*where).order_by(model.id))]


def everything(borrower: Borrower) -> dict:
    """All we hold about the borrower, for their download (JSON and PDF)."""
    accounts = list(borrower.accounts)
    ids = [a.id for a in accounts]
    disputes = _rows(Dispute, Dispute.borrower_id == borrower.id)
    for dispute in disputes:
        dispute["evidence_files"] = [f.display_name for f in db.session.scalars(
            select(EvidenceFile).where(EvidenceFile.dispute_id == dispute["id"]))]
    plans = _rows(PaymentPlan, PaymentPlan.borrower_id == borrower.id)
    for plan in plans:
        plan["installments"] = _rows(Installment, Installment.plan_id == plan["id"])
    return {
        "borrower": row(borrower),
        "contact_points": _rows(ContactPoint, ContactPoint.borrower_id == borrower.id),
        "accounts": [row(a) | {"creditor": a.creditor.name} for a in accounts],
        "ledger": _rows(LedgerEntry, LedgerEntry.account_id.in_(ids)),
        "payments": _rows(Payment, Payment.borrower_id == borrower.id),
        "plans": plans,
        "disputes": disputes,
        "consents": _rows(ContactConsent, ContactConsent.borrower_id == borrower.id)
        + _rows(DeliveryConsent, DeliveryConsent.borrower_id == borrower.id),
        "holds": _rows(ContactHold, ContactHold.borrower_id == borrower.id),
        "contact_attempts": _rows(ContactAttempt, ContactAttempt.account_id.in_(ids)),
        "messages_sent": [{k: m[k] for k in ("created_at", "channel", "kind", "subject",
                                             "status") if k in m}
                          for m in _rows(OutgoingMessage,
                                         OutgoingMessage.borrower_id == borrower.id)],
        "helpers": [{k: g[k] for k in ("name", "email", "kind", "access", "until",
                                       "created_at", "revoked_at")}
                    for g in _rows(HelperGrant, HelperGrant.borrower_id == borrower.id)],
        "corrections": _rows(CorrectionRequest, CorrectionRequest.borrower_id == borrower.id),
        "case_events": [_in_words(e) for e in db.session.scalars(
            select(CaseEvent).where(CaseEvent.borrower_id == borrower.id)
            .order_by(CaseEvent.occurred_at, CaseEvent.id))],
    }


def _in_words(event: CaseEvent) -> dict:
    said = describe(event.kind, event.data or {})
    return {"at": event.occurred_at.isoformat(), "account_id": event.account_id,
            "by": _(actor_words(event.kind, event.actor_type)),
            "what": _(said.sentence) % {k: str(v) for k, v in said.params.items()}}


def viewers(borrower_id: int) -> list[tuple[datetime, str, str]]:
    """Who at the agency, or at a lender, viewed the borrower's personal data, and when: (when,
    who, role), newest first. A lender's user is named as the lender ("Northwind Bank
    (lender)"): the creditor of the account viewed, the borrower's own creditor."""
    events = db.session.scalars(select(CaseEvent).where(
        CaseEvent.borrower_id == borrower_id, CaseEvent.kind.in_([str(k) for k in VIEWS]),
        CaseEvent.actor_type == "staff").order_by(CaseEvent.occurred_at.desc()))
    seen = []
    for event in events:
        staff = db.session.get(StaffUser, int(event.actor_id)) if (
            event.actor_id or "").isdigit() else None
        if event.kind == EventKind.LENDER_VIEWED or (staff and staff.role == "lender"):
            account = db.session.get(Account, event.account_id) if event.account_id else None
            creditor = account.creditor if account else (staff.creditor if staff else None)
            who = _("%(lender)s (lender)", lender=creditor.name) if creditor else _("A lender")
            seen.append((event.occurred_at, who, "lender"))
            continue
        seen.append((event.occurred_at, staff.name if staff else _("A member of staff"),
                     staff.role if staff else ""))
    return seen


@operation
def data_downloaded(borrower_id: int, kind: str, actor: Actor) -> None:
    record(actor, EventKind.DATA_DOWNLOADED, borrower_id=borrower_id, data={"format": kind})


@operation
def request_correction(borrower_id: int, account_reference: str, details: str,
                       actor: Actor) -> CorrectionRequest:
    """The borrower asks us to correct something; it waits in staff's queue with the deadline
    of the borrower's law."""
    text = (details or "").strip()
    if not text:
        raise Refused(_("Tell us what is wrong and what it should say."))
    if len(text) > 2000:
        raise Refused(_("Keep it to 2,000 characters."))
    account = db.session.scalar(select(Account).where(
        Account.borrower_id == borrower_id, Account.reference == account_reference))
    if account is None:
        raise Refused(_("Choose the account it is about."))
    country, region = jurisdiction_of(account.borrower)
    deadline = rules.deadline_for(country, region)
    now = datetime.now(UTC)
    request = CorrectionRequest(borrower_id=borrower_id, account_id=account.id, details=text,
                                law=deadline.law, due_on=rules.due_on(now.date(), deadline),
                                created_at=now)
    db.session.add(request)
    db.session.flush()
    record(actor, EventKind.CORRECTION_REQUESTED, borrower_id=borrower_id, account_id=account.id,
           data={"request": request.id, "law": deadline.law,
                 "until": request.due_on.isoformat()})
    return request


def waiting(agency_id: int) -> list[CorrectionRequest]:
    """The agency's unanswered correction requests, soonest due first."""
    return list(db.session.scalars(select(CorrectionRequest).where(
        CorrectionRequest.answered_at.is_(None),
        within(agency_id, CorrectionRequest.account_id)).order_by(
        CorrectionRequest.due_on, CorrectionRequest.id)))


@operation
def answer_correction(staff: StaffUser, request_id: int, outcome: str, answer: str,
                      source: str | None) -> None:
    """Staff answer a request (corrected, or declined with why); the borrower is told."""
    request = db.session.scalar(select(CorrectionRequest).where(
        CorrectionRequest.id == request_id, within(staff.agency_id, CorrectionRequest.account_id))
        .with_for_update())
    if request is None:
        raise NotFound()
    if request.answered_at is not None:
        raise Refused(_("This request was already answered."), status=409)
    if outcome not in ("corrected", "declined"):
        raise Refused(_("Choose corrected or declined."))
    if not (answer or "").strip():
        raise Refused(_("Write the answer the borrower will read."))
    request.answered_at, request.outcome = datetime.now(UTC), outcome
    request.answer, request.answered_by = answer.strip(), staff.id
    record(Actor("staff", str(staff.id), source), EventKind.CORRECTION_ANSWERED,
           borrower_id=request.borrower_id, account_id=request.account_id,
           data={"request": request.id, "outcome": outcome})
    borrower = db.session.get(Borrower, request.borrower_id)
    notify(borrower, messages.correction_answered(outcome == "corrected"),
           account=request.account)
