"""Staff users of an agency, and their reads of its cases (each look at personal data recorded)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.accounts.models import Account, Borrower, Creditor
from portal.accounts.service import AccountView, view_of
from portal.agency.models import Agency
from portal.agency.scope import within
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.extensions import db
from portal.identity import staff_rules
from portal.identity.audit import AuditKind, audit
from portal.identity.models import Role, StaffUser
from portal.identity.service import passwords
from portal.operations import NotFound, Refused, operation

PAGE_SIZE = 50
#: The shortest password a new staff user may be given (the invitation page's rule too).
MIN_PASSWORD = staff_rules.MIN_PASSWORD


def list_accounts(agency_id: int, page: int = 1) -> list[AccountView]:
    """The agency's accounts for the read-only console list, newest placement first."""
    rows = db.session.scalars(
        select(Account)
        .where(within(agency_id, Account.id))
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
    """Load one of the staff member's agency's cases and record that they saw the borrower's
    details; another agency's is not found."""
    account = db.session.scalar(
        select(Account)
        .options(selectinload(Account.borrower).selectinload(Borrower.contact_points))
        .where(Account.reference == reference, within(staff.agency_id, Account.id))
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


@operation
def add_staff(agency_name: str, email: str, name: str, role: str, password: str,
              creditor_code: str | None = None) -> StaffUser:
    """A staff user of one agency (a lender user: of one of that agency's creditors), with a new
    TOTP secret; they see that agency's accounts and no other's."""
    agency = db.session.scalar(select(Agency).where(Agency.name == agency_name))
    if agency is None:
        raise Refused(f"no agency named {agency_name!r}")
    if role not in set(Role):
        raise Refused(f"unknown role {role!r}")
    email = email.strip().lower()
    if "@" not in email or db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)):
        raise Refused(f"{email!r} is not a new email address")
    if len(password) < MIN_PASSWORD:
        raise Refused(f"the password must have at least {MIN_PASSWORD} characters")
    creditor = None
    if (role == Role.LENDER) != (creditor_code is not None):
        raise Refused("a lender user names their creditor (--creditor), and only a lender does")
    if creditor_code is not None:
        creditor = db.session.scalar(select(Creditor).where(Creditor.code == creditor_code))
        if creditor is None or creditor.agency_id != agency.id:
            raise Refused(f"{agency_name} has no creditor {creditor_code!r}")
    user = StaffUser(email=email, name=name, role=role, password_hash=passwords.hash(password),
                     totp_secret=pyotp.random_base32(), agency_id=agency.id,
                     creditor_id=creditor.id if creditor else None)
    db.session.add(user)
    db.session.flush()
    audit(AuditKind.ADDED, agency_id=agency.id, subject_id=user.id,
          detail={"role": role, "creditor": creditor_code, "via": "command line"})
    return user
