"""The money core: the one module that writes ledger entries, sums balances and changes an
account's status.

Payments, plans, disputes and placements call it inside their own transaction, with the account
row locked where two writers could race; it appends the entry, records one shape of
`ledger.posted` on the case record, and moves the account along `ACCOUNT` (open, paid, closed).
Balances are the sum of the append-only ledger; a correction is a new entry, never an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, or_, select

from portal.accounts import allocation
from portal.accounts.models import Account, AccountStatus, EntryKind, LedgerEntry
from portal.bulk import insert_rows
from portal.cases.kinds import EventKind
from portal.cases.models import CaseEvent
from portal.cases.service import Actor, Pending, record, record_many
from portal.extensions import db
from portal.lifecycle import Lifecycle
from portal.money import Money

A = AccountStatus
#: An account is paid when nothing is owed and opens again when a reversal means it owes;
#: closed (settled, written off, a dispute upheld) is final; so is recalled (the creditor took
#: it back), reached from open or paid.
ACCOUNT = Lifecycle("account", AccountStatus, {
    A.OPEN: {A.PAID, A.CLOSED, A.RECALLED},
    A.PAID: {A.OPEN, A.CLOSED, A.RECALLED},
    A.CLOSED: set(),
    A.RECALLED: set(),
})

#: Which component each opening ledger kind belongs to.
_COMPONENT = {EntryKind.FEE: "fees", EntryKind.INTEREST: "interest",
              EntryKind.ITEMIZATION: "principal"}


# --- reading -----------------------------------------------------------------------------------


def balance_of(account_id: int, currency: str) -> Money:
    """The sum of the account's ledger, in the database (not every entry loaded to add it up)."""
    minor = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
                              .where(LedgerEntry.account_id == account_id))
    return Money(int(minor), currency)


def balance_column():
    """Each account's balance as a column of a query over accounts (a correlated sum), so a list
    of accounts reads its balances in the same query."""
    return (select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
            .where(LedgerEntry.account_id == Account.id).scalar_subquery())


def balance_after_payment(account_id: int, payment_id: int, currency: str) -> Money:
    """The balance as a payment left it (entries up to its own), not today's; today's if the
    payment was never posted."""
    entry_id = select(LedgerEntry.id).where(
        LedgerEntry.payment_id == payment_id, LedgerEntry.kind == EntryKind.PAYMENT
    ).scalar_subquery()
    # Entries are appended, never changed: their ids are the order they were written in.
    minor = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
        LedgerEntry.account_id == account_id,
        or_(entry_id.is_(None), LedgerEntry.id <= entry_id)))  # one statement
    return Money(int(minor), currency)


def entries_of(account_id: int) -> list[LedgerEntry]:
    return list(db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.posted_at, LedgerEntry.id)))


def outstanding(entries: list[LedgerEntry]) -> dict[str, int]:
    """What is still owed of each component: charged, less what payments and credits paid of it,
    plus what reversals gave back. Entries without an allocation (before placement) reduce
    principal."""
    owed = dict.fromkeys(allocation.COMPONENTS, 0)
    for entry in entries:
        if entry.kind in _COMPONENT:
            owed[_COMPONENT[entry.kind]] += entry.amount_minor
        elif entry.allocation:
            sign = 1 if entry.amount_minor > 0 else -1  # a reversal gives back
            for component, part in entry.allocation.items():
                owed[component] += sign * part
        else:  # payment, credit or reversal without a split: principal
            owed["principal"] += entry.amount_minor
    return owed


def _order(account: Account) -> tuple[str, ...]:
    return tuple(account.creditor.allocation_order or allocation.DEFAULT_ORDER)


# --- writing -----------------------------------------------------------------------------------


def post_opening(account: Account, kind: EntryKind, amount: Money, description: str,
                 effective: date, actor: Actor, at: datetime) -> LedgerEntry:
    """One line of a placement's itemization: what was owed, interest, fees, payments before."""
    if kind not in (EntryKind.ITEMIZATION, EntryKind.INTEREST, EntryKind.FEE, EntryKind.PAYMENT):
        raise ValueError(f"{kind} is not an opening entry")
    if amount.currency != account.currency:
        raise ValueError(f"{amount.currency} on a {account.currency} account")
    return _post(account, kind, amount.minor, description, actor, at, effective=effective)


def post_payment(account: Account, amount_minor: int, payment_id: int, description: str,
                 actor: Actor, at: datetime) -> LedgerEntry:
    """A card payment's one entry, split over fees, interest and principal in the creditor's
    order (the database refuses a second entry for one payment: a unique index)."""
    parts = allocation.allocate(amount_minor, outstanding(entries_of(account.id)), _order(account))
    return _post(account, EntryKind.PAYMENT, -amount_minor, description, actor, at,
                 payment_id=payment_id, allocation=parts)


def post_reversal(account: Account, payment_id: int, amount_minor: int, description: str,
                  actor: Actor, at: datetime) -> LedgerEntry:
    """Give back part or all of a payment (refund, chargeback), in the opposite order."""
    posting = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.payment_id == payment_id, LedgerEntry.kind == EntryKind.PAYMENT))
    if posting is None:
        raise ValueError(f"payment {payment_id} has no ledger entry to reverse")
    reversed_so_far = dict.fromkeys(allocation.COMPONENTS, 0)
    for earlier in db.session.scalars(select(LedgerEntry).where(
            LedgerEntry.payment_id == payment_id, LedgerEntry.kind == EntryKind.REVERSAL)):
        for component, part in (earlier.allocation or {}).items():
            reversed_so_far[component] += part
    parts = allocation.reverse(amount_minor, posting.allocation, reversed_so_far, _order(account))
    return _post(account, EntryKind.REVERSAL, amount_minor, description, actor, at,
                 payment_id=payment_id, reverses_id=posting.id, allocation=parts)


def post_direct_payment(account: Account, amount_minor: int, description: str, actor: Actor,
                        at: datetime, paid_on: date) -> LedgerEntry:
    """A payment the borrower made to the creditor directly (the lender reports it): a payment
    entry without a card payment, split as a card payment would be, effective the day it was
    paid."""
    if amount_minor <= 0:
        raise ValueError("a payment is more than zero")
    parts = allocation.allocate(amount_minor, outstanding(entries_of(account.id)), _order(account))
    return _post(account, EntryKind.PAYMENT, -amount_minor, description, actor, at,
                 effective=paid_on, allocation=parts)


def post_credit(account: Account, amount_minor: int, description: str, actor: Actor,
                at: datetime) -> LedgerEntry:
    """Reduce what is owed without a payment (a dispute upheld, a settlement's rest waived, an
    adjustment), split over the components as a payment would be."""
    if amount_minor <= 0:
        raise ValueError("a credit is more than zero")
    parts = allocation.allocate(amount_minor, outstanding(entries_of(account.id)), _order(account))
    return _post(account, EntryKind.CREDIT, -amount_minor, description, actor, at,
                 allocation=parts)


def post_adjustment(account: Account, amount_minor: int, description: str, actor: Actor,
                    at: datetime) -> LedgerEntry:
    """A change to a placed balance (the creditor's new figure, or an undone placement), as a new
    entry of either sign: never an overwrite."""
    if amount_minor == 0:
        raise ValueError("an adjustment changes the balance")
    return _post(account, EntryKind.ADJUSTMENT, amount_minor, description, actor, at)


@dataclass(frozen=True)
class Opening:
    """One line of a placement's itemization, for `post_openings_many`."""

    account_id: int
    borrower_id: int
    currency: str
    kind: EntryKind
    amount_minor: int
    description: str
    effective: date


def post_openings_many(openings: list[Opening], actor: Actor, at: datetime) -> list[int]:
    """Many accounts' opening lines at once (a placement file's chunk): the entries and their
    `ledger.posted` events that `post_opening` would write one by one, in a few statements."""
    if not openings:
        return []
    for o in openings:
        if o.kind not in (EntryKind.ITEMIZATION, EntryKind.INTEREST, EntryKind.FEE,
                          EntryKind.PAYMENT):
            raise ValueError(f"{o.kind} is not an opening entry")
    ids = db.session.scalars(select(func.nextval(func.pg_get_serial_sequence(
        "ledger_entry", "id"))).select_from(func.generate_series(1, len(openings)))).all()
    insert_rows(LedgerEntry.__table__, [
        {"id": entry_id, "account_id": o.account_id, "kind": str(o.kind),
         "amount_minor": o.amount_minor, "currency": o.currency, "posted_at": at,
         "effective_date": o.effective, "description": o.description[:200]}
        for entry_id, o in zip(ids, openings, strict=True)])
    record_many(actor, [
        Pending(EventKind.LEDGER_POSTED, o.borrower_id, o.account_id,
                {"entry": entry_id, "kind": str(o.kind), "amount_minor": o.amount_minor,
                 "currency": o.currency, "payment": None})
        for entry_id, o in zip(ids, openings, strict=True)], at)
    return list(ids)


@dataclass(frozen=True)
class CardPayment:
    """One card payment for `post_payments`."""

    account: Account
    amount_minor: int
    payment_id: int
    description: str
    at: datetime


def post_payments(payments: list[CardPayment], actor: Actor) -> list[dict[str, int]]:
    """`post_payment` for many card payments at once (a batch of Stripe events), in the order
    given, each split over what its account still owes after those before it: the entries and
    their `ledger.posted` events, in a few statements for them all (the database still refuses a
    second entry for one payment). Returns each one's allocation, in order."""
    if not payments:
        return []
    owed: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(LedgerEntry.account_id, LedgerEntry.kind, LedgerEntry.amount_minor,
               LedgerEntry.allocation)
        .where(LedgerEntry.account_id.in_({p.account.id for p in payments})))
    entries: dict[int, list] = {}
    for row in rows:
        entries.setdefault(row.account_id, []).append(row)
    parts_of = []
    for p in payments:
        left = owed.setdefault(p.account.id, outstanding(entries.get(p.account.id, [])))
        parts = allocation.allocate(p.amount_minor, left, _order(p.account))
        for component, part in parts.items():  # as `outstanding` counts a split payment
            left[component] -= part
        parts_of.append(parts)
    ids = db.session.scalars(select(func.nextval(func.pg_get_serial_sequence(
        "ledger_entry", "id"))).select_from(func.generate_series(1, len(payments)))).all()
    insert_rows(LedgerEntry.__table__, [
        {"id": entry_id, "account_id": p.account.id, "kind": str(EntryKind.PAYMENT),
         "amount_minor": -p.amount_minor, "currency": p.account.currency, "posted_at": p.at,
         "effective_date": p.at.date(), "description": p.description[:200],
         "payment_id": p.payment_id, "reverses_id": None, "allocation": parts}
        for entry_id, p, parts in zip(ids, payments, parts_of, strict=True)])
    record_many(actor, [
        Pending(EventKind.LEDGER_POSTED, p.account.borrower_id, p.account.id,
                {"entry": entry_id, "kind": str(EntryKind.PAYMENT),
                 "amount_minor": -p.amount_minor, "currency": p.account.currency,
                 "payment": p.payment_id})
        for entry_id, p in zip(ids, payments, strict=True)])
    for account in {p.account.id: p.account for p in payments}.values():
        db.session.expire(account, ["ledger"])
    return parts_of


def balances_of(account_ids) -> dict[int, int]:
    """`balance_of` for many accounts in one query (minor units; an account with no entry: 0)."""
    found = dict(db.session.execute(
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.account_id.in_(set(account_ids))).group_by(LedgerEntry.account_id)
    ).all())
    return {aid: int(found.get(aid) or 0) for aid in account_ids}


def placed_total(account_ids: list[int]) -> dict[int, int]:
    """What the creditor's placements say each account owes (itemization, interest and fees at
    placement, and adjustments since), without our payments and credits: what a new file's
    figure is compared with."""
    rows = db.session.execute(
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_minor))
        .where(LedgerEntry.account_id.in_(account_ids),
               LedgerEntry.kind.in_([EntryKind.ITEMIZATION, EntryKind.INTEREST, EntryKind.FEE,
                                     EntryKind.ADJUSTMENT]))
        .group_by(LedgerEntry.account_id))
    return {account_id: int(total) for account_id, total in rows}


#: The components a staff adjustment may add to, as the itemization groups them.
CHARGE_KINDS = {"interest": EntryKind.INTEREST, "fees": EntryKind.FEE}


def post_staff_correction(account: Account, amount_minor: int, component: str | None,
                          description: str, actor: Actor, at: datetime) -> LedgerEntry:
    """A staff correction: a reduction is a credit (split as a payment would be); an increase is
    charged as interest or fees, the only groups the itemization lets grow after placement."""
    if amount_minor < 0:
        return post_credit(account, -amount_minor, description, actor, at)
    if amount_minor == 0 or component not in CHARGE_KINDS:
        raise ValueError("an increase is more than zero, charged as interest or fees")
    return _post(account, CHARGE_KINDS[component], amount_minor, description, actor, at)


def _post(account: Account, kind: EntryKind, amount_minor: int, description: str, actor: Actor,
          at: datetime, *, effective: date | None = None, payment_id: int | None = None,
          reverses_id: int | None = None, allocation: dict | None = None) -> LedgerEntry:
    entry = LedgerEntry(
        account_id=account.id, kind=kind, amount_minor=amount_minor, currency=account.currency,
        posted_at=at, effective_date=effective or at.date(), description=description[:200],
        payment_id=payment_id, reverses_id=reverses_id, allocation=allocation)
    db.session.add(entry)
    db.session.flush()
    record(actor, EventKind.LEDGER_POSTED, borrower_id=account.borrower_id, account_id=account.id,
           data={"entry": entry.id, "kind": str(kind), "amount_minor": amount_minor,
                 "currency": account.currency, "payment": payment_id})
    db.session.expire(account, ["ledger"])
    return entry


# --- the account's status ------------------------------------------------------------------------


def settle_status(account: Account, actor: Actor, now: datetime | None = None) -> str | None:
    """Mark the account paid when nothing is owed, and open again when a reversal means it owes;
    returns the event kind recorded, if any. The contact holds follow from that event."""
    now = now or datetime.now(UTC)
    owed = balance_of(account.id, account.currency)
    if account.status == A.OPEN and owed.minor <= 0:
        new, kind = A.PAID, EventKind.ACCOUNT_PAID
    elif account.status == A.PAID and owed.minor > 0:
        new, kind = A.OPEN, EventKind.ACCOUNT_REOPENED
    else:
        return None
    ACCOUNT.move(account, new)
    record(actor, kind, borrower_id=account.borrower_id, account_id=account.id,
           data={"balance_minor": owed.minor, "currency": owed.currency}, at=now)
    return kind


def recall(account: Account, actor: Actor, at: datetime, **data) -> CaseEvent | None:
    """The creditor took the account back (final); None when it was recalled already. The
    `account.recalled` event starts the recall hold (contact/derive.py)."""
    if account.status == A.RECALLED:
        return None
    previous = str(account.status)
    ACCOUNT.move(account, A.RECALLED)
    account.recalled_at = at
    return record(actor, EventKind.ACCOUNT_RECALLED, borrower_id=account.borrower_id,
                  account_id=account.id, at=at,
                  data={"creditor": account.creditor.code, "from": previous, **data})


def close(account: Account, actor: Actor, reason: str, **data) -> CaseEvent | None:
    """Close the account (final); None when it was closed already."""
    if account.status == A.CLOSED:
        return None
    ACCOUNT.move(account, A.CLOSED)
    return record(actor, EventKind.ACCOUNT_CLOSED, borrower_id=account.borrower_id,
                  account_id=account.id, data={"reason": reason, **data})
