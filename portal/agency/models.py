"""The collection agency itself: whose creditors' accounts it works, and its own contact policy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class Agency(db.Model):
    """A collection agency: its creditors' accounts are what its partners may see."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: Agency policy rules switched on or off ({"policy.plan-in-good-standing": false}); law
    #: cannot be switched off, and a rule not named here is on.
    contact_policy: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    #: The address its emails come from (the name is the agency's); None: the MAIL_FROM setting.
    email_from: Mapped[str | None] = mapped_column(String(200))
    #: Its sender on SMS (a short code, number or alphanumeric id), as its provider knows it.
    sms_sender: Mapped[str | None] = mapped_column(String(40))
    #: The IANA zone its staff see times in unless they chose their own (None: UTC).
    time_zone: Mapped[str | None] = mapped_column(String(64))
    #: Its return address on letters, lines separated by newlines.
    postal_address: Mapped[str | None] = mapped_column(Text)
