"""Matching what Stripe settled with what we recorded, to the cent: pure, so every case is a row
of a table in the tests. Stripe's balance transactions are classified by `reporting_category`
(never `type`), and found to be ours by charge id, then by PaymentIntent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime


class Outcome:
    #: Stripe's and ours agree to the cent.
    MATCHED = "matched"
    #: At Stripe, with no payment of ours (a charge, a refund or money we cannot place).
    STRIPE_ONLY = "stripe_only"
    #: Ours, succeeded, and Stripe never settled it.
    OURS_ONLY = "ours_only"
    #: Both sides know it, and the amounts differ.
    DIFFERENCE = "difference"


#: What a reader must look at (anything but matched).
OPEN = (Outcome.STRIPE_ONLY, Outcome.OURS_ONLY, Outcome.DIFFERENCE)
#: Reporting categories that take money back from a charge, with what they are on our side.
REFUNDS = ("refund", "refund_failure")
DISPUTES = ("dispute", "dispute_reversal")
#: Balance transactions a payout is made of that are the payout itself.
PAYOUTS = ("payout", "payout_reversal", "payout_failure")


@dataclass(frozen=True)
class Ours:
    """A payment of ours, as reconciliation needs it."""

    id: int
    charge_id: str | None
    intent_id: str | None
    amount: int
    currency: str
    status: str
    refunded: int
    charged_back: int
    succeeded_at: datetime | None
    creditor_id: int
    agency_id: int | None


@dataclass(frozen=True)
class Recorded:
    """A balance transaction already kept (an earlier period's refund of this payment, say)."""

    id: str
    category: str
    amount: int
    payment_id: int | None


@dataclass(frozen=True)
class Item:
    """One line of a reconciliation: what Stripe says, what we say, and whether they agree.
    Amounts are signed as Stripe signs them (a refund is negative); `key` names it across runs,
    so an explanation given once still finds it."""

    key: str
    category: str
    outcome: str
    currency: str
    stripe_minor: int | None
    ours_minor: int | None
    payment_id: int | None = None
    creditor_id: int | None = None
    agency_id: int | None = None
    balance_transaction_id: str | None = None
    source_id: str | None = None
    payout_id: str | None = None
    fee_minor: int = 0
    net_minor: int = 0
    occurred_at: datetime | None = None

    @property
    def difference(self) -> int:
        return (self.stripe_minor or 0) - (self.ours_minor or 0)


@dataclass
class Stripe:
    """What Stripe's lists said for a period, as Stripe documents the objects (plain dicts)."""

    balance_transactions: list[dict] = field(default_factory=list)
    charges: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    disputes: dict[str, dict] = field(default_factory=dict)
    #: Each payout in the period with the balance transactions it paid out (`payout=`).
    payouts: list[tuple[dict, list[dict]]] = field(default_factory=list)


def source_of(txn: dict) -> str | None:
    source = txn.get("source")
    return source.get("id") if isinstance(source, dict) else source


def id_of(value) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


class Finder:
    """Our payment for a Stripe charge, refund or dispute: by charge id, then PaymentIntent."""

    def __init__(self, stripe: Stripe, payments: Iterable[Ours]):
        self.stripe = stripe
        self.by_charge = {p.charge_id: p for p in payments if p.charge_id}
        self.by_intent = {p.intent_id: p for p in payments if p.intent_id}

    def for_charge(self, charge_id: str | None, intent_id: str | None = None) -> Ours | None:
        found = self.by_charge.get(charge_id) if charge_id else None
        if found is None and intent_id is None and charge_id in self.stripe.charges:
            intent_id = id_of(self.stripe.charges[charge_id].get("payment_intent"))
        return found or (self.by_intent.get(intent_id) if intent_id else None)

    def for_txn(self, txn: dict) -> Ours | None:
        category, source = txn.get("reporting_category") or txn["type"], source_of(txn)
        if category == "charge":
            return self.for_charge(source)
        reversal = (self.stripe.refunds if category in REFUNDS else
                    self.stripe.disputes if category in DISPUTES else {}).get(source)
        if reversal is None:
            return None
        return self.for_charge(id_of(reversal.get("charge")), id_of(reversal.get("payment_intent")))


def _when(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value is not None else None


def match(stripe: Stripe, payments: Iterable[Ours], recorded: Iterable[Recorded],
          agency_id: int, start: datetime, end: datetime) -> list[Item]:
    """The period's items for one agency: its charges, reversals and unsettled payments, with
    the items no agency can claim (Stripe money that is no payment of ours, payouts)."""
    payments = list(payments)
    finder = Finder(stripe, payments)
    by_id = {p.id: p for p in payments}
    payout_of = {t["id"]: payout["id"] for payout, txns in stripe.payouts for t in txns}
    items: list[Item] = []
    settled: set[int] = set()
    reversed_: dict[tuple[int, str], list[dict]] = {}

    def ours_visible(p: Ours | None) -> bool:
        return p is not None and p.agency_id == agency_id

    for txn in stripe.balance_transactions:
        category = txn.get("reporting_category") or txn["type"]
        if category in PAYOUTS:
            continue  # the payout's own transaction: matched with its payout below
        source = source_of(txn)
        found = finder.for_txn(txn)
        common = dict(balance_transaction_id=txn["id"], source_id=source,
                      payout_id=txn.get("payout") or payout_of.get(txn["id"]),
                      fee_minor=int(txn.get("fee") or 0), net_minor=int(txn["net"]),
                      occurred_at=_when(txn["created"]),
                      currency=str(txn["currency"]).upper())
        if found is None:
            items.append(Item(key=f"{category}:{source or txn['id']}", category=category,
                              outcome=Outcome.STRIPE_ONLY, stripe_minor=int(txn["amount"]),
                              ours_minor=None, **common))
            continue
        if not ours_visible(found):
            continue
        if category == "charge":
            settled.add(found.id)
            ours = found.amount if found.status == "succeeded" else 0
            same = ours == int(txn["amount"]) and found.currency == common["currency"]
            items.append(Item(key=f"charge:{source}", category=category,
                              outcome=Outcome.MATCHED if same else Outcome.DIFFERENCE,
                              stripe_minor=int(txn["amount"]), ours_minor=ours,
                              payment_id=found.id, creditor_id=found.creditor_id,
                              agency_id=agency_id, **common))
        elif category in REFUNDS or category in DISPUTES:
            kind = "refunds" if category in REFUNDS else "chargebacks"
            reversed_.setdefault((found.id, kind), []).append(txn)
        else:
            items.append(Item(key=f"{category}:{source or txn['id']}", category=category,
                              outcome=Outcome.STRIPE_ONLY, stripe_minor=int(txn["amount"]),
                              ours_minor=None, payment_id=found.id,
                              creditor_id=found.creditor_id, agency_id=agency_id, **common))

    # Reversals compare totals to date, per payment: Stripe's every refund (or dispute) of the
    # charge as kept, with this period's, against what we reversed.
    totals: dict[tuple[int, str], int] = {}
    seen: set[str] = {t["id"] for t in stripe.balance_transactions}
    for r in recorded:
        if r.payment_id is None or r.id in seen:
            continue
        kind = "refunds" if r.category in REFUNDS else "chargebacks" if r.category in DISPUTES \
            else None
        if kind:
            totals[(r.payment_id, kind)] = totals.get((r.payment_id, kind), 0) + r.amount
    for payment in payments:
        if not ours_visible(payment) or not (start <= (payment.succeeded_at or end) < end):
            continue
        for kind, ours in (("refunds", payment.refunded), ("chargebacks", payment.charged_back)):
            if ours and (payment.id, kind) not in reversed_:
                reversed_[(payment.id, kind)] = []
    for (payment_id, kind), txns in sorted(reversed_.items()):
        payment = by_id[payment_id]
        stripe_total = totals.get((payment_id, kind), 0) + sum(int(t["amount"]) for t in txns)
        ours = -(payment.refunded if kind == "refunds" else payment.charged_back)
        last = max(txns, key=lambda t: t["created"]) if txns else None
        items.append(Item(
            key=f"{kind}:{payment_id}", category="refund" if kind == "refunds" else "dispute",
            outcome=Outcome.MATCHED if stripe_total == ours else Outcome.DIFFERENCE,
            currency=payment.currency, stripe_minor=stripe_total, ours_minor=ours,
            payment_id=payment_id, creditor_id=payment.creditor_id, agency_id=agency_id,
            balance_transaction_id=last["id"] if last else None,
            source_id=source_of(last) if last else None,
            fee_minor=sum(int(t.get("fee") or 0) for t in txns),
            net_minor=sum(int(t["net"]) for t in txns),
            occurred_at=_when(last["created"]) if last else payment.succeeded_at))

    settled |= _settled_before(recorded)
    for payment in payments:
        if ours_visible(payment) and payment.status == "succeeded" and payment.id not in settled \
                and payment.succeeded_at is not None and start <= payment.succeeded_at < end:
            items.append(Item(key=f"payment:{payment.id}", category="charge",
                              outcome=Outcome.OURS_ONLY, currency=payment.currency,
                              stripe_minor=None, ours_minor=payment.amount,
                              payment_id=payment.id, creditor_id=payment.creditor_id,
                              agency_id=agency_id, source_id=payment.charge_id,
                              occurred_at=payment.succeeded_at))

    for payout, txns in stripe.payouts:
        items.append(payout_item(payout, txns))
    return items


def _settled_before(recorded: Iterable[Recorded]) -> set[int]:
    return {r.payment_id for r in recorded if r.category == "charge" and r.payment_id}


def payout_item(payout: dict, txns: list[dict]) -> Item:
    """A payout against the transactions Stripe says it paid out: their net, less the payout's
    own transaction, is what reached the bank; it must be the payout's amount to the cent."""
    paid = sum(int(t["net"]) for t in txns
               if (t.get("reporting_category") or t["type"]) not in PAYOUTS)
    amount = int(payout["amount"])
    return Item(key=f"payout:{payout['id']}", category="payout",
                outcome=Outcome.MATCHED if paid == amount else Outcome.DIFFERENCE,
                currency=str(payout["currency"]).upper(), stripe_minor=amount, ours_minor=paid,
                balance_transaction_id=id_of(payout.get("balance_transaction")),
                payout_id=payout["id"], net_minor=paid,
                occurred_at=_when(payout.get("arrival_date") or payout.get("created")))
