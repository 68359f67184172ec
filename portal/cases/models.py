"""CaseEvent: the append-only, hash-chained record of everything that happens to an account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class CaseEvent(db.Model):
    """One thing that happened, who did it, when, from where; chained per stream.

    A stream is an account (`account:<id>`) or, for what concerns the borrower as a whole
    (signing in and out), the borrower (`borrower:<id>`).
    """

    __tablename__ = "case_event"
    __table_args__ = (
        UniqueConstraint("stream", "seq"),
        Index("ix_case_event_borrower_time", "borrower_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(60))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    #: Which CASE_CHAIN_KEYS key signed `hash` (NULL: a stream already broken when the chain was
    #: keyed, left as it was by migration 0013 and reported by `cases verify`).
    key_id: Mapped[int | None] = mapped_column(SmallInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CaseStream(db.Model):
    """The head of one chain: its last number and hash, exported signed (`cases export-heads`) so
    even dropping the newest events and rewinding the head shows."""

    __tablename__ = "case_stream"

    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
