"""Remittance statements: the facts gathered from the ledger, the payments and Stripe's balance
transactions, drawn up by the pure rules of `remittance`, and closed once for good.

A statement is written only when it closes, in one transaction, and its rows are append-only
(a trigger refuses UPDATE and DELETE): there is no update path. What changes later (a refund, a
chargeback) is a deduction on the next statement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select

from portal.accounts.models import Account, Creditor, EntryKind, LedgerEntry
from portal.bulk import insert_rows
from portal.extensions import db
from portal.lenders import commission, remittance, terms
from portal.lenders.models import (
    DirectPayment,
    RemittanceItem,
    RemittanceLine,
    RemittanceStatement,
)
from portal.operations import NotFound, Refused, operation
from portal.outbox.service import publish
from portal.payments import settlement
from portal.payments.applying import CHARGEBACK_PREFIX
from portal.payments.models import Payment
from portal.payments.rules import PaymentStatus
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
    items: list[remittance.Item]
    lines: list[remittance.Line]
    totals: list[remittance.Totals]


def can_close(statement: Draft) -> list[str]:
    """Why the statement may not close yet (empty: it may): its month must reconcile with
    Stripe to the cent for its creditor, or each difference carry a supervisor's explanation."""
    return review.reconciled(statement.creditor.agency_id, statement.creditor.id,
                             statement.period)


# --- the rate of a payment ------------------------------------------------------------------


def _rates(history: list[commission.Terms]) -> Callable[[str, datetime, datetime], int]:
    """The rate of a payment made `paid_at` on an account of `product` placed `placed_at`: the
    terms of each day and the rate of each (terms, product, age) worked out once, since a
    statement has many payments of one day and of one age."""
    terms_of: dict[date, commission.Terms] = {}
    known: dict[tuple[int, str, int], int] = {}

    def rate(product: str, placed_at: datetime, paid_at: datetime) -> int:
        day = paid_at.date()
        in_force = terms_of.get(day)
        if in_force is None:
            in_force = terms_of[day] = commission.terms_on(history, day)
        key = (id(in_force), product, (paid_at - placed_at).days)
        found = known.get(key)
        if found is None:
            found = known[key] = commission.rate_for(in_force, product, key[2])
        return found

    return rate


# --- the facts -----------------------------------------------------------------------------------


def _theirs(creditor_id: int, end: datetime) -> Select:
    """The creditor's card payments that succeeded before `end` and that this statement may
    have something to say about (their ids, as a subquery): those no closed statement took, and
    those refunded or charged back since the last one closed. Each statement takes every
    reversal posted before its end, so a payment a statement took and nothing reversed since is
    done with: the statement of the twenty-fourth month does not read the first month's."""
    theirs = (select(Payment.id).join(Account, Payment.account_id == Account.id)
              .where(Account.creditor_id == creditor_id,
                     Payment.status == PaymentStatus.SUCCEEDED, Payment.succeeded_at < end))
    since = db.session.scalar(select(func.max(RemittanceStatement.period_end))
                              .where(RemittanceStatement.creditor_id == creditor_id))
    if since is None:
        return theirs  # no statement yet: no payment was taken
    taken = select(RemittanceItem.id).where(RemittanceItem.payment_id == Payment.id).exists()
    reversed_since = select(LedgerEntry.id).where(
        LedgerEntry.payment_id == Payment.id, LedgerEntry.kind == EntryKind.REVERSAL,
        LedgerEntry.posted_at >= since).exists()
    return theirs.where(~taken | reversed_since)


def _accounted(payment_ids: Select) -> dict[int, tuple[int, int, int]]:
    """What closed statements took of each payment: (collected, refunded, charged back)."""
    rows = db.session.execute(
        select(RemittanceItem.payment_id, func.sum(RemittanceItem.collected_minor),
               func.sum(RemittanceItem.refunded_minor),
               func.sum(RemittanceItem.charged_back_minor))
        .where(RemittanceItem.payment_id.in_(payment_ids)).group_by(RemittanceItem.payment_id))
    return {pid: (int(c), int(r), int(b)) for pid, c, r, b in rows}


def _reversed(payment_ids: Select, end: datetime) -> dict[int, tuple[int, int]]:
    """Refunds and chargebacks of each payment posted before `end`: (refunded, charged back)."""
    is_chargeback = LedgerEntry.description.startswith(CHARGEBACK_PREFIX, autoescape=True)
    rows = db.session.execute(
        select(LedgerEntry.payment_id,
               func.sum(case((is_chargeback, 0), else_=LedgerEntry.amount_minor)),
               func.sum(case((is_chargeback, LedgerEntry.amount_minor), else_=0)))
        .where(LedgerEntry.payment_id.in_(payment_ids), LedgerEntry.kind == EntryKind.REVERSAL,
               LedgerEntry.posted_at < end)
        .group_by(LedgerEntry.payment_id))
    return {pid: (int(r), int(b)) for pid, r, b in rows}


def _card_payments(creditor_id: int, end: datetime,
                   history: list[commission.Terms]) -> list[remittance.CardPayment]:
    theirs = _theirs(creditor_id, end)
    rows = db.session.execute(
        select(Payment.id, Payment.account_id, Payment.currency, Payment.amount_minor,
               Payment.succeeded_at, Account.product, Account.placed_at)
        .join(Account, Payment.account_id == Account.id)
        .where(Payment.id.in_(theirs)).order_by(Payment.id)).all()
    accounted = _accounted(theirs)
    reversed_ = _reversed(theirs, end)
    available = settlement.available(theirs, end)
    rate = _rates(history)
    facts = []
    for payment_id, account_id, currency, amount, paid_at, product, placed_at in rows:
        collected, refunded, charged_back = accounted.get(payment_id, (0, 0, 0))
        got_refunded, got_charged_back = reversed_.get(payment_id, (0, 0))
        if collected and collected == refunded + charged_back:
            continue  # wholly given back and accounted: nothing left to say about it
        facts.append(remittance.CardPayment(
            payment_id, account_id, currency, amount, rate(product, placed_at, paid_at),
            available=payment_id not in accounted and payment_id in available,
            refunded=got_refunded, charged_back=got_charged_back, remitted=bool(collected),
            accounted_refunded=refunded, accounted_charged_back=charged_back))
    return facts


def _directs(creditor_id: int, end: datetime,
             history: list[commission.Terms]) -> list[remittance.Direct]:
    taken = select(RemittanceItem.direct_payment_id).where(
        RemittanceItem.direct_payment_id.is_not(None))
    rows = db.session.execute(
        select(DirectPayment.id, DirectPayment.account_id, DirectPayment.currency,
               DirectPayment.amount_minor, DirectPayment.paid_on, Account.product,
               Account.placed_at)
        .join(Account, DirectPayment.account_id == Account.id)
        .where(Account.creditor_id == creditor_id, DirectPayment.reported_at < end,
               DirectPayment.id.not_in(taken)).order_by(DirectPayment.id)).all()
    rate = _rates(history)
    return [remittance.Direct(direct_id, account_id, currency, amount,
                              rate(product, placed_at,
                                   datetime.combine(paid_on, datetime.min.time(), UTC)))
            for direct_id, account_id, currency, amount, paid_on, product, placed_at in rows]


def draft(creditor: Creditor, period: str) -> Draft:
    """The creditor's statement of `period` as it would close now."""
    start, end = remittance.period_bounds(period)
    history = terms.history(creditor.id)
    try:
        method = commission.terms_on(history, (end - timedelta(days=1)).date()).method
        found = remittance.items(_card_payments(creditor.id, end, history),
                                 _directs(creditor.id, end, history))
    except commission.NoTerms as missing:
        raise Refused(f"{creditor.code} has no commission terms in force on {missing}: add "
                      "them before closing a statement") from None
    lines = remittance.lines(found)
    return Draft(creditor, period, start, end, method, found, lines,
                 remittance.totals(lines, method))


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
    statement = draft(creditor, period)
    reasons = can_close(statement)
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
                              period_end=end, method=statement.method, closed_at=now,
                              closed_by=closed_by)
    db.session.add(row)
    db.session.flush()
    insert_rows(RemittanceLine.__table__, [dict(
        statement_id=row.id, account_id=line.account_id, currency=line.currency,
        collected_minor=line.collected, refunded_minor=line.refunded,
        charged_back_minor=line.charged_back, commission_minor=line.commission,
        direct_minor=line.direct, direct_commission_minor=line.direct_commission)
        for line in statement.lines])
    insert_rows(RemittanceItem.__table__, [dict(
        statement_id=row.id, payment_id=item.payment_id, direct_payment_id=item.direct_id,
        collected_minor=item.collected + item.direct, refunded_minor=item.refunded,
        charged_back_minor=item.charged_back, rate_bp=item.rate_bp)
        for item in statement.items])
    publish("remittance.closed", announcement(row, statement.totals),
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
