"""Plans: a creditor's plan policy, a borrower's plan (proposed, decided, accepted, run), and its
installments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import numbers
from portal.accounts.models import Account
from portal.crypto import Encrypted
from portal.extensions import db
from portal.lifecycle import Lifecycle
from portal.money import Money


class CreditorPlanPolicy(db.Model):
    """A creditor's rules for plans, as data an admin can edit (the fields of policy.PlanPolicy)."""

    __tablename__ = "creditor_plan_policy"

    creditor_id: Mapped[int] = mapped_column(ForeignKey("creditor.id"), primary_key=True)
    data: Mapped[dict] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(60))


class PlanStatus(StrEnum):
    #: Decided automatically or by a person, waiting for the borrower.
    APPROVED = "approved"
    #: The rules offer another plan; the borrower can accept it in one tap.
    COUNTERED = "countered"
    #: A person decides (hardship, or what the rules cannot settle): with when to expect it.
    REFERRED = "referred"
    #: Not possible, with the reason.
    DECLINED = "declined"
    #: The borrower accepted: installments are due.
    ACTIVE = "active"
    #: Every installment paid.
    COMPLETED = "completed"
    #: An installment stayed unpaid past the grace period.
    BROKEN = "broken"
    #: The borrower (or staff) ended it before it was accepted or completed.
    CANCELED = "canceled"


P = PlanStatus
#: A proposal waits for the borrower (approved, countered) or a person (referred); accepted, it is
#: active until every installment is paid (completed) or one stays unpaid too long (broken);
#: a newer proposal cancels an open one, and a recall of the account cancels any open or active
#: plan. Completed, broken and canceled are final.
PLAN = Lifecycle("plan", PlanStatus, {
    P.APPROVED: {P.ACTIVE, P.REFERRED, P.CANCELED},
    P.COUNTERED: {P.APPROVED, P.REFERRED, P.CANCELED},
    P.REFERRED: {P.APPROVED, P.COUNTERED, P.DECLINED, P.CANCELED},
    P.DECLINED: {P.REFERRED},
    P.ACTIVE: {P.COMPLETED, P.BROKEN, P.CANCELED},
    P.COMPLETED: set(),
    P.BROKEN: set(),
    P.CANCELED: set(),
})


class PaymentPlan(db.Model):
    """One proposal and, once accepted, the plan it became."""

    __tablename__ = "payment_plan"
    __table_args__ = (
        # One running plan per account: two would charge the same balance twice.
        Index("uq_payment_plan_one_active", "account_id", unique=True,
              postgresql_where=text("status = 'active'")),
        #: The plans and hardship queues: proposals waiting for a person (portal/queues).
        Index("ix_payment_plan_referred_queue", "created_at", "id", "account_id",
              postgresql_where=text("status = 'referred'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    #: installments | settlement | hardship
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    #: The balance when proposed, and what the plan pays in all (a settlement pays less).
    balance_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    monthly_minor: Mapped[int | None] = mapped_column(BigInteger)
    months: Mapped[int | None] = mapped_column(Integer)
    pause_days: Mapped[int | None] = mapped_column(Integer)
    first_due: Mapped[date] = mapped_column(Date)
    #: hardship: job_loss | illness | bereavement | other
    hardship_reason: Mapped[str | None] = mapped_column(String(20))
    hardship_details: Mapped[str | None] = mapped_column(Encrypted("payment_plan.hardship"))
    #: The budget check, if the borrower did one (JSON text; personal: encrypted).
    budget: Mapped[str | None] = mapped_column(Encrypted("payment_plan.budget"))
    #: {"outcome", "reasons": [{"code", "figures"}], "counter": {...} | null, "by": "rules"|staff}
    decision: Mapped[dict] = mapped_column(JSONB)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    review_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    autopay: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The recurring-payment consent as the borrower read it, and when and from where.
    consent_text: Mapped[str | None] = mapped_column(String(2000))
    consent_source: Mapped[str | None] = mapped_column(String(64))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100))
    setup_intent_id: Mapped[str | None] = mapped_column(String(100))
    setup_client_secret: Mapped[str | None] = mapped_column(Encrypted("payment_plan.setup"))
    payment_method_id: Mapped[str | None] = mapped_column(String(100))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship()
    installments: Mapped[list[Installment]] = relationship(
        back_populates="plan", order_by="Installment.number")

    @property
    def number(self) -> str:
        return numbers.number("P", self.id)

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.currency)


class InstallmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    #: A charge is with Stripe.
    PROCESSING = "processing"
    PAID = "paid"
    #: The last charge failed; retried, or paid by hand, before the grace period ends.
    FAILED = "failed"


I = InstallmentStatus  # noqa: E741 short, as the payments code writes S
#: Scheduled until charged (processing) or paid by hand; a charge succeeds (paid) or fails (failed,
#: retried); one Stripe never took is due again as it was. Paid is final.
INSTALLMENT = Lifecycle("installment", InstallmentStatus, {
    I.SCHEDULED: {I.PROCESSING, I.PAID, I.FAILED},
    I.PROCESSING: {I.PAID, I.FAILED, I.SCHEDULED},
    I.FAILED: {I.PROCESSING, I.PAID, I.FAILED, I.SCHEDULED},
    I.PAID: set(),
})


class Installment(db.Model):
    """One amount due on one date; paid by autopay or by hand, once."""

    __tablename__ = "installment"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_installment_plan_number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("payment_plan.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), default=InstallmentStatus.SCHEDULED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_on: Mapped[date | None] = mapped_column(Date)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    plan: Mapped[PaymentPlan] = relationship(back_populates="installments")

    @property
    def money(self) -> Money:
        return Money(self.amount_minor, self.plan.currency)
