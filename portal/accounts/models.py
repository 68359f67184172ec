"""Creditors, borrowers with their contact points, accounts, and the append-only ledger."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import Encrypted
from portal.extensions import db
from portal.money import Money, total


class Creditor(db.Model):
    """The lender that placed debts with the agency (the agency's client)."""

    __tablename__ = "creditor"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    #: The agency the creditor placed its debts with; partner API keys see only its accounts.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    #: Whether a borrower may pay more than the balance (most creditors say no).
    allow_overpayment: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default="false")
    #: The order a payment pays off the balance's parts, if the creditor's terms name one
    #: (default: fees, then interest, then principal).
    allocation_order: Mapped[list[str] | None] = mapped_column(ARRAY(String(20)))
    #: Whom a borrower contacts about an account the creditor took back (a recall): shown on
    #: the borrower's page of a recalled account. Business details, not personal data.
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(200))
    #: Lines separated by newlines.
    postal_address: Mapped[str | None] = mapped_column(String(500))


class Borrower(UserMixin, db.Model):
    """A person who owes; signs in with their reference and date of birth."""

    __tablename__ = "borrower"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[str] = mapped_column(Encrypted("borrower.date_of_birth"))
    #: Indexed: a placement file finds the people it already knows by it.
    date_of_birth_digest: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    national_id_last4: Mapped[str | None] = mapped_column(Encrypted("borrower.national_id_last4"))
    national_id_last4_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32), index=True)
    preferred_language: Mapped[str] = mapped_column(String(10), default="en")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    contact_points: Mapped[list[ContactPoint]] = relationship(
        back_populates="borrower", order_by="ContactPoint.id"
    )
    accounts: Mapped[list[Account]] = relationship(
        back_populates="borrower", order_by="Account.id"
    )

    def get_id(self) -> str:
        return f"b:{self.id}"

    is_borrower = True
    is_staff = False
    is_helper = False

    @property
    def mailing_address(self) -> ContactPoint | None:
        return next((c for c in self.contact_points if c.kind == ContactKind.ADDRESS), None)


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    ADDRESS = "address"


class ContactPoint(db.Model):
    """One way to reach a borrower, with its own consent, opt-out and time zones."""

    __tablename__ = "contact_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    #: home, mobile, work — workplace contact has rules of its own.
    label: Mapped[str] = mapped_column(String(20), default="home")
    #: E.164 phone number or email address; for an address, its first line.
    value: Mapped[str] = mapped_column(Encrypted("contact_point.value"))
    value_digest: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    line2: Mapped[str | None] = mapped_column(Encrypted("contact_point.line2"))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    #: Every IANA zone the borrower may be in when reached here (a state can span two).
    time_zones: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    consent_to_contact: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: An email address known to be provided by the borrower's employer (12 CFR 1006.22(f)(3)).
    employer_provided: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())
    #: The borrower used that address with us, or consented to its use.
    employer_email_consent: Mapped[bool] = mapped_column(Boolean, default=False,
                                                         server_default=false())
    #: A message here failed for good (a bounce, an invalid number): when, and the provider's
    #: words, for staff to see on the case page.
    undeliverable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    undeliverable_reason: Mapped[str | None] = mapped_column(String(300))

    borrower: Mapped[Borrower] = relationship(back_populates="contact_points")

    __table_args__ = (
        CheckConstraint("kind IN ('phone', 'email', 'address')", name="kind"),
        # The borrowers with an employer's address still barred: the bulk scrub asks.
        Index("ix_contact_point_employer_email", "borrower_id",
              postgresql_where=text("employer_provided AND NOT employer_email_consent")),
    )


class AccountStatus(StrEnum):
    #: Placed and being collected.
    OPEN = "open"
    #: Balance reached zero.
    PAID = "paid"
    #: Closed without payment in full (settled, written off, a dispute upheld).
    CLOSED = "closed"
    #: The creditor took it back (a recall file): the agency no longer collects it.
    RECALLED = "recalled"


class Account(db.Model):
    """A debt placed with the agency by a creditor, owed by one borrower."""

    __tablename__ = "account"
    #: A placement or recall file (and the API) finds an account by the creditor's own id.
    __table_args__ = (Index("ix_account_creditor_original", "creditor_id",
                            "original_account_number_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"), index=True)
    product: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    original_account_number: Mapped[str] = mapped_column(
        Encrypted("account.original_account_number")
    )
    original_account_number_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(20), default=AccountStatus.OPEN)
    itemization_date: Mapped[date] = mapped_column(Date)
    charge_off_date: Mapped[date | None] = mapped_column(Date)
    last_payment_date: Mapped[date | None] = mapped_column(Date)
    validation_notice_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When a card payment on it was charged back (staff see the flag on the case).
    chargeback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: When the creditor recalled it (status recalled).
    recalled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    borrower: Mapped[Borrower] = relationship(back_populates="accounts")
    creditor: Mapped[Creditor] = relationship()
    ledger: Mapped[list[LedgerEntry]] = relationship(
        order_by="(LedgerEntry.posted_at, LedgerEntry.id)", viewonly=True
    )

    @property
    def balance(self) -> Money:
        return total((e.money for e in self.ledger), self.currency)


class EntryKind(StrEnum):
    """Ledger entry kinds, grouped as Regulation F's itemization groups them."""

    #: What was owed on the itemization date.
    ITEMIZATION = "itemization"
    #: Interest charged since the itemization date.
    INTEREST = "interest"
    #: Fees charged since the itemization date.
    FEE = "fee"
    #: A payment received (negative).
    PAYMENT = "payment"
    #: A credit: waiver, settlement discount, goodwill (negative).
    CREDIT = "credit"
    #: A correction that reverses an earlier entry (opposite sign of the entry it reverses).
    REVERSAL = "reversal"
    #: The creditor's file changed a placed balance (either sign; never an overwrite), or an
    #: undone placement brought it back to zero.
    ADJUSTMENT = "adjustment"


class LedgerEntry(db.Model):
    """One posted amount; never updated or deleted — corrections are new entries."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('itemization','interest','fee','payment','credit','reversal','adjustment')",
            name="kind"
        ),
        Index("uq_ledger_entry_payment_posting", "payment_id", unique=True,
              postgresql_where=text("kind = 'payment'")),
        CheckConstraint(
            "(kind IN ('payment','credit') AND amount_minor < 0)"
            " OR (kind IN ('itemization','interest','fee') AND amount_minor >= 0)"
            " OR kind IN ('reversal', 'adjustment')",
            name="sign",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    effective_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    #: The card payment this entry posts or reverses (one posting per payment: a unique index).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    #: How a payment (or its reversal) splits over fees, interest and principal, in minor units.
    allocation: Mapped[dict | None] = mapped_column(JSONB)

    reverses: Mapped[LedgerEntry | None] = relationship(remote_side=[id])

    @property
    def money(self) -> Money:
        return Money(self.amount_minor, self.currency)
