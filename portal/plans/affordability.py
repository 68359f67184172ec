"""What a borrower can afford, from a budget in the UK Standard Financial Statement's categories,
with the arithmetic shown. Pure; amounts are monthly, in minor units."""

from __future__ import annotations

from dataclasses import dataclass

#: The Standard Financial Statement's groups, in its order.
CATEGORIES = ("income", "fixed_costs", "flexible_costs", "other_debts")
#: Of what is left each month, how much we suggest offering: the rest is a cushion for the
#: months that cost more (the SFS guidance warns against plans that use every penny).
SUGGESTED_SHARE_PERCENT = 90


@dataclass(frozen=True)
class Budget:
    income: int
    fixed_costs: int
    flexible_costs: int
    other_debts: int

    @property
    def essential(self) -> int:
        return self.fixed_costs + self.flexible_costs

    @property
    def available(self) -> int:
        """Income less essential costs and payments to other creditors."""
        return self.income - self.essential - self.other_debts


@dataclass(frozen=True)
class Suggestion:
    available: int
    monthly: int | None  # None: nothing is affordable now
    months: int | None


def suggest(budget: Budget, balance: int, max_months: int, minimum: int = 0) -> Suggestion:
    """A monthly amount the budget can carry, and how many months it takes to clear the balance
    (never longer than the creditor allows: then the shortest plan that fits, if affordable)."""
    available = budget.available
    if available <= 0 or balance <= 0:
        return Suggestion(available, None, None)
    monthly = max(available * SUGGESTED_SHARE_PERCENT // 100, 1)
    monthly = min(monthly, balance)
    needed = -(-balance // max_months)  # the smallest monthly that clears it in time
    if monthly < needed:
        if needed <= available:
            monthly = needed
        else:
            return Suggestion(available, monthly if monthly >= minimum else None,
                              -(-balance // monthly) if monthly >= minimum else None)
    if monthly < minimum:
        return Suggestion(available, None, None)
    return Suggestion(available, monthly, -(-balance // monthly))
