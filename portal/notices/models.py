"""Consent to receive notices by email: E-SIGN consent as 12 CFR 1006.42(b) relies on for
delivering the validation notice electronically."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class DeliveryConsent(db.Model):
    """A borrower's consent to get notices (the validation notice first) at one email address,
    besides the letter. One in force per borrower; withdrawing ends it, never deletes it."""

    __tablename__ = "electronic_delivery_consent"
    __table_args__ = (
        Index("uq_electronic_delivery_consent_live", "borrower_id", unique=True,
              postgresql_where=text("withdrawn_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    #: The email address consented to (a contact point of the borrower's).
    contact_point_id: Mapped[int] = mapped_column(ForeignKey("contact_point.id"))
    #: borrower (in the portal) | staff
    source: Mapped[str] = mapped_column(String(12))
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    given_by_event_id: Mapped[int] = mapped_column(ForeignKey("case_event.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))
