"""A lender user's creditors, the creditors' commission terms (with history), payments a lender
reports as made to them directly, and closed remittance statements.

Terms, direct payments and statements are append-only (a trigger refuses UPDATE and DELETE, as
on the ledger): new terms supersede old ones from their `valid_from`; a statement is written
whole when it is closed and never changes after.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account, Creditor
from portal.extensions import db


class LenderCreditor(db.Model):
    """One creditor whose portfolio a lender user sees (a lender group has several)."""

    __tablename__ = "lender_creditor"

    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"), primary_key=True)


class Method(StrEnum):
    #: The agency keeps its commission and remits the rest.
    NET = "net"
    #: The agency remits everything collected and invoices its commission.
    GROSS = "gross"
    #: Commission on what the agency collected is kept (net); on what the lender was paid
    #: directly, invoiced.
    COMBINED = "combined"


class CreditorTerms(db.Model):
    """A creditor's terms from `valid_from` on, until newer terms: never edited in place."""

    __tablename__ = "creditor_terms"
    __table_args__ = (
        CheckConstraint("method IN ('net', 'gross', 'combined')", name="method"),
        CheckConstraint("period IN ('monthly')", name="period"),
        UniqueConstraint("creditor_id", "valid_from", name="uq_creditor_terms_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    #: net | gross | combined: how the money moves (Method).
    method: Mapped[str] = mapped_column(String(10))
    #: How often statements close (monthly, the default and for now the only one).
    period: Mapped[str] = mapped_column(String(10), server_default="monthly")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())

    rates: Mapped[list[CommissionRate]] = relationship(order_by="CommissionRate.id")


class CommissionRate(db.Model):
    """A contingency rate of some terms, for an account type (None: any) from a placement age."""

    __tablename__ = "commission_rate"
    __table_args__ = (
        CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_bp"),
        CheckConstraint("min_age_days >= 0", name="min_age_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    terms_id: Mapped[int] = mapped_column(ForeignKey("creditor_terms.id"), index=True)
    #: The account's product ("Credit card"); None matches any.
    product: Mapped[str | None] = mapped_column(String(100))
    #: Days since placement when the payment was made, from which this rate applies.
    min_age_days: Mapped[int] = mapped_column(Integer, server_default="0")
    #: Basis points: 2500 is 25 %.
    rate_bp: Mapped[int] = mapped_column(Integer)


class DirectPayment(db.Model):
    """A payment the borrower made to the lender directly, reported by the lender: posted to the
    ledger, and the agency's commission on it invoiced or withheld on the next statement."""

    __tablename__ = "direct_payment"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        UniqueConstraint("account_id", "lender_reference", name="uq_direct_payment_reference"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Who reported it: "staff:<id>" (the portal, a CSV) or "partner:key:<id>" (the API).
    reported_by: Mapped[str] = mapped_column(String(60))
    #: The lender's own id of the payment: the same id twice on one account is one payment.
    lender_reference: Mapped[str | None] = mapped_column(String(100))
    ledger_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))

    account: Mapped[Account] = relationship()


class RemittanceStatement(db.Model):
    """One creditor's statement of one period, written when it closes and never changed."""

    __tablename__ = "remittance_statement"
    __table_args__ = (UniqueConstraint("creditor_id", "period",
                                       name="uq_remittance_statement_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"))
    #: YYYY-MM.
    period: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The first instant after the period: money Stripe reports available by this instant is
    #: on the statement (settlement.available); payments and reversals before it.
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The remittance method of the terms in force at the period's end.
    method: Mapped[str] = mapped_column(String(10))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str] = mapped_column(String(60))

    creditor: Mapped[Creditor] = relationship()
    lines: Mapped[list[RemittanceLine]] = relationship(order_by="RemittanceLine.id",
                                                       viewonly=True)


class RemittanceLine(db.Model):
    """One account's figures on a statement (commission rounded half-even on this line)."""

    __tablename__ = "remittance_line"
    __table_args__ = (UniqueConstraint("statement_id", "account_id",
                                       name="uq_remittance_line_account"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("remittance_statement.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    currency: Mapped[str] = mapped_column(String(3))
    #: Card payments first remitted on this statement.
    collected_minor: Mapped[int] = mapped_column(BigInteger)
    #: Refunds and chargebacks accounted here (of this statement's payments or, as deductions,
    #: of payments remitted on an earlier one).
    refunded_minor: Mapped[int] = mapped_column(BigInteger)
    charged_back_minor: Mapped[int] = mapped_column(BigInteger)
    #: The agency's commission on collected less reversed (negative: commission given back).
    commission_minor: Mapped[int] = mapped_column(BigInteger)
    #: Payments the lender reported as made to them directly, and the commission on them.
    direct_minor: Mapped[int] = mapped_column(BigInteger)
    direct_commission_minor: Mapped[int] = mapped_column(BigInteger)

    account: Mapped[Account] = relationship()


class RemittanceItem(db.Model):
    """What a statement accounted of one payment (card or direct): how the next statement knows
    what was remitted and what it still has to deduct."""

    __tablename__ = "remittance_item"
    __table_args__ = (
        CheckConstraint("(payment_id IS NULL) <> (direct_payment_id IS NULL)",
                        name="one_source"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("remittance_statement.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    direct_payment_id: Mapped[int | None] = mapped_column(ForeignKey("direct_payment.id"),
                                                          unique=True)
    collected_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger)
    charged_back_minor: Mapped[int] = mapped_column(BigInteger)
    rate_bp: Mapped[int] = mapped_column(Integer)
