"""A creditor's plan policy, and the decision on a proposal with its reasons shown. Pure.

Outcomes: approved (within the creditor's rules), countered (an offer the borrower can accept in
one tap), referred (a person decides: hardship, or anything the rules cannot settle), declined
(with the reason). A person can always be asked to review an automatic decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    #: Monthly installments until the balance is paid.
    INSTALLMENTS = "installments"
    #: A one-time payment of less than the balance, accepted as settling it.
    SETTLEMENT = "settlement"
    #: The borrower is in hardship: a pause, or a reduced plan.
    HARDSHIP = "hardship"


class Outcome(StrEnum):
    APPROVED = "approved"
    COUNTERED = "countered"
    REFERRED = "referred"
    DECLINED = "declined"


@dataclass(frozen=True)
class SettlementFloor:
    """From this age of debt (days since charge-off), a settlement of at least `percent` of the
    balance is accepted."""

    min_age_days: int
    percent: int


@dataclass(frozen=True)
class PlanPolicy:
    """A creditor's rules for plans (amounts in minor units, percentages whole)."""

    min_monthly: int = 2500
    min_monthly_percent: int = 2  # of the balance
    max_months: int = 24
    settlement_floors: tuple[SettlementFloor, ...] = (
        SettlementFloor(0, 80), SettlementFloor(365, 65), SettlementFloor(730, 50))
    #: How far below the floor an offer may be and still get a counter-offer (else declined).
    counter_band_percent: int = 15
    hardship_min_monthly: int = 500
    hardship_max_months: int = 60
    hardship_max_pause_days: int = 90
    missed_extend_plan: bool = False
    grace_days: int = 10

    def minimum_monthly(self, balance: int) -> int:
        return min(balance, max(self.min_monthly, -(-balance * self.min_monthly_percent // 100)))

    def settlement_floor(self, balance: int, age_days: int) -> int:
        reached = [f for f in self.settlement_floors if age_days >= f.min_age_days]
        percent = max(reached, key=lambda f: f.min_age_days).percent if reached else 100
        return -(-balance * percent // 100)


@dataclass(frozen=True)
class Proposal:
    kind: Kind
    balance: int
    monthly: int | None = None  # installments / reduced hardship plan
    months: int | None = None
    settlement: int | None = None
    pause_days: int | None = None  # hardship: a pause before paying
    affordable: int | None = None  # from the budget check, if the borrower did one


@dataclass(frozen=True)
class Reason:
    """A reason the borrower reads: a stable code and the figures it names."""

    code: str
    figures: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    #: A counter-offer: the plan the borrower can accept in one tap.
    counter: Proposal | None = None


def _monthly_of(p: Proposal) -> int:
    if p.monthly:
        return p.monthly
    return -(-p.balance // p.months)


def decide(policy: PlanPolicy, p: Proposal, debt_age_days: int) -> Decision:
    """Approve, counter, refer or decline a proposal, with the reasons."""
    if p.balance <= 0:
        return Decision(Outcome.DECLINED, (Reason("nothing_owed"),))
    if p.kind == Kind.HARDSHIP:
        return _hardship(policy, p)
    if p.kind == Kind.SETTLEMENT:
        return _settlement(policy, p, debt_age_days)
    return _installments(policy, p)


def _installments(policy: PlanPolicy, p: Proposal) -> Decision:
    if not p.monthly and not p.months:
        return Decision(Outcome.DECLINED, (Reason("incomplete"),))
    monthly = min(_monthly_of(p), p.balance)
    months = -(-p.balance // monthly)
    minimum = policy.minimum_monthly(p.balance)
    fits_months = months <= policy.max_months
    fits_amount = monthly >= minimum
    if fits_months and fits_amount:
        return Decision(Outcome.APPROVED, (
            Reason("within_policy", {"monthly": monthly, "months": months,
                                     "minimum": minimum, "max_months": policy.max_months}),))
    # The smallest plan the rules allow: at least the minimum, done within the longest term.
    allowed = max(minimum, -(-p.balance // policy.max_months))
    reasons = []
    if not fits_amount:
        reasons.append(Reason("below_minimum", {"monthly": monthly, "minimum": minimum}))
    if not fits_months:
        reasons.append(Reason("too_long", {"months": months, "max_months": policy.max_months}))
    if p.affordable is not None and p.affordable < allowed:
        # The budget says the borrower cannot pay what the rules need: a person looks at it.
        reasons.append(Reason("budget_below_policy", {"affordable": p.affordable,
                                                      "needed": allowed}))
        return Decision(Outcome.REFERRED, tuple(reasons))
    counter = Proposal(Kind.INSTALLMENTS, p.balance, monthly=allowed,
                       months=-(-p.balance // allowed))
    reasons.append(Reason("counter", {"monthly": allowed, "months": counter.months}))
    return Decision(Outcome.COUNTERED, tuple(reasons), counter)


def _settlement(policy: PlanPolicy, p: Proposal, age_days: int) -> Decision:
    offer = p.settlement or 0
    if offer <= 0:
        return Decision(Outcome.DECLINED, (Reason("incomplete"),))
    if offer >= p.balance:
        return Decision(Outcome.APPROVED, (Reason("full_balance", {"offer": offer}),))
    floor = policy.settlement_floor(p.balance, age_days)
    if offer >= floor:
        return Decision(Outcome.APPROVED, (
            Reason("settlement_within_policy", {"offer": offer, "floor": floor,
                                                "saving": p.balance - offer}),))
    if offer >= floor - p.balance * policy.counter_band_percent // 100:
        counter = Proposal(Kind.SETTLEMENT, p.balance, settlement=floor)
        return Decision(Outcome.COUNTERED, (
            Reason("settlement_below_floor", {"offer": offer, "floor": floor}),
            Reason("counter_settlement", {"settlement": floor})), counter)
    return Decision(Outcome.DECLINED, (
        Reason("settlement_too_low", {"offer": offer, "floor": floor}),))


def _hardship(policy: PlanPolicy, p: Proposal) -> Decision:
    """Hardship is always decided by a person (CONC 7.3: forbearance fitted to the case); the
    rules only say whether the request is within what the creditor can offer at all."""
    reasons = [Reason("hardship_review")]
    if p.pause_days and p.pause_days > policy.hardship_max_pause_days:
        reasons.append(Reason("pause_longer_than_usual", {
            "pause_days": p.pause_days, "max_days": policy.hardship_max_pause_days}))
    if p.monthly and p.monthly < policy.hardship_min_monthly:
        reasons.append(Reason("below_hardship_minimum", {
            "monthly": p.monthly, "minimum": policy.hardship_min_monthly}))
    return Decision(Outcome.REFERRED, tuple(reasons))


def parse_floors(text: str) -> list[dict] | None:
    """'0:80,365:65' as typed on the policy page → settlement floors, or None if malformed."""
    floors = []
    for part in (text or "").split(","):
        age, _sep, percent = part.strip().partition(":")
        if not (age.strip().isdigit() and percent.strip().isdigit()):
            return None
        floors.append({"min_age_days": int(age), "percent": int(percent)})
    return floors


def format_floors(floors: tuple[SettlementFloor, ...]) -> str:
    return ",".join(f"{f.min_age_days}:{f.percent}" for f in floors)
