"""The agency's side of its creditors' remittance (the console's statements pages): each creditor
with its commission terms and their history, its closed statements, and the next statement as it
would close now; closing one and adding terms, each one transaction with its staff audit entry.

Every read and action names the staff member's agency: another agency's creditor or statement is
not found, exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from flask_babel import format_percent
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import distinct_on

from portal.accounts.models import Account, Creditor
from portal.extensions import db
from portal.identity.audit import AuditKind, audit
from portal.identity.models import StaffUser
from portal.identity.roles import CLOSE_STATEMENTS, SET_COMMISSION_TERMS, allows
from portal.lenders import commission, remittance, statements, terms
from portal.lenders.models import CreditorTerms, RemittanceStatement
from portal.operations import NotFound, Refused, operation


def creditors_of(agency_id: int) -> list[Creditor]:
    return list(db.session.scalars(select(Creditor).where(Creditor.agency_id == agency_id)
                                   .order_by(Creditor.name)))


def creditor_of(agency_id: int, code: str) -> Creditor:
    """One of the agency's creditors by its code; another agency's is not found."""
    creditor = db.session.scalar(select(Creditor).where(Creditor.agency_id == agency_id,
                                                        Creditor.code == code))
    if creditor is None:
        raise NotFound(code)
    return creditor


def statement_of(agency_id: int, code: str, statement_id: int) -> RemittanceStatement:
    """A closed statement of one of the agency's creditors, named by both."""
    return statements.statement_of([creditor_of(agency_id, code).id], statement_id)


# --- terms ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermsShown:
    """Terms as the page lists them: in force, superseded (until the next ones start) or to
    come."""

    terms: commission.Terms
    #: The day the next terms start (these held until the day before); None: no next ones.
    until: date | None
    state: str  # "in_force" | "superseded" | "future"


def terms_shown(creditor_id: int, today: date) -> list[TermsShown]:
    """The creditor's terms, newest first, each with its state on `today`."""
    history = terms.history(creditor_id)
    try:
        current = commission.terms_on(history, today)
    except commission.NoTerms:
        current = None
    shown = []
    for index, t in enumerate(history):
        until = history[index + 1].valid_from if index + 1 < len(history) else None
        state = ("in_force" if t is current else
                 "future" if t.valid_from > today else "superseded")
        shown.append(TermsShown(t, until, state))
    return shown[::-1]


def percent(rate_bp: int) -> str:
    """A rate in basis points as a percentage in the reader's language, exactly (2550: 25.5%)."""
    return format_percent(Decimal(rate_bp) / commission.BASIS, "#,##0.##%")


def latest_terms_start(creditor_id: int) -> date | None:
    return db.session.scalar(select(func.max(CreditorTerms.valid_from))
                             .where(CreditorTerms.creditor_id == creditor_id))


# --- the next statement ---------------------------------------------------------------------------


def last_closed(creditor_id: int) -> str | None:
    return db.session.scalar(select(func.max(RemittanceStatement.period))
                             .where(RemittanceStatement.creditor_id == creditor_id))


def next_period(creditor_id: int, today: date) -> str:
    """The statement to close next: the latest month that has ended, unless it (or a later one)
    is closed; then the month after the last one closed, which has not ended yet."""
    return _next_after(last_closed(creditor_id), today)


def _next_after(latest: str | None, today: date) -> str:
    """`next_period` once the last closed period (None: none) is known."""
    ended = remittance.previous_period(today.strftime("%Y-%m"))
    if latest is None or latest < ended:
        return ended
    _, end = remittance.period_bounds(latest)
    return remittance.period_of(end)


@dataclass(frozen=True)
class NextStatement:
    period: str
    start: datetime
    end: datetime
    #: Whether the month has ended (only then may it close).
    ended: bool
    #: As it would close now; None when it cannot be drawn up (`problem` says why).
    draft: statements.Draft | None
    problem: str | None
    #: The agency's reference of each account on the draft's lines.
    references: dict[int, str]
    #: Why it may not close yet (`statements.can_close`: the reconciliation's gate).
    blockers: list[str]


def next_statement(creditor: Creditor, now: datetime | None = None) -> NextStatement:
    """The creditor's next statement, drawn up as it would close now (nothing is written)."""
    now = now or datetime.now(UTC)
    period = next_period(creditor.id, now.date())
    start, end = remittance.period_bounds(period)
    try:
        draft = statements.draft(creditor, period)
    except Refused as refused:
        return NextStatement(period, start, end, end <= now, None, refused.message, {}, [])
    ids = {line.account_id for line in draft.lines}
    references = dict(db.session.execute(select(Account.id, Account.reference)
                                         .where(Account.id.in_(ids))).all()) if ids else {}
    ended = end <= now
    return NextStatement(period, start, end, ended, draft, None, references,
                         statements.can_close(creditor, period) if ended else [])


# --- the list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """One creditor on the list: terms in force, its last statement, the one to close next."""

    creditor: Creditor
    in_force: commission.Terms | None
    latest: RemittanceStatement | None
    latest_totals: list[remittance.Totals]
    next_period: str
    next_ended: bool


def summaries(agency_id: int, today: date) -> list[Summary]:
    """The agency's creditors, each summed up (the drafts, which read every payment, are drawn
    up on each creditor's own page): their terms, latest statements and those statements' totals
    read for all of them at once."""
    found = []
    current_month = today.strftime("%Y-%m")
    creditors = creditors_of(agency_id)
    ids = [c.id for c in creditors]
    histories = terms.histories(ids)
    latest_of = {row.creditor_id: row for row in db.session.scalars(
        select(RemittanceStatement).where(RemittanceStatement.creditor_id.in_(ids))
        .ext(distinct_on(RemittanceStatement.creditor_id))
        .order_by(RemittanceStatement.creditor_id, RemittanceStatement.period.desc()))}
    totals = statements.totals_of_many(list(latest_of.values()))
    for creditor in creditors:
        try:
            in_force = commission.terms_on(histories[creditor.id], today)
        except commission.NoTerms:
            in_force = None
        latest = latest_of.get(creditor.id)
        upcoming = _next_after(latest.period if latest else None, today)
        found.append(Summary(creditor, in_force, latest, totals[latest.id] if latest else [],
                             upcoming, upcoming < current_month))
    return found


# --- actions --------------------------------------------------------------------------------------


@operation
def close(staff: StaffUser, creditor_code: str, period: str, source: str | None = None,
          now: datetime | None = None) -> RemittanceStatement:
    """A staff member closes one of their agency's creditors' statements: `close_statement`'s
    own checks and writing (the reconciliation gate among them), in the same transaction as
    the staff audit entry."""
    creditor = creditor_of(staff.agency_id, creditor_code)
    if not allows(staff.role, CLOSE_STATEMENTS):
        raise Refused(_("Your role (%(role)s) may not do this.", role=staff.role), status=403)
    row = statements.close_in_transaction(creditor.code, period, f"staff:{staff.id}", now)
    audit(AuditKind.STATEMENT_CLOSED, agency_id=staff.agency_id, actor_id=staff.id,
          source=source, detail={"creditor": creditor.code, "period": row.period,
                                 "statement": row.id})
    return row


@operation
def add_terms(staff: StaffUser, creditor_code: str, valid_from: date, method: str,
              rates: list[commission.Rate], source: str | None = None) -> CreditorTerms:
    """A staff admin adds one of their agency's creditors' terms from a day: the older terms
    are kept and hold until then."""
    creditor = creditor_of(staff.agency_id, creditor_code)
    if not allows(staff.role, SET_COMMISSION_TERMS):
        raise Refused(_("Your role (%(role)s) may not do this.", role=staff.role), status=403)
    row = terms.write_terms(creditor.code, valid_from, method, rates)
    audit(AuditKind.TERMS_ADDED, agency_id=staff.agency_id, actor_id=staff.id, source=source,
          detail={"creditor": creditor.code, "valid_from": valid_from.isoformat(),
                  "method": method, "rates": [[r.product, r.min_age_days, r.rate_bp]
                                              for r in rates]})
    return row
