"""Staff reads of cases; every view of a borrower's personal data is itself recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts.models import Account, Borrower
from portal.accounts.service import AccountView, view_of
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.operations import NotFound, operation

PAGE_SIZE = 50


def list_accounts(page: int = 1) -> list[AccountView]:
    """Accounts for the read-only console list, newest placement first."""
    rows = db.session.scalars(
        select(Account)
        .options(
            selectinload(Account.creditor),
            selectinload(Account.ledger),
            selectinload(Account.borrower),
        )
        .order_by(Account.placed_at.desc(), Account.id.desc())
        .limit(PAGE_SIZE)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
    )
    today = datetime.now(UTC).date()
    return [view_of(a, today) for a in rows]


@operation
def open_case(staff: StaffUser, reference: str, source: str | None) -> AccountView:
    """Load one case for a staff member and record that they saw the borrower's details."""
    account = db.session.scalar(
        select(Account)
        .options(selectinload(Account.borrower).selectinload(Borrower.contact_points))
        .where(Account.reference == reference)
    )
    if account is None:
        raise NotFound()
    record(
        Actor("staff", str(staff.id), source),
        EventKind.STAFF_VIEWED,
        borrower_id=account.borrower_id,
        account_id=account.id,
        data={"view": "case", "role": staff.role},
    )
    return view_of(account, datetime.now(UTC).date())
