"""What a remittance statement holds, as pure rules over plain facts: which money goes on it,
what it deducts, the commission and the net due. No database (lenders/statements.py gathers the
facts); the property test (tests/unit/test_remittance_property.py) runs it over random periods.

- A card payment goes on the first statement whose period ends after Stripe reports its charge
  available (`available`), whole (`collected`), with the refunds and chargebacks it had by then.
- A refund or chargeback of a payment already remitted on a closed statement goes on the next
  statement as a deduction: never a change to the closed one.
- A payment still held (not available) carries nothing yet, its reversals neither.
- A direct payment (reported by the lender) goes on the next statement for its commission only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from portal.lenders.commission import basis_half_even


class BadPeriod(ValueError):
    """Not a period written YYYY-MM."""


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """A monthly period's first instant and the first instant after it, in UTC."""
    try:
        year, month = (int(part) for part in period.split("-"))
        start = datetime(year, month, 1, tzinfo=UTC)
    except (ValueError, TypeError):
        raise BadPeriod(period) from None
    if len(period) != 7:
        raise BadPeriod(period)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def period_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m")


def previous_period(period: str) -> str:
    start, _ = period_bounds(period)
    year, month = (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@dataclass(frozen=True)
class CardPayment:
    """A succeeded card payment as of the period's end, and what closed statements took of it."""

    payment_id: int
    account_id: int
    currency: str
    amount: int
    rate_bp: int
    #: Stripe reports its charge available before the period's end.
    available: bool
    #: Refunds and chargebacks posted before the period's end (cumulative).
    refunded: int = 0
    charged_back: int = 0
    #: What closed statements already accounted of it.
    remitted: bool = False
    accounted_refunded: int = 0
    accounted_charged_back: int = 0


@dataclass(frozen=True)
class Direct:
    """A payment the lender reported as made to them directly, not yet on a statement."""

    direct_id: int
    account_id: int
    currency: str
    amount: int
    rate_bp: int


@dataclass(frozen=True)
class Item:
    """What this statement accounts of one payment."""

    account_id: int
    currency: str
    rate_bp: int
    payment_id: int | None = None
    direct_id: int | None = None
    collected: int = 0
    refunded: int = 0
    charged_back: int = 0
    direct: int = 0


@dataclass(frozen=True)
class Line:
    """One account's figures on a statement."""

    account_id: int
    currency: str
    collected: int
    refunded: int
    charged_back: int
    commission: int
    direct: int
    direct_commission: int

    @property
    def settled(self) -> int:
        """Card money of this line: collected less what was given back."""
        return self.collected - self.refunded - self.charged_back


@dataclass(frozen=True)
class Totals:
    """A statement's total in one currency, and what the agency owes (or is owed)."""

    currency: str
    collected: int
    refunded: int
    charged_back: int
    commission: int
    direct: int
    direct_commission: int
    #: What the agency remits (negative: the creditor owes the agency, carried as a deduction).
    due: int
    #: Commission the agency invoices the creditor for.
    invoiced: int


def items(payments: Iterable[CardPayment], directs: Iterable[Direct] = ()) -> list[Item]:
    """This statement's items: new money that is available, deductions of remitted money."""
    found = []
    for p in payments:
        if not p.remitted and not p.available:
            continue  # held: Stripe may still fail it; its refunds wait with it
        collected = 0 if p.remitted else p.amount
        refunded = p.refunded - p.accounted_refunded
        charged_back = p.charged_back - p.accounted_charged_back
        if collected or refunded or charged_back:
            found.append(Item(p.account_id, p.currency, p.rate_bp, payment_id=p.payment_id,
                              collected=collected, refunded=refunded,
                              charged_back=charged_back))
    found.extend(Item(d.account_id, d.currency, d.rate_bp, direct_id=d.direct_id,
                      direct=d.amount) for d in directs)
    return found


def lines(found: Iterable[Item]) -> list[Line]:
    """The items summed by account; each line's commission rounded half-even once."""
    grouped: dict[tuple[int, str], list[int]] = {}
    for i in found:
        sums = grouped.get((i.account_id, i.currency))
        if sums is None:
            sums = grouped[(i.account_id, i.currency)] = [0, 0, 0, 0, 0, 0]
        sums[0] += i.collected
        sums[1] += i.refunded
        sums[2] += i.charged_back
        sums[3] += (i.collected - i.refunded - i.charged_back) * i.rate_bp
        sums[4] += i.direct
        sums[5] += i.direct * i.rate_bp
    # The commission parts are summed exactly (in 1/BASIS minor units), then rounded once.
    return [Line(account_id, currency, collected=collected, refunded=refunded,
                 charged_back=charged_back, commission=basis_half_even(commission),
                 direct=direct, direct_commission=basis_half_even(direct_commission))
            for (account_id, currency), (collected, refunded, charged_back, commission, direct,
                                         direct_commission) in sorted(grouped.items())]


def split(method: str, commission: int, direct_commission: int) -> tuple[int, int]:
    """(withheld from the remittance, invoiced) of a commission, by the creditor's method: net
    keeps all of it, gross invoices all of it, combined keeps what it can (on money it
    collected) and invoices the commission on direct payments."""
    return {
        "net": (commission + direct_commission, 0),
        "gross": (0, commission + direct_commission),
        "combined": (commission, direct_commission),
    }[method]


def line_due(line: Line, method: str) -> int:
    """What the agency remits for one line."""
    return line.settled - split(method, line.commission, line.direct_commission)[0]


def totals(found: Iterable[Line], method: str) -> list[Totals]:
    """Per currency: the sums, and what is remitted or invoiced by the creditor's method."""
    by_currency: dict[str, list[Line]] = defaultdict(list)
    for line in found:
        by_currency[line.currency].append(line)
    result = []
    for currency, group in sorted(by_currency.items()):
        settled = sum(line.settled for line in group)
        commission = sum(line.commission for line in group)
        direct_commission = sum(line.direct_commission for line in group)
        withheld, invoiced = split(method, commission, direct_commission)
        result.append(Totals(
            currency, collected=sum(line.collected for line in group),
            refunded=sum(line.refunded for line in group),
            charged_back=sum(line.charged_back for line in group), commission=commission,
            direct=sum(line.direct for line in group), direct_commission=direct_commission,
            due=settled - withheld, invoiced=invoiced))
    return result
