"""Staff users, one-time sign-in codes, sign-in failures and server-side sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Creditor
from portal.crypto import Encrypted
from portal.extensions import db

if TYPE_CHECKING:  # named, not imported: the agency package reads staff users
    from portal.agency.models import Agency


class Role(StrEnum):
    #: Manages staff, keys and settings; sees every case.
    ADMIN = "admin"
    #: Works cases: reads accounts and their history.
    AGENT = "agent"
    #: Leads agents: what an agent does, and the decisions above them (balance adjustments,
    #: placement imports and recalls, a supervisor's pause).
    SUPERVISOR = "supervisor"
    #: Reviews holds, disputes and flagged contact; reads every case.
    COMPLIANCE = "compliance"
    #: A creditor's user: sees that creditor's portfolio only, never the agency console.
    LENDER = "lender"


class StaffUser(UserMixin, db.Model):
    """An agency or lender user; signs in with password and TOTP."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str] = mapped_column(Encrypted("staff_user.totp_secret"))
    #: Last TOTP time step accepted, so a code cannot be replayed.
    last_totp_step: Mapped[int] = mapped_column(BigInteger, default=0)
    role: Mapped[str] = mapped_column(String(20))
    creditor_id: Mapped[int | None] = mapped_column(ForeignKey("creditor.id"))
    #: The agency whose accounts this user sees and acts on, and no other's (a lender's is the
    #: agency its creditor placed with).
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: The IANA zone the console shows times in (None: the agency's, else UTC).
    time_zone: Mapped[str | None] = mapped_column(String(64))

    creditor: Mapped[Creditor | None] = relationship()
    agency: Mapped[Agency] = relationship("Agency")

    is_borrower = False
    is_staff = True
    is_helper = False

    def get_id(self) -> str:
        return f"s:{self.id}"

    @property
    def shown_time_zone(self) -> str:
        """The zone the console shows this user's times in: theirs, the agency's, or UTC."""
        return self.time_zone or (self.agency.time_zone if self.agency else None) or "UTC"

    @property
    def is_active(self) -> bool:
        return self.active


class OneTimeCode(db.Model):
    """A six-digit sign-in code: stored hashed, 10 minutes, 5 tries, usable once."""

    __tablename__ = "one_time_code"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrower.id"), index=True)
    contact_point_id: Mapped[int] = mapped_column(ForeignKey("contact_point.id"))
    code_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInFailure(db.Model):
    """A failed sign-in step, keyed by a hash of what was typed, whether or not it exists."""

    __tablename__ = "sign_in_failure"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subject_digest: Mapped[bytes] = mapped_column(LargeBinary(32), index=True)
    failed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )


class PortalSession(db.Model):
    """A signed-in session held on the server, so sign-out and idle timeout really end it."""

    __tablename__ = "portal_session"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_key: Mapped[str] = mapped_column(String(30), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(20))
