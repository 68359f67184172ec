"""Messages the portal sends to borrowers; in demo mode they are captured here instead."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy import (
    text as sql,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.contact.rulebook import Purpose
from portal.crypto import Encrypted
from portal.extensions import db


class CapturedMessage(db.Model):
    """An email or text the portal would have sent, kept for /dev/messages in demo mode."""

    __tablename__ = "captured_message"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(Encrypted("captured_message.destination"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Encrypted("captured_message.body"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(40))


class OutgoingStatus(StrEnum):
    #: Written with the action that caused it; the worker will send it.
    QUEUED = "queued"
    #: The provider took it (Sent); a delivery report may still follow.
    SENT = "sent"
    #: The provider reported it delivered.
    DELIVERED = "delivered"
    #: Refused for good, or out of tries: the destination is marked, staff see it.
    FAILED = "failed"
    #: Never handed over: a hold, a cease or an opt-out recorded after it was queued stops it
    #: (`rule` names it), or its contact point became undeliverable.
    CANCELLED = "cancelled"


class OutgoingMessage(db.Model):
    """A message to a borrower on its way out: written in the transaction that caused it, sent
    by the worker with retries, settled by the provider's delivery report."""

    __tablename__ = "outgoing_message"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    destination: Mapped[str] = mapped_column(Encrypted("outgoing_message.destination"))
    subject: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Encrypted("outgoing_message.text"))
    html: Mapped[str | None] = mapped_column(Encrypted("outgoing_message.html"))
    language: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40))
    #: None for a message to a staff member (an invitation, an MFA reset link).
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrower.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    #: The contact attempt recorded with it, whose outcome a delivery report settles.
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("contact_attempt.id"))
    #: The contact point it goes to, marked when delivery fails for good.
    contact_point_id: Mapped[int | None] = mapped_column(ForeignKey("contact_point.id"))
    #: A borrower is waiting (a sign-in code): sent at once, ahead of the rest.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: What it is for (a Purpose): the contact rules judge it again when it is sent.
    purpose: Mapped[str] = mapped_column(String(20), default=Purpose.COLLECTION)
    #: The contact rule that holds it back (queued, due when the rule allows) or cancelled it.
    rule: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12), default=OutgoingStatus.QUEUED)
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_try_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(100))
    error_code: Mapped[str | None] = mapped_column(String(40))
    #: Why it failed, in the provider's words (never the message's content).
    error: Mapped[str | None] = mapped_column(String(300))
    #: Where the borrower opts out of messages like this (collection ones, 1006.6(e)).
    unsubscribe: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'delivered', 'failed', 'cancelled')",
                        name="status"),
        CheckConstraint("channel IN ('email', 'sms', 'letter')", name="channel"),
        UniqueConstraint("provider", "provider_ref", name="uq_outgoing_provider_ref"),
        # What the worker picks next: queued, due, the urgent first.
        Index("ix_outgoing_due", "urgent", "next_try_at",
              postgresql_where=sql("status = 'queued'")),
        #: The bounced messages queue: failed for good, newest first (portal/queues).
        Index("ix_outgoing_failed_queue", "created_at", "id", "account_id",
              postgresql_where=sql("status = 'failed'")),
    )
