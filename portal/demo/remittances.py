"""The demo's remittance history for Northwind (`demo seed`, not the tests' seed): a card payment
two months back, remitted on that month's closed statement and refunded last month; and a payment
last month refunded in full. Both months are reconciled against the Stripe those facts stand for
(localstripe never saw them: `make run` starts it empty) and both statements closed, so the
lender downloads last month's, with its deduction. Every refund is whole, so the balances stay as
CONTRACT.md says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from portal.accounts.models import Account, Creditor
from portal.cases.service import Actor
from portal.demo import stripe_month
from portal.extensions import db
from portal.lenders import remittance, statements
from portal.lenders.models import RemittanceStatement
from portal.operations import operation
from portal.payments import applying, settlement
from portal.payments.gateway import IntentResult
from portal.payments.models import Payment

ACTOR = Actor.system("demo-seed")


def paid_by_card(reference: str, amount_minor: int, at: datetime, tag: str) -> Payment:
    """A card payment that succeeded at `at`, its charge available two days later at Stripe."""
    account = db.session.scalar(select(Account).where(Account.reference == reference))
    payment = Payment(borrower_id=account.borrower_id, account_id=account.id,
                      amount_minor=amount_minor, currency=account.currency, choice="other",
                      status="pending", payment_intent_id=f"pi_demo_{tag}")
    db.session.add(payment)
    db.session.flush()
    applying.apply_intent(IntentResult(
        id=payment.payment_intent_id, status="succeeded", client_secret=None,
        charge_id=f"ch_demo_{tag}", amount=amount_minor, currency=account.currency,
        payment_id=str(payment.public_id), failure_message=None), ACTOR, at)
    settlement.record({"id": f"txn_demo_{tag}", "object": "balance_transaction",
                       "type": "charge", "reporting_category": "charge",
                       "source": payment.charge_id, "amount": amount_minor, "fee": 0,
                       "net": amount_minor, "currency": account.currency.lower(),
                       "status": "available", "created": int(at.timestamp()),
                       "available_on": int((at + timedelta(days=2)).timestamp())}, payment.id)
    return payment


def _refunded(payment: Payment, at: datetime) -> None:
    applying.apply_refund({"id": payment.charge_id, "payment_intent": payment.payment_intent_id,
                           "amount_refunded": payment.amount_minor}, ACTOR, at)


@operation
def seed_remittances(now: datetime | None = None) -> list[str]:
    """Northwind's history, once (nothing when it has a statement): returns the periods closed."""
    now = now or datetime.now(UTC)
    creditor = db.session.scalar(select(Creditor).where(Creditor.code == "NWB"))
    if creditor is None or db.session.scalar(select(RemittanceStatement.id).where(
            RemittanceStatement.creditor_id == creditor.id)):
        return []
    last = remittance.previous_period(remittance.period_of(now))
    before = remittance.previous_period(last)
    start_before, _ = remittance.period_bounds(before)
    start_last, _ = remittance.period_bounds(last)
    first = paid_by_card("NWB-1002", 10_000, start_before + timedelta(days=9, hours=15), "1")
    stripe_month.reconcile(creditor.agency_id, before, now)
    statements.close_in_transaction("NWB", before, "demo-seed", now)
    _refunded(first, start_last + timedelta(days=5, hours=10))
    second = paid_by_card("NWB-1001", 5_000, start_last + timedelta(days=14, hours=17), "2")
    _refunded(second, start_last + timedelta(days=19, hours=9))
    stripe_month.reconcile(creditor.agency_id, last, now)
    statements.close_in_transaction("NWB", last, "demo-seed", now)
    return [before, last]

