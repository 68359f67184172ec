"""A borrower's request to correct what we hold about them, answered by staff by a deadline."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.crypto import Encrypted
from portal.extensions import db


class CorrectionRequest(db.Model):
    __tablename__ = "correction_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    #: The account it is about (the agency that holds it answers).
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    #: What is wrong and what is right, in the borrower's words.
    details: Mapped[str] = mapped_column(Encrypted("correction_request.details"))
    #: The law whose deadline applies (rules.DEADLINES).
    law: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: corrected or declined.
    outcome: Mapped[str | None] = mapped_column(String(20))
    answer: Mapped[str | None] = mapped_column(Encrypted("correction_request.answer"))
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    account: Mapped[Account] = relationship()
