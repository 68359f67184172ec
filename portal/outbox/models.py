"""Messages for the agency's systems, written in the same transaction as the change they report."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import Encrypted
from portal.extensions import db

#: Every topic an outgoing webhook can carry (CONTRACT.md).
TOPICS = (
    "contact.hold.started", "contact.hold.ended",
    "payment.succeeded", "payment.failed", "payment.refunded", "payment.charged_back",
    "plan.proposed", "plan.accepted", "plan.broken", "plan.decided", "plan.completed",
    "plan.installment_paid", "plan.installment_failed", "plan.changed",
    "dispute.opened", "dispute.resolved", "dispute.documents_requested",
    "preferences.changed",
    "account.placed",
    "account.recalled",
    "remittance.closed",
)


class OutboxMessage(db.Model):
    """One fact to tell the agency's systems; its id is the webhook's id, for deduplication."""

    __tablename__ = "outbox_message"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    topic: Mapped[str] = mapped_column(String(40), index=True)
    account_ref: Mapped[str | None] = mapped_column(String(30))
    #: Whose systems hear of it: only this agency's endpoints (None: an account of no agency's,
    #: which no endpoint receives).
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    payload: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    case_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))


class WebhookEndpoint(db.Model):
    """An agency-configured URL that receives some topics of that agency's accounts only, signed
    with its own secret."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(Encrypted("webhook_endpoint.secret"))
    topics: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    active: Mapped[bool] = mapped_column(default=True)


class WebhookDelivery(db.Model):
    """One message owed to one endpoint, and how its delivery went."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "next_attempt_at", postgresql_where="status = 'pending'"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryAttempt(db.Model):
    """Each try of a delivery: when, what came back."""

    __tablename__ = "webhook_delivery_attempt"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
