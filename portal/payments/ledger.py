"""Posting card payments to the append-only ledger and reversing them; paid in full and reopened.

Called only from the payment operations, inside their transaction, with the payment row locked.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from portal.accounts.models import Account, AccountStatus, EntryKind, LedgerEntry
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.extensions import db
from portal.money import Money
from portal.payments import allocation
from portal.payments.models import Payment

#: Which component each opening ledger kind belongs to.
_COMPONENT = {"fee": "fees", "interest": "interest", "itemization": "principal"}


def _entries(account_id: int) -> list[LedgerEntry]:
    return list(db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.posted_at, LedgerEntry.id)
    ))


def balance_of(account_id: int, currency: str) -> Money:
    """The sum of the account's ledger, in the database (not every entry loaded to add it up)."""
    minor = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
                              .where(LedgerEntry.account_id == account_id))
    return Money(int(minor), currency)


def outstanding(entries: list[LedgerEntry]) -> dict[str, int]:
    """What is still owed of each component: charged, less what payments paid of it, plus what
    reversals gave back. Payments without an allocation (before placement) reduce principal."""
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


def post_payment(payment: Payment, actor: Actor, at: datetime) -> LedgerEntry:
    """The payment's one ledger entry (the database refuses a second: a unique index)."""
    account = payment.account
    parts = allocation.allocate(payment.amount_minor, outstanding(_entries(account.id)),
                                _order(account))
    entry = LedgerEntry(
        account_id=account.id, kind=EntryKind.PAYMENT, amount_minor=-payment.amount_minor,
        currency=payment.currency, posted_at=at, effective_date=at.date(),
        description=f"Card payment {payment.receipt_number}", payment_id=payment.id,
        allocation=parts,
    )
    _add(entry, account, actor)
    return entry


def post_reversal(payment: Payment, amount: int, why: str, actor: Actor,
                  at: datetime) -> LedgerEntry:
    """A reversing entry for part or all of the payment (refund or chargeback)."""
    account = payment.account
    posting = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.payment_id == payment.id, LedgerEntry.kind == EntryKind.PAYMENT))
    reversed_so_far = dict.fromkeys(allocation.COMPONENTS, 0)
    for earlier in db.session.scalars(select(LedgerEntry).where(
            LedgerEntry.payment_id == payment.id, LedgerEntry.kind == EntryKind.REVERSAL)):
        for component, part in (earlier.allocation or {}).items():
            reversed_so_far[component] += part
    parts = allocation.reverse(amount, posting.allocation, reversed_so_far, _order(account))
    entry = LedgerEntry(
        account_id=account.id, kind=EntryKind.REVERSAL, amount_minor=amount,
        currency=payment.currency, posted_at=at, effective_date=at.date(),
        description=f"{why.capitalize()} of card payment {payment.receipt_number}",
        payment_id=payment.id, reverses_id=posting.id, allocation=parts,
    )
    _add(entry, account, actor)
    return entry


def _add(entry: LedgerEntry, account: Account, actor: Actor) -> None:
    db.session.add(entry)
    db.session.flush()
    record(actor, EventKind.LEDGER_POSTED, borrower_id=account.borrower_id, account_id=account.id,
           data={"entry": entry.id, "kind": str(entry.kind), "amount_minor": entry.amount_minor,
                 "currency": entry.currency, "payment": entry.payment_id})
    db.session.expire(account, ["ledger"])


def settle_status(account: Account, actor: Actor, now: datetime | None = None) -> str | None:
    """Mark the account paid when nothing is owed, and open again when a reversal means it owes;
    returns the event kind recorded, if any. The contact holds follow from that event."""
    now = now or datetime.now(UTC)
    owed = balance_of(account.id, account.currency)
    if account.status == AccountStatus.OPEN and owed.minor <= 0:
        account.status = AccountStatus.PAID
        kind = EventKind.ACCOUNT_PAID
    elif account.status == AccountStatus.PAID and owed.minor > 0:
        account.status = AccountStatus.OPEN
        kind = EventKind.ACCOUNT_REOPENED
    else:
        return None
    record(actor, kind, borrower_id=account.borrower_id, account_id=account.id,
           data={"balance_minor": owed.minor, "currency": owed.currency}, at=now)
    return kind
