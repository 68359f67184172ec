"""The staff audit log: who did what to whom, when and from where; append-only, like the case
record, so a compliance officer can trust what it says about sign-ins and admin actions.

The address a request came from is a staff member's personal data: it is kept apart, encrypted
(`StaffAuditAddress`, which may be erased without touching the log), shown masked on screen and
in full only in the CSV export, whose every download is itself an entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, aliased, mapped_column

from portal.crypto import Encrypted
from portal.extensions import db
from portal.identity.models import StaffUser


class AuditKind(StrEnum):
    #: Password and code both right: a session began.
    SIGNED_IN = "signed_in"
    #: A wrong password or code, a locked or deactivated account (`step` says which); the
    #: attempted password is never kept.
    SIGN_IN_FAILED = "sign_in_failed"
    SIGNED_OUT = "signed_out"
    #: 15 minutes without activity ended the session.
    SESSION_EXPIRED = "session_expired"
    #: An admin invited someone (or sent them a new link); they set a password and TOTP with it.
    INVITED = "invited"
    #: The invited person chose a password and enrolled TOTP.
    ENROLLED = "enrolled"
    #: An admin reset someone's two-step verification: their old codes stop working at once.
    MFA_RESET = "mfa_reset"
    #: The person enrolled a new authenticator after a reset.
    MFA_ENROLLED = "mfa_enrolled"
    ROLE_CHANGED = "role_changed"
    #: Deactivated: every session ended at once, sign-in refused.
    DEACTIVATED = "deactivated"
    REACTIVATED = "reactivated"
    #: Added on the command line (`agency add-staff`).
    ADDED = "added"
    #: A creditor's plan policy changed (before and after kept).
    PLAN_POLICY_CHANGED = "plan_policy_changed"
    #: A supervisor explained a reconciliation's difference (the month, the item, the amount).
    DIFFERENCE_EXPLAINED = "difference_explained"
    #: Someone closed a creditor's remittance statement in the console (creditor, period, id).
    STATEMENT_CLOSED = "statement_closed"
    #: Someone added a creditor's commission terms in the console (from, method, rates).
    TERMS_ADDED = "terms_added"
    #: Someone downloaded this log as CSV (with the filters they used).
    EXPORTED = "exported"


class StaffAuditEntry(db.Model):
    """One thing a staff member did, or that was done to them. Never changed, never deleted (a
    trigger refuses it). Actor and subject are plain ids: the log outlives the people in it."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: The agency whose log it is (whose compliance officers read it).
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    #: Who acted; None: the command line or the system.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    #: Whom it was done to, if anyone.
    subject_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    #: What changed (before/after, the step that failed, the role given); never a password.
    detail: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")

    __table_args__ = (Index("ix_staff_audit_agency_at", "agency_id", "at", "id"),)


class StaffAuditAddress(db.Model):
    """The network address of an entry's request: personal data, sealed, kept beside the log."""

    __tablename__ = "staff_audit_address"

    id: Mapped[int] = mapped_column(BigInteger, ForeignKey("staff_audit.id"), primary_key=True)
    address: Mapped[str] = mapped_column(Encrypted("staff_audit_address.address"))


def audit(kind: AuditKind, *, agency_id: int, actor_id: int | None = None,
          subject_id: int | None = None, source: str | None = None, detail: dict | None = None,
          at: datetime | None = None) -> StaffAuditEntry:
    """Append one entry inside the caller's transaction (it stands or falls with the action)."""
    entry = StaffAuditEntry(at=at or datetime.now(UTC), agency_id=agency_id, actor_id=actor_id,
                            subject_id=subject_id, kind=str(kind), detail=detail or {})
    db.session.add(entry)
    db.session.flush()
    if source:
        db.session.add(StaffAuditAddress(id=entry.id, address=source))
    return entry


@dataclass(frozen=True)
class Filters:
    """What a reader narrows the log to: a person (as actor or subject), a kind, UTC dates."""

    person_id: int | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None

    def as_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Line:
    """An entry as a reader sees it: with the names of who and whom, and the address."""

    entry: StaffAuditEntry
    actor: str | None
    subject: str | None
    address: str | None


def _query(agency_id: int, filters: Filters):
    actor, subject = aliased(StaffUser), aliased(StaffUser)
    query = (select(StaffAuditEntry, actor.name, subject.name, StaffAuditAddress)
             .outerjoin(actor, actor.id == StaffAuditEntry.actor_id)
             .outerjoin(subject, subject.id == StaffAuditEntry.subject_id)
             .outerjoin(StaffAuditAddress, StaffAuditAddress.id == StaffAuditEntry.id)
             .where(StaffAuditEntry.agency_id == agency_id))
    if filters.person_id is not None:
        query = query.where((StaffAuditEntry.actor_id == filters.person_id)
                            | (StaffAuditEntry.subject_id == filters.person_id))
    if filters.kind:
        query = query.where(StaffAuditEntry.kind == filters.kind)
    if filters.since:
        query = query.where(StaffAuditEntry.at >= datetime.combine(filters.since, time(), UTC))
    if filters.until:
        query = query.where(StaffAuditEntry.at < datetime.combine(
            filters.until + timedelta(days=1), time(), UTC))
    return query.order_by(StaffAuditEntry.at.desc(), StaffAuditEntry.id.desc())


def _lines(rows) -> list[Line]:
    return [Line(entry, actor, subject, sealed.address if sealed else None)
            for entry, actor, subject, sealed in rows]


def entries(agency_id: int, filters: Filters, page: int, size: int = 50) -> tuple[
        Sequence[Line], bool]:
    """One page of the agency's log, newest first, and whether another page follows."""
    rows = db.session.execute(_query(agency_id, filters).limit(size + 1)
                              .offset((page - 1) * size)).all()
    return _lines(rows[:size]), len(rows) > size


def every_entry(agency_id: int, filters: Filters, limit: int) -> list[Line]:
    """The agency's log as filtered, newest first, at most `limit` entries (for the export)."""
    return _lines(db.session.execute(_query(agency_id, filters).limit(limit)).all())
