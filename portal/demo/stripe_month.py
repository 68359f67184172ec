"""The Stripe month that the demo's recorded facts stand for, for the demo seed and the tests that
set facts down by hand: the charges' balance transactions as kept, and a refund or dispute (with
its balance transaction) for each reversal in the ledger — what Stripe's lists would return if it
had seen exactly what we recorded. Never read against real Stripe: there, Stripe is asked."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Account, Creditor, EntryKind, LedgerEntry
from portal.extensions import db
from portal.payments.applying import CHARGEBACK_PREFIX
from portal.payments.models import BalanceTransaction, Payment
from portal.reconcile import service
from portal.reconcile.matching import Stripe
from portal.reconcile.period import Period


def _txn(txn_id: str, category: str, source: str, amount: int, currency: str, at) -> dict:
    seconds = int(at.timestamp())
    return {"id": txn_id, "object": "balance_transaction", "type": category,
            "reporting_category": category, "source": source, "amount": amount, "fee": 0,
            "net": amount, "currency": currency.lower(), "status": "available",
            "created": seconds, "available_on": seconds}


def as_recorded(agency_id: int, period: Period) -> Stripe:
    """The agency's month at Stripe as we recorded it (in the caller's transaction)."""
    found = Stripe()
    ours = (Account.creditor_id == Creditor.id) & (Creditor.agency_id == agency_id)
    for kept in db.session.scalars(
            select(BalanceTransaction).join(Payment, Payment.id == BalanceTransaction.payment_id)
            .join(Account, Account.id == Payment.account_id).join(Creditor, ours)
            .where(BalanceTransaction.reporting_category == "charge",
                   BalanceTransaction.created_at >= period.start,
                   BalanceTransaction.created_at < period.end)
            .order_by(BalanceTransaction.id)):
        found.balance_transactions.append({
            **_txn(kept.id, "charge", kept.source_id, kept.amount_minor, kept.currency,
                   kept.created_at),
            "fee": kept.fee_minor, "net": kept.net_minor, "status": kept.status,
            "available_on": int(kept.available_on.timestamp())})
    for entry, payment in db.session.execute(
            select(LedgerEntry, Payment).join(Payment, Payment.id == LedgerEntry.payment_id)
            .join(Account, Account.id == Payment.account_id).join(Creditor, ours)
            .where(LedgerEntry.kind == EntryKind.REVERSAL,
                   LedgerEntry.posted_at >= period.start, LedgerEntry.posted_at < period.end)
            .order_by(LedgerEntry.id)):
        disputed = entry.description.startswith(CHARGEBACK_PREFIX)
        source = f"{'dp' if disputed else 're'}_recorded_{entry.id}"
        reversal = {"id": source, "charge": payment.charge_id,
                    "payment_intent": payment.payment_intent_id}
        (found.disputes if disputed else found.refunds)[source] = reversal
        found.balance_transactions.append(_txn(
            f"txn_recorded_{entry.id}", "dispute" if disputed else "refund", source,
            -entry.amount_minor, entry.currency, entry.posted_at))
    return found


def reconcile(agency_id: int, period: Period | str, now) -> service.RunResult:
    """Reconcile the agency's month against `as_recorded` (in the caller's transaction)."""
    month = Period.parse(period) if isinstance(period, str) else period
    return service.store_in_transaction(agency_id, month, as_recorded(agency_id, month), now)
