"""Remittance statements: drawn up from the ledger, the payments and Stripe's balance
transactions by the database (`drawing`, the pure rules of `remittance` in SQL), and closed once
for good.

A statement is written only when it closes, in one transaction, and its rows are append-only
(a trigger refuses UPDATE and DELETE): there is no update path. What changes later (a refund, a
chargeback) is a deduction on the next statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.accounts.models import Account, Creditor
from portal.bulk import month_sized
from portal.extensions import db
from portal.lenders import commission, drawing, remittance, terms
from portal.lenders.models import (
    RemittanceLine,
    RemittanceStatement,
)
from portal.operations import NotFound, Refused, operation
from portal.outbox.service import publish
from portal.reconcile import review

#: The reasons a refusal to close lists (the reconciliation page has them all).
SHOWN_REASONS = 5


@dataclass(frozen=True)
class Draft:
    """A statement as it would close now: nothing of it is written."""

    creditor: Creditor
    period: str
    start: datetime
    end: datetime
    method: str
    lines: list[remittance.Line]
    totals: list[remittance.Totals]


def can_close(creditor: Creditor, period: str) -> list[str]:
    """Why the statement may not close yet (empty: it may): its month must reconcile with
    Stripe to the cent for its creditor, or each difference carry a supervisor's explanation."""
    return review.reconciled(creditor.agency_id, creditor.id, period)


# --- drawing up ---------------------------------------------------------------------------------


def _drawn(creditor: Creditor, period: str) -> tuple[str, drawing.Query]:
    """The creditor's statement of `period` as the database draws it up, with the method of the
    terms in force at its end (Refused: a payment it reads has no terms in force)."""
    _start, end = remittance.period_bounds(period)
    history = terms.history(creditor.id)
    since = db.session.scalar(select(func.max(RemittanceStatement.period_end))
                              .where(RemittanceStatement.creditor_id == creditor.id))
    try:
        method = commission.terms_on(history, (end - timedelta(days=1)).date()).method
    except commission.NoTerms as missing:
        raise _no_terms(creditor, str(missing)) from None
    drawn = drawing.query(creditor.id, end, history, since)
    month_sized()
    drawing.gather(drawn)
    unrated = drawing.first_unrated(drawn, history)
    if unrated is not None:
        raise _no_terms(creditor, unrated.isoformat())
    return method, drawn


def _no_terms(creditor: Creditor, day: str) -> Refused:
    return Refused(f"{creditor.code} has no commission terms in force on {day}: add them "
                   "before closing a statement")


def draft(creditor: Creditor, period: str) -> Draft:
    """The creditor's statement of `period` as it would close now."""
    start, end = remittance.period_bounds(period)
    method, drawn = _drawn(creditor, period)
    lines = drawing.lines(drawn)
    return Draft(creditor, period, start, end, method, lines, remittance.totals(lines, method))


# --- closing ------------------------------------------------------------------------------------


@operation
def close_statement(creditor_code: str, period: str, closed_by: str,
                    now: datetime | None = None) -> RemittanceStatement:
    """Close a creditor's statement of a period that has ended, after the last one closed; it is
    written whole and announced (`remittance.closed`), and never changes after."""
    return close_in_transaction(creditor_code, period, closed_by, now)


def close_in_transaction(creditor_code: str, period: str, closed_by: str,
                         now: datetime | None = None) -> RemittanceStatement:
    """`close_statement` inside the caller's transaction (the demo seed's)."""
    now = now or datetime.now(UTC)
    creditor = db.session.scalar(select(Creditor).where(Creditor.code == creditor_code)
                                 .with_for_update())
    if creditor is None:
        raise Refused(f"no creditor {creditor_code!r}")
    try:
        start, end = remittance.period_bounds(period)
    except remittance.BadPeriod:
        raise Refused(f"{period!r} is not a period: write it YYYY-MM") from None
    if end > now:
        raise Refused(f"{period} has not ended yet: it closes from {end.date().isoformat()}")
    latest = db.session.scalar(select(func.max(RemittanceStatement.period))
                               .where(RemittanceStatement.creditor_id == creditor.id))
    if latest is not None and latest >= period:
        raise Refused(f"{creditor.code}'s statement of {latest} is closed: a statement closes "
                      "only after it, and once")
    method, drawn = _drawn(creditor, period)
    reasons = can_close(creditor, period)
    if reasons:
        listed = "; ".join(reasons[:SHOWN_REASONS])
        if len(reasons) > SHOWN_REASONS:
            listed += " " + _("(and %(more)s more on the reconciliation page)",
                              more=len(reasons) - SHOWN_REASONS)
        raise Refused(_("%(creditor)s's statement of %(month)s closes only once the month "
                        "reconciles with Stripe to the cent, or a supervisor has explained each "
                        "difference: %(reasons)s", creditor=creditor.code, month=period,
                        reasons=listed))
    row = RemittanceStatement(creditor_id=creditor.id, period=period, period_start=start,
                              period_end=end, method=method, closed_at=now, closed_by=closed_by)
    db.session.add(row)
    db.session.flush()
    drawing.write(drawn, row.id)
    publish("remittance.closed", announcement(row, totals_of(row)),
            agency_id=creditor.agency_id)
    return row


def announcement(row: RemittanceStatement, totals: list[remittance.Totals]) -> dict:
    """The `remittance.closed` webhook's body: the statement's totals, no personal data."""
    return {"statement_id": row.id, "creditor": row.creditor.code, "period": row.period,
            "method": row.method, "closed_at": row.closed_at.isoformat(),
            "totals": [totals_json(t) for t in totals]}


def totals_json(t: remittance.Totals) -> dict:
    return {"currency": t.currency, "collected_minor": t.collected, "refunded_minor": t.refunded,
            "charged_back_minor": t.charged_back, "commission_minor": t.commission,
            "direct_minor": t.direct, "direct_commission_minor": t.direct_commission,
            "due_minor": t.due, "invoiced_minor": t.invoiced}


# --- reading closed statements ---------------------------------------------------------------


def as_lines(row: RemittanceStatement) -> list[remittance.Line]:
    return [remittance.Line(line.account_id, line.currency, line.collected_minor,
                            line.refunded_minor, line.charged_back_minor, line.commission_minor,
                            line.direct_minor, line.direct_commission_minor)
            for line in row.lines]


def totals_of(row: RemittanceStatement) -> list[remittance.Totals]:
    """The statement's totals by currency (`totals_of_many` of one)."""
    return totals_of_many([row])[row.id]


def totals_of_many(rows: list[RemittanceStatement]) -> dict[int, list[remittance.Totals]]:
    """Each statement's totals by currency, by statement id, in one query: the lines summed by
    the database (a list of twelve statements no longer loads every line of each), then the pure
    rules' split, which is the same on the sums as on the lines (every total is a sum of the
    lines' fields)."""
    if not rows:
        return {}
    line = RemittanceLine
    sums: dict[int, list[remittance.Line]] = {row.id: [] for row in rows}
    for statement_id, currency, *values in db.session.execute(
            select(line.statement_id, line.currency, func.sum(line.collected_minor),
                   func.sum(line.refunded_minor), func.sum(line.charged_back_minor),
                   func.sum(line.commission_minor), func.sum(line.direct_minor),
                   func.sum(line.direct_commission_minor))
            .where(line.statement_id.in_(list(sums)))
            .group_by(line.statement_id, line.currency)):
        sums[statement_id].append(remittance.Line(0, currency, *(int(v) for v in values)))
    return {row.id: remittance.totals(sums[row.id], row.method) for row in rows}


def statements_of(creditor_ids: list[int], period: str | None = None) -> list[RemittanceStatement]:
    query = (select(RemittanceStatement).where(RemittanceStatement.creditor_id.in_(creditor_ids))
             .order_by(RemittanceStatement.period.desc(), RemittanceStatement.creditor_id))
    if period:
        query = query.where(RemittanceStatement.period == period)
    return list(db.session.scalars(query))


def statement_of(creditor_ids: list[int], statement_id: int) -> RemittanceStatement:
    """One of these creditors' statements; another's is not found."""
    row = db.session.scalar(select(RemittanceStatement).where(
        RemittanceStatement.id == statement_id,
        RemittanceStatement.creditor_id.in_(creditor_ids)))
    if row is None:
        raise NotFound(str(statement_id))
    return row


def references(row: RemittanceStatement) -> dict[int, str]:
    """The agency's reference of each account on the statement."""
    return dict(db.session.execute(select(Account.id, Account.reference).where(
        Account.id.in_([line.account_id for line in row.lines]))).all())


def as_json(row: RemittanceStatement) -> dict:
    """A closed statement for the API: totals and lines, minor units, no personal data."""
    refs = references(row)
    return {"statement_id": row.id, "creditor": row.creditor.code, "period": row.period,
            "method": row.method, "closed_at": row.closed_at.isoformat(),
            "totals": [totals_json(t) for t in totals_of(row)],
            "lines": [{"account_ref": refs[line.account_id], "currency": line.currency,
                       "collected_minor": line.collected, "refunded_minor": line.refunded,
                       "charged_back_minor": line.charged_back,
                       "commission_minor": line.commission, "direct_minor": line.direct,
                       "direct_commission_minor": line.direct_commission,
                       "remitted_minor": remittance.line_due(line, row.method)}
                      for line in as_lines(row)]}
