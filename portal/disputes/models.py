"""A dispute, and the files that go with it (the borrower's evidence, staff's verification)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import numbers
from portal.accounts.models import Account
from portal.crypto import Encrypted
from portal.disputes.rules import DisputeStatus
from portal.extensions import db


class Dispute(db.Model):
    """A borrower's statement that the debt, or part of it, is wrong; collection pauses on it."""

    __tablename__ = "dispute"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(30)))
    #: In the borrower's own words (may carry personal details: encrypted).
    details: Mapped[str | None] = mapped_column(Encrypted("dispute.details"))
    #: None: the whole debt; else the disputed part, in the account's currency.
    disputed_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    wants_original_creditor: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=DisputeStatus.RECEIVED, index=True)
    #: Whether it arrived inside the validation period (Regulation F 1006.38).
    within_validation: Mapped[bool] = mapped_column(Boolean)
    #: The holds it started, by key ({'dispute': rule, 'identity-theft': rule}).
    holds: Mapped[dict] = mapped_column(JSONB, default=dict)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    documents_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verification_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: portal_email | mail
    verification_delivery: Mapped[str | None] = mapped_column(String(20))
    #: The original creditor's name and address, as sent to the borrower who asked (1006.38(c)).
    original_creditor: Mapped[str | None] = mapped_column(Encrypted("dispute.original_creditor"))
    original_creditor_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: upheld | not_upheld
    outcome: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(String(1000))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship()
    files: Mapped[list[EvidenceFile]] = relationship(
        back_populates="dispute", order_by="EvidenceFile.id")

    @property
    def number(self) -> str:
        return numbers.number("D", self.id)


class EvidenceFile(db.Model):
    """One uploaded file, stored encrypted outside the web root under a random name."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id"), index=True)
    #: evidence (from the borrower) | verification (sent to the borrower by staff)
    kind: Mapped[str] = mapped_column(String(20))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(Encrypted("evidence_file.display_name"))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    dispute: Mapped[Dispute] = relationship(back_populates="files")
