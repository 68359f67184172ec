"""A payment as we know it, and each Stripe event we received: kept once, applied once."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.crypto import Encrypted
from portal.extensions import db
from portal.money import Money
from portal.payments.rules import PaymentStatus


class Payment(db.Model):
    """One attempt to pay an account by card; written before Stripe is called, so nothing is lost.

    Its amount is fixed when the borrower chooses it; later steps read it from here, never from
    the browser."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("refunded_minor >= 0 AND charged_back_minor >= 0"
                        " AND refunded_minor + charged_back_minor <= amount_minor",
                        name="reversals_within_amount"),
        #: The chargebacks queue (portal/queues).
        Index("ix_payment_chargeback_queue", "updated_at", "id", "account_id",
              postgresql_where=text("charged_back_minor > 0 OR chargeback_id IS NOT NULL")),
        #: A month's payments (reconciliation, statements).
        Index("ix_payment_succeeded_at", "succeeded_at",
              postgresql_where=text("succeeded_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    #: In URLs, in Stripe's metadata and in idempotency keys: never guessable, never reused.
    public_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: full | installment | other: what the borrower chose to pay.
    choice: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=PaymentStatus.CREATED, index=True)
    setup_intent_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    setup_client_secret: Mapped[str | None] = mapped_column(Encrypted("payment.setup_secret"))
    #: The SetupIntent a refused card left behind (the next one's idempotency key names it).
    replaced_setup_intent_id: Mapped[str | None] = mapped_column(String(100))
    payment_intent_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    #: For 3-D Secure: Stripe.js needs it to show the bank's check.
    intent_client_secret: Mapped[str | None] = mapped_column(Encrypted("payment.intent_secret"))
    charge_id: Mapped[str | None] = mapped_column(String(100), index=True)
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    charged_back_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    chargeback_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship()

    @property
    def money(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def receipt_number(self) -> str:
        """Unguessable and not a count of the portal's payments (64 bits of the public id)."""
        digits = self.public_id.hex[:16].upper()
        return f"R-{digits[:8]}-{digits[8:]}"

    @property
    def stripe_reference(self) -> str | None:
        return self.charge_id or self.payment_intent_id


class EventStatus(StrEnum):
    RECEIVED = "received"  # verified and kept; the worker has yet to apply it
    APPLIED = "applied"
    IGNORED = "ignored"  # a type we do not act on
    FAILED = "failed"  # applying raised; retried at next_attempt_at


#: What the worker still has to apply.
PENDING = (EventStatus.RECEIVED, EventStatus.FAILED)


class StripeEvent(db.Model):
    """A verified Stripe webhook event, kept by the endpoint and applied by the worker. Its id is
    the key that makes every repeat a no-op; its payload is the event exactly as verified."""

    __tablename__ = "stripe_event"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'applied', 'ignored', 'failed')", name="status"),
        # The worker's queue: only what is still to apply, oldest first.
        Index("ix_stripe_event_pending", "received_at",
              postgresql_where=text("status IN ('received', 'failed')")),
    )

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    #: The payment the endpoint found it to be about (set again when it is applied).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: received | applied | ignored | failed.
    status: Mapped[str] = mapped_column(String(20))
    #: The verified event (events applied before the inbox existed have none).
    payload: Mapped[dict | None] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The class of the error of the last failed attempt (never its message: it may quote data).
    error: Mapped[str | None] = mapped_column(String(100))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BalanceTransaction(db.Model):
    """What Stripe says a charge, refund or dispute did to our balance: amount, fee, net and
    when it becomes available, as Stripe reported it (a balance transaction, kept once by its
    id). Money is remitted to a lender only once its charge's transaction is available."""

    __tablename__ = "balance_transaction"
    __table_args__ = (Index("ix_balance_transaction_payment", "payment_id"),
                      Index("ix_balance_transaction_payout", "payout_id"),
                      Index("ix_balance_transaction_available", "available_on"))

    #: Stripe's id (txn_…).
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: Stripe's reporting_category (charge, refund, dispute, payout, fee…), which classifies it;
    #: its `type` is kept beside for reading, never to decide.
    reporting_category: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(40))
    #: The charge, refund or dispute it came from (ch_…, re_…, dp_…); None for a payout's own.
    source_id: Mapped[str | None] = mapped_column(String(100), index=True)
    #: Our payment it belongs to, when we know one (None: a Stripe transaction we cannot match).
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    fee_minor: Mapped[int] = mapped_column(BigInteger)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: Stripe's status: pending until available_on, then available.
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    available_on: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The payout that paid it out (po_…), once Stripe reports one.
    payout_id: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                  server_default=func.now())


class StaffRefund(db.Model):
    """A refund a staff member gave at Stripe, with their reason (free text, so sealed; the case
    record names the row, never the words). Written `pending` before Stripe is called, at most
    one per payment, so a double click or two people at once refund once; `done` once applied,
    deleted again if Stripe refused it or could not be reached (nothing was refunded)."""

    __tablename__ = "staff_refund"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("status IN ('pending', 'done')", name="status"),
        #: One refund under way per payment: the second click waits, then finds this one.
        Index("ix_staff_refund_one_pending", "payment_id", unique=True,
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: What the payment had refunded when this one was asked for: with the payment and the
    #: amount it makes the idempotency key, so asking again for the same refund never refunds
    #: twice at Stripe.
    refunded_before: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Encrypted("staff_refund.reason"))
    #: pending | done.
    status: Mapped[str] = mapped_column(String(10))
    #: Stripe's refund (re_…), once made.
    stripe_refund_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
