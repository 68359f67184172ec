"""Reconciliation's pure rules, as tables: months, remittance deadlines, and matching."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.reconcile.matching import Ours, Recorded, Stripe, match
from portal.reconcile.period import ILLINOIS, WASHINGTON, Period, RemittanceDeadline


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11", Period(2026, 11)), (" 2026-01 ", Period(2026, 1)), ("2026-12", Period(2026, 12)),
])
def test_a_month_is_read(text, expected):
    assert Period.parse(text) == expected
    assert str(expected) == text.strip()


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-11", "", "1999-05",
                                  "2026-11-01", "november"])
def test_anything_else_is_not_a_month(text):
    with pytest.raises(ValueError):
        Period.parse(text)


def test_a_month_runs_from_its_first_instant_to_the_next_months():
    december = Period(2026, 12)
    assert (december.start, december.end) == (datetime(2026, 12, 1, tzinfo=UTC),
                                               datetime(2027, 1, 1, tzinfo=UTC))
    assert (december.previous, december.next, december.last_day) == (
        Period(2026, 11), Period(2027, 1), date(2026, 12, 31))
    assert Period(2026, 1).previous == Period(2025, 12)


@pytest.mark.parametrize(("rule", "period", "due"), [
    # Washington: 30 days after the month's end.
    (WASHINGTON, Period(2026, 11), date(2026, 12, 30)),
    (WASHINGTON, Period(2026, 2), date(2026, 3, 30)),
    # Illinois: 5 business days; November 2026 ends on a Monday.
    (ILLINOIS, Period(2026, 11), date(2026, 12, 7)),
    # October 2026 ends on a Saturday: Monday is the first business day.
    (ILLINOIS, Period(2026, 10), date(2026, 11, 6)),
    (RemittanceDeadline(1, business_days=True), Period(2026, 10), date(2026, 11, 2)),
])
def test_the_remittance_deadline(rule, period, due):
    assert rule.due(period) == due


START, END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
NOV_5 = int(datetime(2026, 11, 5, tzinfo=UTC).timestamp())


def _ours(id_: int, amount: int = 5000, **over) -> Ours:
    values = dict(id=id_, charge_id=f"ch_{id_}", intent_id=f"pi_{id_}", amount=amount,
                  currency="USD", status="succeeded", refunded=0, charged_back=0,
                  succeeded_at=datetime(2026, 11, 5, tzinfo=UTC), creditor_id=7, agency_id=1)
    values.update(over)
    return Ours(**values)


def _txn(id_: str, source: str, amount: int, category: str = "charge",
         type_: str | None = None) -> dict:
    return {"id": id_, "amount": amount, "fee": 0, "net": amount, "currency": "usd",
            "created": NOV_5, "available_on": NOV_5, "status": "available",
            "type": type_ or category, "reporting_category": category, "source": source}


def _outcomes(stripe: Stripe, payments, recorded=()) -> dict[str, tuple]:
    return {i.key: (i.outcome, i.stripe_minor, i.ours_minor)
            for i in match(stripe, payments, recorded, 1, START, END)}


@pytest.mark.parametrize(("stripe", "payments", "recorded", "expected"), [
    # Found by charge id.
    (Stripe([_txn("t1", "ch_1", 5000)]), [_ours(1)], [],
     {"charge:ch_1": ("matched", 5000, 5000)}),
    # Found by the charge's PaymentIntent when our charge id is not Stripe's.
    (Stripe([_txn("t1", "ch_x", 5000)], charges={"ch_x": {"payment_intent": "pi_1"}}),
     [_ours(1)], [], {"charge:ch_x": ("matched", 5000, 5000)}),
    # A cent apart.
    (Stripe([_txn("t1", "ch_1", 5001)]), [_ours(1)], [],
     {"charge:ch_1": ("difference", 5001, 5000)}),
    # Another agency's payment: not on this agency's run, and not "at Stripe only" either.
    (Stripe([_txn("t1", "ch_1", 5000)]), [_ours(1, agency_id=2)], [], {}),
    # No payment of ours.
    (Stripe([_txn("t1", "ch_9", 700)]), [], [], {"charge:ch_9": ("stripe_only", 700, None)}),
    # Ours, never settled; settled in an earlier run (kept), it is not reported again.
    (Stripe(), [_ours(1)], [], {"payment:1": ("ours_only", None, 5000)}),
    (Stripe(), [_ours(1)], [Recorded("t0", "charge", 5000, 1)], {}),
    # A refund found through the refund's charge; an earlier refund kept counts to date.
    (Stripe([_txn("t2", "re_1", -1000, "refund")], refunds={"re_1": {"charge": "ch_1"}}),
     [_ours(1, refunded=1500)], [Recorded("t0", "refund", -500, 1)],
     {"refunds:1": ("matched", -1500, -1500), "payment:1": ("ours_only", None, 5000)}),
    # We refunded; Stripe shows no refund.
    (Stripe([_txn("t1", "ch_1", 5000)]), [_ours(1, refunded=1000)], [],
     {"charge:ch_1": ("matched", 5000, 5000), "refunds:1": ("difference", 0, -1000)}),
    # Classified by reporting_category: a dispute's `type` is `adjustment`.
    (Stripe([_txn("t1", "ch_1", 5000), _txn("t3", "du_1", -5000, "dispute", "adjustment")],
            disputes={"du_1": {"charge": "ch_1"}}),
     [_ours(1, charged_back=5000)], [],
     {"charge:ch_1": ("matched", 5000, 5000), "chargebacks:1": ("matched", -5000, -5000)}),
    # A won dispute gave the money back at Stripe; ours still counts it charged back.
    (Stripe([_txn("t4", "du_1", 5000, "dispute_reversal", "adjustment")],
            disputes={"du_1": {"charge": "ch_1"}}),
     [_ours(1, charged_back=5000)], [Recorded("t3", "dispute", -5000, 1),
                                     Recorded("t1", "charge", 5000, 1)],
     {"chargebacks:1": ("difference", 0, -5000)}),
    # A payout is matched with its own transactions' net (its own transaction left out).
    (Stripe(payouts=[({"id": "po_1", "amount": 4000, "currency": "usd", "created": NOV_5},
                      [_txn("t1", "ch_1", 5000), _txn("t5", "re_1", -1000, "refund"),
                       _txn("t6", "po_1", -4000, "payout")])]),
     [], [], {"payout:po_1": ("matched", 4000, 4000)}),
])
def test_matching(stripe, payments, recorded, expected):
    assert _outcomes(stripe, payments, recorded) == expected
