"""A reconciliation kept as data: one run per agency and month, its items, the explanations a
supervisor gave for differences, and each agency's remittance deadline."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class ReconciliationRun(db.Model):
    """An agency's month checked against Stripe; run again, it keeps its id and its items."""

    __tablename__ = "reconciliation_run"
    __table_args__ = (UniqueConstraint("agency_id", "period", name="uq_reconciliation_run"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    #: The month's first day.
    period: Mapped[date] = mapped_column(Date)
    #: When Stripe was last read for it.
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When its items last changed (a run that finds nothing new leaves this alone).
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReconciliationItem(db.Model):
    """One line: a charge, a payment's reversals, a payment Stripe never settled, a payout."""

    __tablename__ = "reconciliation_item"
    __table_args__ = (UniqueConstraint("run_id", "key", name="uq_reconciliation_item"),
                      Index("ix_reconciliation_item_run_outcome", "run_id", "outcome"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_run.id", ondelete="CASCADE"))
    #: Names it across runs ("charge:ch_…", "refunds:<payment>", "payment:<id>", "payout:po_…").
    key: Mapped[str] = mapped_column(String(140))
    #: Stripe's reporting category (charge, refund, dispute, payout, fee…).
    category: Mapped[str] = mapped_column(String(40))
    #: matched | stripe_only | ours_only | difference (matching.Outcome).
    outcome: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    stripe_minor: Mapped[int | None] = mapped_column(BigInteger)
    ours_minor: Mapped[int | None] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    net_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    creditor_id: Mapped[int | None] = mapped_column(ForeignKey("creditor.id"))
    balance_transaction_id: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[str | None] = mapped_column(String(100))
    payout_id: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReconciliationExplanation(db.Model):
    """A supervisor's reason for a difference, kept for good (a later one supersedes it). It
    explains the difference it was given for: if the amounts move, the item is open again."""

    __tablename__ = "reconciliation_explanation"
    __table_args__ = (Index("ix_reconciliation_explanation_key", "agency_id", "period", "key"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    period: Mapped[date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(140))
    #: Stripe's amount less ours when it was explained (signed, minor units).
    difference_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RemittanceTerms(db.Model):
    """When an agency must have paid its creditors a month's collections (state law differs)."""

    __tablename__ = "remittance_terms"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)
    #: Days after the month's end.
    days: Mapped[int] = mapped_column(Integer)
    #: Counted as business days (Monday to Friday) rather than calendar days.
    business_days: Mapped[bool] = mapped_column(Boolean, default=False)
