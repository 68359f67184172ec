"""Stripe's balance transactions kept once by id, and which payments' money is available."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from portal.extensions import db as database
from portal.payments import settlement
from portal.payments.models import BalanceTransaction

NOV_1 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
NOV_3 = int(datetime(2026, 11, 3, tzinfo=UTC).timestamp())


def _txn(id_: str, source: str, **over) -> dict:
    # Shaped as Stripe documents the balance transaction object.
    txn = {"id": id_, "object": "balance_transaction", "amount": 5000, "fee": 175, "net": 4825,
           "currency": "usd", "created": NOV_1, "available_on": NOV_3, "status": "pending",
           "type": "charge", "reporting_category": "charge", "source": source}
    txn.update(over)
    return txn


def test_a_transaction_is_kept_once_and_a_later_report_only_moves_status_and_payout(
        db, make_payment):
    payment = make_payment("NWB-1001", 5000, "succeeded")
    db.run(settlement.record, _txn("txn_1", "ch_1"), payment.id)
    db.run(settlement.record, _txn("txn_1", "ch_1", status="available", payout="po_1",
                                   amount=1), None)
    (kept,) = db.scalars(select(BalanceTransaction))
    assert (kept.amount_minor, kept.fee_minor, kept.net_minor, kept.currency) == (
        5000, 175, 4825, "USD")
    assert (kept.status, kept.payout_id, kept.payment_id) == ("available", "po_1", payment.id)


def test_money_is_available_to_remit_only_from_the_charges_available_date(db, make_payment):
    paid = make_payment("NWB-1001", 5000, "succeeded")
    waiting = make_payment("NWB-1001", 2000, "succeeded")
    db.run(settlement.record, _txn("txn_a", "ch_a"), paid.id)
    db.run(settlement.record, _txn("txn_b", "ch_b", available_on=NOV_3 + 86400), waiting.id)
    db.run(settlement.record, _txn("txn_r", {"id": "re_a"}, type="refund",
                                   reporting_category="refund", amount=-5000, net=-5000,
                                   fee=0), paid.id)
    ids = [paid.id, waiting.id]
    on_3rd = datetime.fromtimestamp(NOV_3, UTC)
    assert db.run(lambda: settlement.available(ids, on_3rd)) == {paid.id}
    assert db.run(lambda: settlement.available(ids, on_3rd.replace(day=4))) == set(ids)
    assert db.run(lambda: settlement.available([], on_3rd)) == set()
    refund = db.run(lambda: database.session.get(BalanceTransaction, "txn_r"))
    assert refund.source_id == "re_a"
