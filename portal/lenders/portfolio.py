"""A lender's portfolio: their creditors' accounts with status and balance, and one account's
payments, plans, disputes and recall. Never a borrower's contact details or dispute evidence; the
account page names the borrower, so opening it is recorded on the case (`lender.viewed_account`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.accounts import ledger
from portal.accounts.models import Account, Borrower
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.disputes.models import Dispute
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.lenders.models import DirectPayment
from portal.lenders.scope import creditor_ids
from portal.money import Money
from portal.operations import NotFound, operation
from portal.payments.models import Payment
from portal.payments.rules import PaymentStatus
from portal.plans.models import InstallmentStatus, PaymentPlan

PAGE_SIZE = 50


@dataclass(frozen=True)
class Row:
    """One account of the portfolio list: no personal data."""

    reference: str
    creditor: str
    product: str
    status: str
    balance: Money
    placed_at: datetime


def accounts(user: StaffUser, page: int = 1) -> list[Row]:
    """The lender's creditors' accounts, newest placement first, with balances summed in the
    database (one query, whatever the portfolio's size)."""
    rows = db.session.execute(
        select(Account, ledger.balance_column()).where(Account.creditor_id.in_(creditor_ids(user)))
        .order_by(Account.placed_at.desc(), Account.id.desc())
        .limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE))
    return [Row(a.reference, a.creditor.name, a.product, a.status, Money(int(minor), a.currency),
                a.placed_at) for a, minor in rows]


@dataclass(frozen=True)
class PlanFacts:
    number: str
    kind: str
    status: str
    total: Money
    installments_paid: int
    installments: int


@dataclass(frozen=True)
class AccountPage:
    account: Account
    borrower_name: str
    balance: Money
    payments: list[Payment]
    direct_payments: list[DirectPayment]
    plans: list[PlanFacts]
    disputes: list[Dispute]


def _account(user: StaffUser, reference: str) -> Account:
    account = db.session.scalar(select(Account).where(
        Account.reference == reference, Account.creditor_id.in_(creditor_ids(user))))
    if account is None:
        raise NotFound(reference)
    return account


@operation
def open_account(user: StaffUser, reference: str, source: str | None) -> AccountPage:
    """One of the lender's accounts (another creditor's is not found), its opening recorded."""
    account = _account(user, reference)
    record(Actor("staff", str(user.id), source), EventKind.LENDER_VIEWED,
           borrower_id=account.borrower_id, account_id=account.id,
           data={"view": "lender_account", "role": user.role})
    borrower = db.session.get(Borrower, account.borrower_id)
    payments = list(db.session.scalars(
        select(Payment).where(Payment.account_id == account.id,
                              Payment.status.in_([PaymentStatus.SUCCEEDED, PaymentStatus.FAILED,
                                                  PaymentStatus.PENDING]))
        .order_by(Payment.created_at.desc())))
    plans = [PlanFacts(p.number, p.kind, p.status, p.total,
                       sum(i.status == InstallmentStatus.PAID for i in p.installments),
                       len(p.installments))
             for p in db.session.scalars(select(PaymentPlan).where(
                 PaymentPlan.account_id == account.id, PaymentPlan.accepted_at.is_not(None))
                 .order_by(PaymentPlan.created_at.desc()))]
    disputes = list(db.session.scalars(select(Dispute).where(Dispute.account_id == account.id)
                                       .order_by(Dispute.opened_at.desc())))
    directs = list(db.session.scalars(select(DirectPayment).where(
        DirectPayment.account_id == account.id).order_by(DirectPayment.paid_on.desc())))
    return AccountPage(account, borrower.display_name,
                       ledger.balance_of(account.id, account.currency), payments, directs, plans,
                       disputes)
