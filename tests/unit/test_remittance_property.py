"""Statements over random periods of payments, refunds and chargebacks: whatever happens and in
whatever order, what the closed statements and their later deductions say adds up to what Stripe
settled, each payment is remitted once and only once its money is available, and a reversal of a
remitted payment lands on a later statement as a deduction (closed ones never change)."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.lenders.commission import exact
from portal.lenders.remittance import CardPayment, items, lines, totals

PERIODS = 6


@st.composite
def histories(draw):
    """Payments (paid in a period, available in a later one or never) and their reversals."""
    payments = []
    reversals = []  # (payment index, period, kind, amount)
    for index in range(draw(st.integers(0, 12))):
        paid = draw(st.integers(0, PERIODS - 1))
        available = draw(st.one_of(st.none(), st.integers(paid, PERIODS + 1)))
        amount = draw(st.integers(1, 500_000))
        payments.append({"id": index + 1, "account": draw(st.integers(1, 4)),
                         "currency": draw(st.sampled_from(["USD", "EUR"])), "amount": amount,
                         "rate": draw(st.integers(0, 5000)), "paid": paid,
                         "available": available})
        room = amount
        for _ in range(draw(st.integers(0, 3))):
            if room == 0:
                break
            part = draw(st.integers(1, room))
            room -= part
            reversals.append((index, draw(st.integers(paid, PERIODS - 1)),
                              draw(st.sampled_from(["refund", "chargeback"])), part))
    method = draw(st.sampled_from(["net", "gross", "combined"]))
    return payments, reversals, method


def _close_every_period(payments, reversals, method):
    """Close periods 0..PERIODS-1 in turn, as statements.py does: the facts as of each end."""
    accounted = defaultdict(lambda: [0, 0, 0])  # payment id -> collected, refunded, charged back
    statements = []
    for period in range(PERIODS):
        facts = []
        for index, p in enumerate(payments):
            if p["paid"] > period:
                continue
            got = [0, 0]
            for r_index, at, kind, amount in reversals:
                if r_index == index and at <= period:
                    got[kind == "chargeback"] += amount
            taken = accounted[p["id"]]
            facts.append(CardPayment(
                p["id"], p["account"], p["currency"], p["amount"], p["rate"],
                available=p["available"] is not None and p["available"] <= period,
                refunded=got[0], charged_back=got[1], remitted=bool(taken[0]),
                accounted_refunded=taken[1], accounted_charged_back=taken[2]))
        found = items(facts)
        for item in found:
            taken = accounted[item.payment_id]
            taken[0] += item.collected
            taken[1] += item.refunded
            taken[2] += item.charged_back
        drawn = lines(found)
        statements.append((period, found, drawn, totals(drawn, method)))
    return statements


@settings(max_examples=150, deadline=None)
@given(histories())
def test_statements_and_their_deductions_sum_to_what_stripe_settled(history):
    payments, reversals, method = history
    statements = _close_every_period(payments, reversals, method)

    settled = defaultdict(int)  # what Stripe settled and reports available, per currency
    for index, p in enumerate(payments):
        if p["available"] is not None and p["available"] < PERIODS:
            given_back = sum(a for i, _at, _k, a in reversals if i == index)
            settled[p["currency"]] += p["amount"] - given_back
    on_statements = defaultdict(int)
    for _period, _found, _lines, statement_totals in statements:
        for t in statement_totals:
            on_statements[t.currency] += t.collected - t.refunded - t.charged_back
    assert {c: v for c, v in on_statements.items() if v} == {c: v for c, v in settled.items()
                                                               if v}


@settings(max_examples=100, deadline=None)
@given(histories())
def test_each_payment_is_remitted_once_and_only_once_available(history):
    payments, reversals, method = history
    statements = _close_every_period(payments, reversals, method)
    remitted_in = defaultdict(list)
    for period, found, _lines, _totals in statements:
        for item in found:
            if item.collected:
                remitted_in[item.payment_id].append(period)
    for p in payments:
        if p["available"] is None or p["available"] >= PERIODS:
            assert p["id"] not in remitted_in  # held: Stripe never said its money is there
        else:
            assert remitted_in[p["id"]] == [p["available"]]


@settings(max_examples=100, deadline=None)
@given(histories())
def test_a_reversal_is_accounted_on_the_first_statement_after_it_and_never_twice(history):
    payments, reversals, method = history
    statements = _close_every_period(payments, reversals, method)
    for index, p in enumerate(payments):
        if p["available"] is None or p["available"] >= PERIODS:
            continue
        for kind in ("refund", "chargeback"):
            by_period = defaultdict(int)
            for i, at, k, amount in reversals:
                if i == index and k == kind:
                    by_period[max(at, p["available"])] += amount  # held ones wait for it
            accounted = defaultdict(int)
            for period, found, _lines, _totals in statements:
                for item in found:
                    if item.payment_id == p["id"]:
                        accounted[period] += (item.refunded if kind == "refund"
                                              else item.charged_back)
            assert {k: v for k, v in accounted.items() if v} == dict(by_period)


@settings(max_examples=100, deadline=None)
@given(histories())
def test_commission_is_within_half_a_cent_a_line_and_due_plus_commission_is_the_money(history):
    payments, reversals, method = history
    for _period, found, drawn, statement_totals in _close_every_period(payments, reversals,
                                                                       method):
        for line in drawn:
            exact_commission = sum((exact(i.collected - i.refunded - i.charged_back, i.rate_bp)
                                    for i in found if i.account_id == line.account_id
                                    and i.currency == line.currency), Fraction(0))
            assert abs(line.commission - exact_commission) <= Fraction(1, 2)
        for t in statement_totals:
            money = t.collected - t.refunded - t.charged_back
            withheld = {"net": t.commission, "gross": 0, "combined": t.commission}[method]
            assert t.due == money - withheld
            assert t.invoiced == {"net": 0, "gross": t.commission,
                                  "combined": 0}[method]  # no direct payments here
