"""Agencies, their partner systems and the partners' API keys (kept only as SHA-256 digests)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agency.models import Agency
from portal.extensions import db

__all__ = ["Agency", "ApiKey", "Partner"]


class Partner(db.Model):
    """A program of the agency's (dialer, SMS platform, CRM) that calls the JSON API."""

    __tablename__ = "partner"
    __table_args__ = (UniqueConstraint("agency_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: A lender user's own system: its keys read that lender's remittances and report direct
    #: payments, and nothing of the agency's (no contact decisions, no other creditor's data).
    lender_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    agency: Mapped[Agency] = relationship()


class ApiKey(db.Model):
    """One key of a partner. The key itself is never stored: only its SHA-256 digest, and a short
    public id that names the key in logs, rate limits and the case record."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    partner: Mapped[Partner] = relationship()
