"""Trust accounting: per creditor and month, the money collected for it (card payments less their
refunds and chargebacks, from the ledger), what was remitted, what is still owed, and what is
overdue against the agency's remittance deadline — what a state regulator asks of a collection
agency's trust account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from portal.accounts.models import Account, Creditor, LedgerEntry
from portal.extensions import db
from portal.lenders.models import RemittanceLine, RemittanceStatement
from portal.operations import operation
from portal.reconcile.models import RemittanceTerms
from portal.reconcile.period import DEFAULT_DEADLINE, Period, RemittanceDeadline


@dataclass(frozen=True)
class TrustLine:
    """One creditor's month in one currency."""

    creditor_id: int
    creditor: str
    period: Period
    currency: str
    collected: int
    remitted: int
    due: date

    @property
    def owed(self) -> int:
        return self.collected - self.remitted

    def overdue(self, today: date) -> bool:
        return self.owed > 0 and today > self.due


def remitted(agency_id: int, since: Period) -> dict[tuple[int, str, str], int]:
    """What each month's closed remittance statement disposed of, by (creditor, month, currency),
    from `since` on, in one query: the card money it accounted less the refunds and chargebacks
    it deducted (remitted to the creditor or kept as commission, as the creditor's terms say).
    A month without a statement is absent (nothing remitted)."""
    settled = RemittanceLine.collected_minor - RemittanceLine.refunded_minor \
        - RemittanceLine.charged_back_minor
    rows = db.session.execute(
        select(RemittanceStatement.creditor_id, RemittanceStatement.period,
               RemittanceLine.currency, func.sum(settled))
        .join(RemittanceStatement, RemittanceStatement.id == RemittanceLine.statement_id)
        .join(Creditor, Creditor.id == RemittanceStatement.creditor_id)
        .where(Creditor.agency_id == agency_id, RemittanceStatement.period >= str(since))
        .group_by(RemittanceStatement.creditor_id, RemittanceStatement.period,
                  RemittanceLine.currency))
    return {(creditor, period, currency): int(total or 0)
            for creditor, period, currency, total in rows}


def deadline(agency_id: int) -> RemittanceDeadline:
    """The agency's remittance deadline (Washington's 30 days after month-end until it sets one)."""
    terms = db.session.get(RemittanceTerms, agency_id)
    return RemittanceDeadline(terms.days, terms.business_days) if terms else DEFAULT_DEADLINE


@operation
def set_deadline(agency_id: int, days: int, business_days: bool) -> RemittanceDeadline:
    """Set when the agency must pay its creditors a month's collections."""
    if not 0 < days <= 120:
        raise ValueError("days must be between 1 and 120")
    stmt = insert(RemittanceTerms).values(agency_id=agency_id, days=days,
                                          business_days=business_days)
    db.session.execute(stmt.on_conflict_do_update(
        index_elements=["agency_id"], set_={"days": days, "business_days": business_days}))
    return RemittanceDeadline(days, business_days)


def ledger(agency_id: int, months: int = 12, today: date | None = None) -> list[TrustLine]:
    """The agency's creditors' trust lines for the last `months` months, newest first."""
    today = today or datetime.now(UTC).date()
    since = Period.of(today)
    for _ in range(months - 1):
        since = since.previous
    month = func.date_trunc("month", func.timezone("UTC", LedgerEntry.posted_at))
    rows = db.session.execute(
        select(Creditor.id, Creditor.name, month, LedgerEntry.currency,
               -func.sum(LedgerEntry.amount_minor))
        .join(Account, Account.id == LedgerEntry.account_id)
        .join(Creditor, Creditor.id == Account.creditor_id)
        .where(Creditor.agency_id == agency_id, LedgerEntry.payment_id.is_not(None),
               LedgerEntry.kind.in_(("payment", "reversal")),
               LedgerEntry.posted_at >= since.start)
        .group_by(Creditor.id, Creditor.name, month, LedgerEntry.currency)
        .order_by(month.desc(), Creditor.name, LedgerEntry.currency))
    rule = deadline(agency_id)
    settled = remitted(agency_id, since)
    lines = []
    for creditor_id, name, first, currency, collected in rows:
        period = Period.of(first.date() if isinstance(first, datetime) else first)
        lines.append(TrustLine(creditor_id, name, period, currency, int(collected or 0),
                               settled.get((creditor_id, str(period), currency), 0),
                               rule.due(period)))
    return lines
