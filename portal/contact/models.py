"""Holds and preferences (both derived from case events) and recorded contact attempts."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Time,
    false,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.crypto import Encrypted
from portal.extensions import db


class ContactHold(db.Model):
    """A pause on contact that a rule requires, as derived from the case record.

    Scope is the account, or (account_id NULL) every account of the borrower. Rows are never
    deleted: a hold that ends gets `ended_at` and the event that ended it.
    """

    __tablename__ = "contact_hold"
    #: The queue of holds ending this week: those in force that end by themselves.
    __table_args__ = (Index("ix_contact_hold_ending_queue", "until", postgresql_where=sql(
        "ended_at IS NULL AND until IS NOT NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    rule: Mapped[str] = mapped_column(String(60))
    #: NULL: every channel.
    channels: Mapped[list[str] | None] = mapped_column(ARRAY(String(12)))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: When it lapses by itself (breathing space), if it does.
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_by_event_id: Mapped[int] = mapped_column(ForeignKey("case_event.id"))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))
    #: The derivation's key for this hold, stable across replays.
    key: Mapped[str] = mapped_column(String(120))


class ContactPreferences(db.Model):
    """A borrower's current contact preferences, as the last preferences event left them."""

    __tablename__ = "contact_preferences"

    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), primary_key=True)
    data: Mapped[dict] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactConsent(db.Model):
    """A borrower's direct prior consent to contact on one channel outside the usual hours.

    Whether it is in force is derived from its case events (contact/derive.py), like every
    preference; the row keeps who took it and, taken by staff, what was said (encrypted).
    """

    __tablename__ = "contact_consent"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    channel: Mapped[str] = mapped_column(String(12))
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    #: Weekdays (0 Monday .. 6 Sunday) it covers; NULL: every day.
    days: Mapped[list[int] | None] = mapped_column(ARRAY(SmallInteger))
    #: borrower (in the portal) | staff (told by the borrower, e.g. on a call)
    source: Mapped[str] = mapped_column(String(12))
    #: The staff user who took it, where staff did.
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    #: What the borrower said, in staff's words (may quote personal details).
    statement: Mapped[str | None] = mapped_column(Encrypted("contact_consent.statement"))
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    given_by_event_id: Mapped[int] = mapped_column(ForeignKey("case_event.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))


class ContactAttempt(db.Model):
    """A contact that happened, as a dialer or platform reported it; never edited."""

    __tablename__ = "contact_attempt"
    __table_args__ = (Index("ix_contact_attempt_account_at", "account_id", "at"),
                      CheckConstraint("direction IN ('outbound', 'inbound')", name="direction"),
                      #: The queue of contact the rules would have blocked, newest first.
                      # (the account for the agency's scope, the reporter for its summary:
                      # both read from the index alone)
                      Index("ix_contact_attempt_violation_queue", "at", "id", "account_id",
                            "reported_by", postgresql_where=sql("violation")))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    channel: Mapped[str] = mapped_column(String(12))
    destination: Mapped[str | None] = mapped_column(Encrypted("contact_attempt.destination"))
    destination_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(20))
    #: outbound (we contacted them) or inbound (the borrower called us): 1006.14(b)(2)(i)(B)
    #: counts a conversation either way; only our connected calls count toward 7 in 7.
    direction: Mapped[str] = mapped_column(String(8), default="outbound",
                                           server_default="outbound")
    #: Made with the borrower's prior consent given directly within 7 days (1006.14(b)(3)(i)).
    with_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reported_by: Mapped[str] = mapped_column(String(60))
    #: The rules would have blocked it: flagged for compliance review.
    violation: Mapped[bool] = mapped_column(default=False)
    violated_rules: Mapped[list[str]] = mapped_column(ARRAY(String(60)), default=list)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContactPointSummary(db.Model):
    """What the bulk contact path reads of a borrower's contact points, one row per borrower.

    Kept by triggers on contact_point (migration 0011) in the same transaction as any change:
    never written from Python.
    """

    __tablename__ = "contact_point_summary"

    borrower_id: Mapped[int] = mapped_column(
        ForeignKey("borrower.id", ondelete="CASCADE"), primary_key=True)
    #: How many mailing addresses.
    addresses: Mapped[int]
    #: Where the one mailing address is, when there is exactly one (else NULL).
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(50))
    home_zone: Mapped[str | None] = mapped_column(String(64))
    #: Every time zone of every contact point, distinct and sorted.
    zones: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    #: Some point is opted out.
    opted_out: Mapped[bool]


class ContactStatement(db.Model):
    """What a borrower told us about their situation (an attorney, a bankruptcy, breathing space)
    in their own words: personal, so it is kept here encrypted and the case event names the row.
    Never edited (a later statement is a new row)."""

    __tablename__ = "contact_statement"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    #: The case event kind it was recorded with.
    kind: Mapped[str] = mapped_column(String(60))
    #: JSON object: attorney name and contact; bankruptcy case number; breathing space kind and
    #: reference.
    details: Mapped[str] = mapped_column(Encrypted("contact_statement.details"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
