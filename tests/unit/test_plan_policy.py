"""The creditor's plan policy decides a proposal and shows why: a table of cases."""

from __future__ import annotations

import pytest

from portal.plans.affordability import Budget, suggest
from portal.plans.policy import Kind, Outcome, PlanPolicy, Proposal, decide

POLICY = PlanPolicy()  # USD 25 or 2% a month at least, 24 months at most; floors 80/65/50%
BALANCE = 83000


def codes(decision):
    return [r.code for r in decision.reasons]


@pytest.mark.parametrize(("proposal", "age", "outcome", "reason_codes", "counter"), [
    # Installments
    (Proposal(Kind.INSTALLMENTS, BALANCE, months=12), 0, "approved", ["within_policy"], None),
    (Proposal(Kind.INSTALLMENTS, BALANCE, monthly=5000), 0, "approved", ["within_policy"], None),
    (Proposal(Kind.INSTALLMENTS, BALANCE, months=24), 0, "approved", ["within_policy"], None),
    (Proposal(Kind.INSTALLMENTS, BALANCE, months=36), 0, "countered",
     ["below_minimum", "too_long", "counter"], (3459, 24)),
    (Proposal(Kind.INSTALLMENTS, 200000, months=30), 0, "countered",
     ["too_long", "counter"], (8334, 24)),
    (Proposal(Kind.INSTALLMENTS, BALANCE, monthly=1000), 0, "countered",
     ["below_minimum", "too_long", "counter"], (3459, 24)),
    (Proposal(Kind.INSTALLMENTS, 100000, monthly=1500), 0, "countered",
     ["below_minimum", "too_long", "counter"], (4167, 24)),
    (Proposal(Kind.INSTALLMENTS, BALANCE, monthly=1000, affordable=1200), 0, "referred",
     ["below_minimum", "too_long", "budget_below_policy"], None),
    (Proposal(Kind.INSTALLMENTS, 2000, monthly=2000), 0, "approved", ["within_policy"], None),
    (Proposal(Kind.INSTALLMENTS, BALANCE), 0, "declined", ["incomplete"], None),
    (Proposal(Kind.INSTALLMENTS, 0, months=3), 0, "declined", ["nothing_owed"], None),
    # Settlements, by age of debt
    (Proposal(Kind.SETTLEMENT, BALANCE, settlement=66400), 0, "approved",
     ["settlement_within_policy"], None),
    (Proposal(Kind.SETTLEMENT, BALANCE, settlement=66399), 0, "countered",
     ["settlement_below_floor", "counter_settlement"], 66400),
    (Proposal(Kind.SETTLEMENT, BALANCE, settlement=54000), 0, "countered",
     ["settlement_below_floor", "counter_settlement"], 66400),
    (Proposal(Kind.SETTLEMENT, BALANCE, settlement=40000), 0, "declined",
     ["settlement_too_low"], None),
    (Proposal(Kind.SETTLEMENT, BALANCE, settlement=54000), 400, "approved",
     ["settlement_within_policy"], None),
    (Proposal(Kind.SETTLEMENT, BALANCE, settlement=41500), 800, "approved",
     ["settlement_within_policy"], None),
    (Proposal(Kind.SETTLEMENT, BALANCE, settlement=BALANCE), 0, "approved", ["full_balance"],
     None),
    # Hardship: always a person
    (Proposal(Kind.HARDSHIP, BALANCE, pause_days=60), 0, "referred", ["hardship_review"], None),
    (Proposal(Kind.HARDSHIP, BALANCE, pause_days=120), 0, "referred",
     ["hardship_review", "pause_longer_than_usual"], None),
    (Proposal(Kind.HARDSHIP, BALANCE, monthly=300), 0, "referred",
     ["hardship_review", "below_hardship_minimum"], None),
])
def test_decisions(proposal, age, outcome, reason_codes, counter):
    decision = decide(POLICY, proposal, age)
    assert decision.outcome == Outcome(outcome)
    assert codes(decision) == reason_codes
    if counter is None:
        assert decision.counter is None
    elif isinstance(counter, tuple):
        assert (decision.counter.monthly, decision.counter.months) == counter
        # The counter-offer is itself within policy.
        assert decide(POLICY, decision.counter, age).outcome == Outcome.APPROVED
    else:
        assert decision.counter.settlement == counter
        assert decide(POLICY, decision.counter, age).outcome == Outcome.APPROVED


@pytest.mark.parametrize(("budget", "balance", "available", "monthly", "months"), [
    # income 2,400 − essential 2,050 = 350 available; 90% is 315 a month → 3 months for 830
    (Budget(240000, 150000, 55000, 0), 83000, 35000, 31500, 3),
    (Budget(240000, 150000, 55000, 20000), 83000, 15000, 13500, 7),
    (Budget(200000, 150000, 55000, 0), 83000, -5000, None, None),
    # The smallest plan within 24 months is 34.59; the budget carries it.
    (Budget(180000, 150000, 26500, 0), 83000, 3500, 3459, 24),
    # Less than the creditor's minimum: nothing to suggest, a person will look.
    (Budget(180000, 150000, 29000, 0), 83000, 1000, None, None),
])
def test_the_budget_check_shows_what_is_affordable(budget, balance, available, monthly, months):
    s = suggest(budget, balance, POLICY.max_months, POLICY.minimum_monthly(balance))
    assert (s.available, s.monthly, s.months) == (available, monthly, months)
