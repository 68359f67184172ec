"""Reading a borrower's accounts: always scoped to the borrower, so a guessed URL finds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts import validation
from portal.accounts.itemization import Itemization, Posting, itemize
from portal.accounts.models import Account, AccountStatus, Borrower, LedgerEntry
from portal.extensions import db
from portal.operations import NotFound


@dataclass(frozen=True)
class AccountView:
    """One account as its pages show it."""

    account: Account
    itemization: Itemization
    validation_ends: date | None
    next_step: str


def postings(entries: list[LedgerEntry]) -> list[Posting]:
    """Ledger entries as the itemization reads them (reversals know the kind they reverse)."""
    kinds = {e.id: e.kind for e in entries}
    return [
        Posting(e.kind, e.money, kinds.get(e.reverses_id) if e.reverses_id else None)
        for e in entries
    ]


def next_step(status: str, validation_ends: date | None, today: date) -> str:
    """Which 'what happens next' text an account gets."""
    if status == AccountStatus.PAID:
        return "paid"
    if status == AccountStatus.CLOSED:
        return "closed"
    if status == AccountStatus.RECALLED:
        return "recalled"
    if validation_ends is not None and today <= validation_ends:
        return "validation_period"
    return "open"


def view_of(account: Account, today: date) -> AccountView:
    sent = account.validation_notice_sent_at
    ends = validation.period_end(sent.date()) if sent else None
    return AccountView(
        account=account,
        itemization=itemize(postings(account.ledger), account.currency),
        validation_ends=ends,
        next_step=next_step(account.status, ends, today),
    )


def _accounts_query():
    return select(Account).options(
        joinedload(Account.creditor, innerjoin=True), selectinload(Account.ledger)
    )


def accounts_of(borrower: Borrower, today: date) -> list[AccountView]:
    rows = db.session.scalars(
        _accounts_query().where(Account.borrower_id == borrower.id).order_by(Account.id)
    )
    return [view_of(a, today) for a in rows]


def own_account(borrower_id: int, reference: str, *, lock: bool = False) -> Account:
    """The borrower's own account row by reference (locked for update if asked), or 404."""
    query = select(Account).where(Account.borrower_id == borrower_id,
                                  Account.reference == reference)
    account = db.session.scalar(query.with_for_update() if lock else query)
    if account is None:
        raise NotFound()
    return account


def account_of(borrower: Borrower, reference: str, today: date) -> AccountView:
    """The borrower's own account by reference, or 404 — never a hint that another exists.
    One statement: the account with its creditor and its ledger (a page reads all three)."""
    account = db.session.scalars(
        select(Account).where(Account.borrower_id == borrower.id, Account.reference == reference)
        .options(joinedload(Account.creditor, innerjoin=True), joinedload(Account.ledger))
    ).unique().one_or_none()
    if account is None:
        raise NotFound()
    return view_of(account, today)
