"""Everything the case page shows about one account, read in a fixed number of queries (no query
per event, attempt or plan): the page's cost does not grow with the case's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts.models import Account, Borrower
from portal.accounts.service import AccountView, view_of
from portal.agency.scope import within
from portal.cases import chain
from portal.cases.models import CaseEvent, CaseStream
from portal.cases.service import chain_keys, history, stream_of
from portal.casework.notes import CaseNote
from portal.contact import service as contact
from portal.contact.models import ContactAttempt, ContactConsent, ContactHold
from portal.contact.operations import consents_of
from portal.disputes.models import Dispute
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.payments import refunds
from portal.payments.models import Payment, StaffRefund
from portal.plans.models import PaymentPlan

#: The newest events the history shows (the chain check reads them all).
HISTORY_LIMIT = 200
ATTEMPTS_LIMIT = 100


@dataclass(frozen=True)
class ChainCheck:
    """What verifying the case's chains found: intact, or the first break in each."""

    events: int
    breaks: list[chain.ChainBreak]

    @property
    def intact(self) -> bool:
        return not self.breaks


@dataclass(frozen=True)
class CaseFile:
    view: AccountView
    holds: list[ContactHold]
    consents: list[ContactConsent]
    #: What the borrower said about contact: channels and points opted out of, named times.
    preferences: dict
    attempts: list[ContactAttempt]
    plans: list[PaymentPlan]
    disputes: list[Dispute]
    payments: list[Payment]
    #: The refunds staff gave, with their reasons, by payment id.
    refunds: dict[int, list[StaffRefund]]
    events: list[CaseEvent]
    #: Notes by id (the history names them), newest first as a list too.
    notes: dict[int, CaseNote]
    #: Staff users' names by id, for "who did it".
    staff: dict[str, StaffUser]
    check: ChainCheck


def _verify(borrower_id: int, account_id: int) -> ChainCheck:
    """The account's chain and the borrower's own, each checked event by event against the chain
    keys and against its head (so dropped newest events show too)."""
    streams = [stream_of(borrower_id, account_id), stream_of(borrower_id, None)]
    keys = chain_keys()
    events = list(db.session.scalars(select(CaseEvent).where(CaseEvent.stream.in_(streams))
                                      .order_by(CaseEvent.stream, CaseEvent.seq)))
    heads = {h.stream: (h.last_seq, h.last_hash) for h in db.session.scalars(
        select(CaseStream).where(CaseStream.stream.in_(streams)))}
    breaks = []
    for stream in streams:
        mine = [e for e in events if e.stream == stream]
        problem = chain.verify(stream, mine, keys)
        last = (mine[-1].seq, mine[-1].hash) if mine else (0, chain.GENESIS)
        if problem is None and heads.get(stream, (0, chain.GENESIS)) != last:
            problem = chain.ChainBreak(stream, last[0] + 1, "newest events missing")
        if problem is not None:
            breaks.append(problem)
    return ChainCheck(len(events), breaks)


def load(agency_id: int, reference: str) -> CaseFile | None:
    """The case as the page shows it, or None when it is not this agency's."""
    account = db.session.scalar(
        select(Account)
        .options(selectinload(Account.borrower).selectinload(Borrower.contact_points),
                 selectinload(Account.creditor), selectinload(Account.ledger))
        .where(Account.reference == reference, within(agency_id, Account.id)))
    if account is None:
        return None
    borrower_id, account_id = account.borrower_id, account.id
    events = history(borrower_id, account_id, HISTORY_LIMIT)
    notes = {n.id: n for n in db.session.scalars(
        select(CaseNote).where(CaseNote.account_id == account_id).order_by(CaseNote.id.desc()))}
    staff_ids = {int(e.actor_id) for e in events
                 if e.actor_type == "staff" and (e.actor_id or "").isdigit()}
    staff_ids |= {n.author_id for n in notes.values()}
    payments = list(db.session.scalars(
        select(Payment).where(Payment.account_id == account_id)
        .order_by(Payment.created_at.desc(), Payment.id.desc())))
    given = refunds.staff_refunds([p.id for p in payments])
    staff_ids |= {r.staff_id for rows in given.values() for r in rows}
    staff = {str(u.id): u for u in db.session.scalars(
        select(StaffUser).where(StaffUser.id.in_(staff_ids)))} if staff_ids else {}
    return CaseFile(
        view=view_of(account, datetime.now(UTC).date()),
        holds=contact.live_holds(borrower_id, account_id),
        consents=consents_of(borrower_id),
        preferences=contact.preferences_of(borrower_id),
        attempts=contact.attempts_of(account_id, ATTEMPTS_LIMIT),
        plans=list(db.session.scalars(
            select(PaymentPlan).options(selectinload(PaymentPlan.installments))
            .where(PaymentPlan.account_id == account_id)
            .order_by(PaymentPlan.created_at.desc(), PaymentPlan.id.desc()))),
        disputes=list(db.session.scalars(
            select(Dispute).where(Dispute.account_id == account_id)
            .order_by(Dispute.opened_at.desc()))),
        payments=payments,
        refunds=given,
        events=events,
        notes=notes,
        staff=staff,
        check=_verify(borrower_id, account_id),
    )
