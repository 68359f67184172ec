"""Placing a debt with the agency: borrower, contact points, account and opening ledger entries.

The demo seed uses it today; the placement-file import uses the same operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select

from portal.accounts import ledger, zones
from portal.accounts.models import (
    Account,
    Borrower,
    ContactKind,
    ContactPoint,
    Creditor,
    EntryKind,
)
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.crypto import lookup_digest
from portal.extensions import db
from portal.money import Money


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    region: str | None
    postal_code: str
    country: str
    line2: str | None = None


@dataclass(frozen=True)
class Person:
    reference: str
    given_name: str
    family_name: str
    display_name: str
    date_of_birth: date
    address: Address
    phones: list[tuple[str, str]] = field(default_factory=list)  # (label, number)
    emails: list[str] = field(default_factory=list)
    #: Addresses the creditor knows its employer provided (12 CFR 1006.22(f)(3)): not emailed
    #: until the borrower uses one with us or consents.
    work_emails: list[str] = field(default_factory=list)
    language: str = "en"
    national_id_last4: str | None = None


@dataclass(frozen=True)
class Debt:
    reference: str
    product: str
    original_account_number: str
    on_itemization_date: Money
    interest: Money
    fees: Money
    payments: Money  # positive: what was paid since the itemization date
    itemization_date: date
    charge_off_date: date | None = None
    last_payment_date: date | None = None
    validation_notice_sent_at: datetime | None = None


def ensure_creditor(code: str, name: str, country: str) -> Creditor:
    creditor = db.session.scalar(select(Creditor).where(Creditor.code == code))
    if creditor is None:
        creditor = Creditor(code=code, name=name, country=country)
        db.session.add(creditor)
        db.session.flush()
    return creditor


def ensure_borrower(person: Person) -> Borrower:
    """The borrower with this reference, created with their contact points if new."""
    existing = db.session.scalar(select(Borrower).where(Borrower.reference == person.reference))
    if existing is not None:
        return existing
    dob = person.date_of_birth.isoformat()
    borrower = Borrower(
        reference=person.reference,
        given_name=person.given_name,
        family_name=person.family_name,
        display_name=person.display_name,
        date_of_birth=dob,
        date_of_birth_digest=lookup_digest(dob, "borrower.date_of_birth"),
        national_id_last4=person.national_id_last4,
        national_id_last4_digest=(
            lookup_digest(person.national_id_last4, "borrower.national_id_last4")
            if person.national_id_last4
            else None
        ),
        preferred_language=person.language,
    )
    db.session.add(borrower)
    db.session.flush()
    a = person.address
    points = [
        ContactPoint(
            kind=ContactKind.ADDRESS, label="home", value=a.line1, line2=a.line2, city=a.city,
            region=a.region, postal_code=a.postal_code, country=a.country,
            time_zones=zones.for_address(a.country, a.region),
        )
    ]
    for label, number in person.phones:
        e164 = zones.normalise_phone(number)
        points.append(
            ContactPoint(kind=ContactKind.PHONE, label=label, value=e164,
                         country=a.country, time_zones=zones.for_phone(e164))
        )
    for email in person.emails:
        points.append(
            ContactPoint(kind=ContactKind.EMAIL, label="personal", value=email.lower(),
                         country=a.country, time_zones=zones.for_address(a.country, a.region))
        )
    for email in person.work_emails:
        points.append(
            ContactPoint(kind=ContactKind.EMAIL, label="work", value=email.lower(),
                         country=a.country, time_zones=zones.for_address(a.country, a.region),
                         employer_provided=True)
        )
    for point in points:
        point.borrower_id = borrower.id
        point.value_digest = lookup_digest(point.value, f"contact_point.{point.kind}")
        db.session.add(point)
    db.session.flush()
    return borrower


def place(creditor: Creditor, borrower: Borrower, debt: Debt, actor: Actor) -> Account | None:
    """Create the account and its opening entries; None if that reference is already placed."""
    if db.session.scalar(select(Account.id).where(Account.reference == debt.reference)):
        return None
    now = datetime.now(UTC)
    account = Account(
        reference=debt.reference,
        borrower_id=borrower.id,
        creditor_id=creditor.id,
        product=debt.product,
        currency=debt.on_itemization_date.currency,
        original_account_number=debt.original_account_number,
        original_account_number_digest=lookup_digest(
            debt.original_account_number, "account.original_account_number"
        ),
        itemization_date=debt.itemization_date,
        charge_off_date=debt.charge_off_date,
        last_payment_date=debt.last_payment_date,
        validation_notice_sent_at=debt.validation_notice_sent_at,
        placed_at=now,
    )
    db.session.add(account)
    db.session.flush()
    ids = {"borrower_id": borrower.id, "account_id": account.id}
    record(actor, EventKind.ACCOUNT_PLACED, **ids,
           data={"creditor": creditor.code, "currency": account.currency})
    openings = [
        (EntryKind.ITEMIZATION, debt.on_itemization_date, "Balance on the itemization date",
         debt.itemization_date),
        # Interest and fees accrued between the itemization date and the placement.
        (EntryKind.INTEREST, debt.interest, "Interest since the itemization date", now.date()),
        (EntryKind.FEE, debt.fees, "Fees since the itemization date", now.date()),
        (EntryKind.PAYMENT, -debt.payments, "Payments since the itemization date",
         debt.last_payment_date),
    ]
    for kind, amount, description, effective in openings:
        if not amount and kind != EntryKind.ITEMIZATION:
            continue
        ledger.post_opening(account, kind, amount, description,
                            effective or debt.itemization_date, actor, now)
    if debt.validation_notice_sent_at:
        record(actor, EventKind.VALIDATION_NOTICE_SENT, **ids,
               data={"sent_on": debt.validation_notice_sent_at.date().isoformat()})
    return account
