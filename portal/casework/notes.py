"""What staff write on a case, kept encrypted: the case record names the note, never its words."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import Encrypted
from portal.extensions import db


class NoteAbout(StrEnum):
    """What a case note records."""

    #: A note, as staff wrote it.
    NOTE = "note"
    #: What was said and agreed in a conversation with the borrower (with its attempt).
    CONVERSATION = "conversation"
    #: The reason for a balance adjustment (with its ledger entry).
    ADJUSTMENT = "adjustment"
    #: A message staff wrote to the borrower (its words as sent).
    MESSAGE = "message"
    #: The reason for a supervisor's pause.
    PAUSE = "pause"


class CaseNote(db.Model):
    """Words a staff member wrote about an account; free text may hold personal data, so it is
    encrypted and the case event carries only the note's id."""

    __tablename__ = "case_note"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    about: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Encrypted("case_note.text"))
    #: The contact attempt a conversation's note belongs to.
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("contact_attempt.id"))
    #: The ledger entry an adjustment's reason belongs to.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
