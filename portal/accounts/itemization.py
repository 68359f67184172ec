"""Regulation F itemization (12 CFR 1006.34(c)(2)): from the itemization date to today. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from portal.money import Money

GROUPS = ("itemization", "interest", "fee", "payments_and_credits")
_GROUP_OF_KIND = {
    "itemization": "itemization",
    "interest": "interest",
    "fee": "fee",
    "payment": "payments_and_credits",
    "credit": "payments_and_credits",
    # A creditor's change to a placed balance, netted with payments and credits.
    "adjustment": "payments_and_credits",
}


@dataclass(frozen=True)
class Posting:
    """What the itemization needs of a ledger entry; reversals name the kind they reverse."""

    kind: str
    amount: Money
    reverses_kind: str | None = None


@dataclass(frozen=True)
class Itemization:
    """Amount on the itemization date, + interest, + fees, − payments and credits, = balance."""

    on_itemization_date: Money
    interest: Money
    fees: Money
    payments_and_credits: Money  # shown as a positive amount subtracted
    current_balance: Money


def itemize(postings: list[Posting], currency: str) -> Itemization:
    sums = {g: Money.zero(currency) for g in GROUPS}
    for p in postings:
        kind = p.reverses_kind if p.kind == "reversal" else p.kind
        if kind not in _GROUP_OF_KIND:
            raise ValueError(f"cannot itemize a {p.kind} of a {p.reverses_kind}")
        sums[_GROUP_OF_KIND[kind]] += p.amount
    balance = sums["itemization"] + sums["interest"] + sums["fee"] + sums["payments_and_credits"]
    return Itemization(
        on_itemization_date=sums["itemization"],
        interest=sums["interest"],
        fees=sums["fee"],
        payments_and_credits=-sums["payments_and_credits"],
        current_balance=balance,
    )
