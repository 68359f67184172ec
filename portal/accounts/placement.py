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
    AccountStatus,
    Borrower,
    ContactKind,
    ContactPoint,
    Creditor,
    EntryKind,
)
from portal.bulk import draw_ids, insert_rows
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, Pending, record, record_many
from portal.crypto import RowValue, lookup_digest
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
    for row in _point_rows(person):
        db.session.add(ContactPoint(borrower_id=borrower.id, **row))
    db.session.flush()
    return borrower


def _point_rows(person: Person) -> list[dict]:
    """The person's contact points as column values (address, phones, emails), with digests."""
    a = person.address
    home_zones = zones.for_address(a.country, a.region)
    rows = [dict(kind=ContactKind.ADDRESS, label="home", value=a.line1, line2=a.line2,
                 city=a.city, region=a.region, postal_code=a.postal_code, country=a.country,
                 time_zones=home_zones)]
    for label, number in person.phones:
        e164, number_zones = zones.phone_and_zones(number)
        rows.append(dict(kind=ContactKind.PHONE, label=label, value=e164, country=a.country,
                         time_zones=number_zones))
    for email in person.emails:
        rows.append(dict(kind=ContactKind.EMAIL, label="personal", value=email.lower(),
                         country=a.country, time_zones=home_zones))
    for email in person.work_emails:
        rows.append(dict(kind=ContactKind.EMAIL, label="work", value=email.lower(),
                         country=a.country, time_zones=home_zones, employer_provided=True))
    for row in rows:
        row["value_digest"] = lookup_digest(row["value"], f"contact_point.{row['kind']}")
    return rows


def add_borrowers(people: list[Person]) -> list[int]:
    """New borrowers with their contact points, in a few statements (a placement file's chunk);
    their ids in order. The caller knows none of them exists yet."""
    if not people:
        return []
    ids = draw_ids("borrower", len(people))
    insert_rows(Borrower.__table__, [{
        "id": bid, "reference": p.reference, "given_name": p.given_name,
        "family_name": p.family_name, "display_name": p.display_name,
        "date_of_birth": RowValue(p.date_of_birth.isoformat(), bid),
        "date_of_birth_digest": lookup_digest(p.date_of_birth.isoformat(),
                                              "borrower.date_of_birth"),
        "national_id_last4": (RowValue(p.national_id_last4, bid)
                              if p.national_id_last4 else None),
        "national_id_last4_digest": (lookup_digest(p.national_id_last4,
                                                   "borrower.national_id_last4")
                                     if p.national_id_last4 else None),
        "preferred_language": p.language,
    } for bid, p in zip(ids, people, strict=True)])
    points = [(bid, row) for bid, p in zip(ids, people, strict=True) for row in _point_rows(p)]
    point_ids = draw_ids("contact_point", len(points))
    insert_rows(ContactPoint.__table__, [{
        "consent_to_contact": True, "employer_provided": False, "line2": None, "city": None,
        "region": None, "postal_code": None, **row, "id": pid, "borrower_id": bid,
        "value": RowValue(row["value"], pid),
        **({"line2": RowValue(row["line2"], pid)} if row.get("line2") else {}),
    } for pid, (bid, row) in zip(point_ids, points, strict=True)])
    return ids


def place_many(creditor: Creditor, debts: list[tuple[int, Debt]], actor: Actor) -> list[int]:
    """Place many debts at once (borrower id, debt), in a few statements: the same accounts,
    opening entries and events `place` writes one by one. The references must be new."""
    if not debts:
        return []
    now = datetime.now(UTC)
    ids = draw_ids("account", len(debts))
    insert_rows(Account.__table__, [{
        "id": aid, "reference": d.reference, "borrower_id": bid, "creditor_id": creditor.id,
        "product": d.product, "currency": d.on_itemization_date.currency,
        "original_account_number": RowValue(d.original_account_number, aid),
        "original_account_number_digest": lookup_digest(d.original_account_number,
                                                        "account.original_account_number"),
        "status": AccountStatus.OPEN, "itemization_date": d.itemization_date,
        "charge_off_date": d.charge_off_date, "last_payment_date": d.last_payment_date,
        "validation_notice_sent_at": d.validation_notice_sent_at, "placed_at": now,
    } for aid, (bid, d) in zip(ids, debts, strict=True)])
    record_many(actor, [
        Pending(EventKind.ACCOUNT_PLACED, bid, aid,
                {"creditor": creditor.code, "currency": d.on_itemization_date.currency})
        for aid, (bid, d) in zip(ids, debts, strict=True)], now)
    openings = []
    for aid, (bid, d) in zip(ids, debts, strict=True):
        for kind, amount, description, effective in _openings(d, now):
            openings.append(ledger.Opening(aid, bid, amount.currency, kind, amount.minor,
                                           description, effective or d.itemization_date))
    ledger.post_openings_many(openings, actor, now)
    record_many(actor, [
        Pending(EventKind.VALIDATION_NOTICE_SENT, bid, aid,
                {"sent_on": d.validation_notice_sent_at.date().isoformat()})
        for aid, (bid, d) in zip(ids, debts, strict=True) if d.validation_notice_sent_at], now)
    return ids


def _openings(debt: Debt, now: datetime) -> list[tuple]:
    """The itemization's opening lines: (kind, amount, description, effective date)."""
    lines = [
        (EntryKind.ITEMIZATION, debt.on_itemization_date, "Balance on the itemization date",
         debt.itemization_date),
        # Interest and fees accrued between the itemization date and the placement.
        (EntryKind.INTEREST, debt.interest, "Interest since the itemization date", now.date()),
        (EntryKind.FEE, debt.fees, "Fees since the itemization date", now.date()),
        (EntryKind.PAYMENT, -debt.payments, "Payments since the itemization date",
         debt.last_payment_date),
    ]
    return [line for line in lines if line[1] or line[0] == EntryKind.ITEMIZATION]


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
    for kind, amount, description, effective in _openings(debt, now):
        ledger.post_opening(account, kind, amount, description,
                            effective or debt.itemization_date, actor, now)
    if debt.validation_notice_sent_at:
        record(actor, EventKind.VALIDATION_NOTICE_SENT, **ids,
               data={"sent_on": debt.validation_notice_sent_at.date().isoformat()})
    return account
