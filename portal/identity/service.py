"""Sign-in operations for borrowers and staff; each one a transaction with its case events."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from portal.accounts.models import Borrower, ContactKind, ContactPoint
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.crypto import lookup_digest
from portal.extensions import db
from portal.identity import rules
from portal.identity.audit import AuditKind, audit
from portal.identity.models import OneTimeCode, PortalSession, SignInFailure, StaffUser
from portal.operations import Refused, operation

passwords = PasswordHasher()
# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH = passwords.hash("not-a-real-password")


class SignInRefused(Refused):
    """The details did not match; the message never says which part or whether it exists."""

    def __init__(self):
        super().__init__(
            _("We could not match those details. Check your reference number and date of birth."),
            status=422,
        )


class LockedOut(Refused):
    """Too many failures for this reference (or any reference typed) recently."""

    def __init__(self, until: datetime):
        super().__init__(
            _("Too many attempts. For your security, try again after 15 minutes."), status=429
        )
        self.until = until


class CodeRefused(Refused):
    """The code was wrong, expired, used, or tried too often."""


def _now() -> datetime:
    return datetime.now(UTC)


def _subject(kind: str, value: str) -> bytes:
    return lookup_digest(value, f"signin:{kind}")


def _check_lock(subject: bytes, now: datetime) -> None:
    since = now - rules.LOCKOUT_WINDOW
    failures = list(
        db.session.scalars(
            select(SignInFailure.failed_at).where(
                SignInFailure.subject_digest == subject, SignInFailure.failed_at > since
            )
        )
    )
    until = rules.lockout_until(failures, now)
    if until:
        raise LockedOut(until)


def _fail(subject: bytes, now: datetime, error: Refused) -> None:
    """Keep the failure (it counts toward the lockout) and refuse."""
    db.session.add(SignInFailure(subject_digest=subject, failed_at=now))
    db.session.commit()
    raise error


@operation
def check_identity(reference: str, date_of_birth: str) -> Borrower:
    """Step 1: reference + date of birth. Same answer and cost whether the reference exists."""
    now = _now()
    ref = rules.normalise_reference(reference)
    subject = _subject("reference", ref)
    _check_lock(subject, now)
    borrower = db.session.scalar(select(Borrower).where(Borrower.reference == ref))
    typed = lookup_digest(date_of_birth, "borrower.date_of_birth")
    expected = borrower.date_of_birth_digest if borrower else secrets.token_bytes(32)
    if borrower is None or not hmac.compare_digest(typed, expected):
        _fail(subject, now, SignInRefused())
    return borrower


def code_destinations(borrower: Borrower) -> list[ContactPoint]:
    """Where a code may go: the borrower's phones (text) and emails, not opted out."""
    return [
        c
        for c in borrower.contact_points
        if c.kind in (ContactKind.PHONE, ContactKind.EMAIL) and c.opted_out_at is None
    ]


def masked(point: ContactPoint) -> str:
    if point.kind == ContactKind.EMAIL:
        return rules.mask_email(point.value)
    return rules.mask_phone(point.value)


def _code_digest(code_id_salt: str, code: str) -> bytes:
    return lookup_digest(code, f"otp:{code_id_salt}")


@dataclass(frozen=True)
class IssuedCode:
    """A code ready to send: its row, the code itself (only its digest is kept) and where to."""

    otp: OneTimeCode
    code: str
    borrower: Borrower
    channel: str
    destination: str


def issue_code(borrower_id: int, contact_point_id: int, source: str | None) -> IssuedCode:
    """Step 2: a fresh six-digit code for the chosen destination, in the caller's transaction
    (messaging sends it: identity sits a floor below); older codes stop working."""
    now = _now()
    borrower = db.session.get(Borrower, borrower_id)
    point = next((c for c in code_destinations(borrower) if c.id == contact_point_id), None)
    if point is None:
        raise Refused(_("Choose where to send your code."))
    sent_recently = db.session.scalar(
        select(func.count(OneTimeCode.id)).where(
            OneTimeCode.borrower_id == borrower.id,
            OneTimeCode.created_at > now - timedelta(hours=1),
        )
    )
    if sent_recently >= rules.CODES_PER_HOUR:
        raise LockedOut(now + timedelta(hours=1))
    for old in db.session.scalars(
        select(OneTimeCode).where(
            OneTimeCode.borrower_id == borrower.id, OneTimeCode.consumed_at.is_(None)
        )
    ):
        old.consumed_at = now
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    otp = OneTimeCode(
        borrower_id=borrower.id,
        contact_point_id=point.id,
        code_digest=salt.encode() + b":" + _code_digest(salt, code),
        created_at=now,
        expires_at=now + rules.CODE_LIFETIME,
    )
    db.session.add(otp)
    channel = "email" if point.kind == ContactKind.EMAIL else "sms"
    record(
        Actor("borrower", str(borrower.id), source),
        EventKind.SIGN_IN_CODE_SENT,
        borrower_id=borrower.id,
        data={"channel": channel, "to": masked(point)},
    )
    db.session.flush()
    return IssuedCode(otp, code, borrower, channel, point.value)


def _code_matches(otp: OneTimeCode, code: str) -> bool:
    salt, _sep, digest = otp.code_digest.partition(b":")
    return hmac.compare_digest(_code_digest(salt.decode(), code), digest)


@dataclass(frozen=True)
class SignedIn:
    user: Borrower | StaffUser
    token: str


def _start_session(user_key: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    db.session.add(
        PortalSession(
            token_digest=hashlib.sha256(token.encode()).digest(),
            user_key=user_key,
            started_at=now,
            last_seen_at=now,
        )
    )
    return token


@operation
def verify_code(borrower_id: int, code_id: int, typed: str, source: str | None) -> SignedIn:
    """Step 3: the code; right once within 10 minutes and 5 tries, or refused."""
    now = _now()
    borrower = db.session.get(Borrower, borrower_id)
    subject = _subject("reference", borrower.reference)
    _check_lock(subject, now)
    otp = db.session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.id == code_id, OneTimeCode.borrower_id == borrower_id)
        .with_for_update()
    )
    usable = otp is not None and rules.code_usable(
        created_at=otp.created_at, attempts=otp.attempts, consumed=otp.consumed_at is not None,
        now=now,
    )
    if not usable:
        raise CodeRefused(_("This code has expired or was already used. Ask for a new code."))
    code = rules.normalise_code(typed)
    if not rules.CODE_PATTERN.match(code) or not _code_matches(otp, code):
        otp.attempts += 1
        left = rules.CODE_MAX_TRIES - otp.attempts
        message = (
            ngettext("That code is not right. You have %(num)d try left.",
                     "That code is not right. You have %(num)d tries left.", left)
            if left > 0
            else _("That code is not right, and it can no longer be used. Ask for a new code.")
        )
        _fail(subject, now, CodeRefused(message))
    otp.consumed_at = now
    token = _start_session(borrower.get_id(), now)
    record(Actor("borrower", str(borrower.id), source), EventKind.SIGNED_IN,
           borrower_id=borrower.id)
    return SignedIn(borrower, token)


def _session_row(token: str | None) -> PortalSession | None:
    if not token:
        return None
    return db.session.scalar(
        select(PortalSession).where(
            PortalSession.token_digest == hashlib.sha256(token.encode()).digest()
        )
    )


def _end(row: PortalSession, reason: str, now: datetime, source: str | None) -> None:
    row.ended_at = now
    row.end_reason = reason
    kind, _sep, user_id = row.user_key.partition(":")
    if kind == "b":
        event = EventKind.SIGNED_OUT if reason == "sign_out" else EventKind.SESSION_EXPIRED
        record(Actor("borrower", user_id, source), event, borrower_id=int(user_id))
    elif kind == "s" and reason in ("sign_out", "idle"):
        staff = db.session.get(StaffUser, int(user_id))
        if staff is not None:
            audit(AuditKind.SIGNED_OUT if reason == "sign_out" else AuditKind.SESSION_EXPIRED,
                  agency_id=staff.agency_id, actor_id=staff.id, subject_id=staff.id,
                  source=source, at=now)


def end_staff_sessions(user: StaffUser, reason: str) -> int:
    """End every live session of a staff user now (deactivated, MFA reset), in the caller's
    transaction: their next request is signed out. How many there were."""
    now = _now()
    rows = list(db.session.scalars(select(PortalSession).where(
        PortalSession.user_key == user.get_id(), PortalSession.ended_at.is_(None))))
    for row in rows:
        _end(row, reason, now, None)
    return len(rows)


@dataclass(frozen=True)
class SessionCheck:
    """What the request loader learns about a session token."""

    user_key: str | None
    expired_idle: bool = False
    last_seen_at: datetime | None = None


@operation
def check_session(token: str | None, user_key: str | None, touch: bool) -> SessionCheck:
    """Is this session live? Ends it after 15 idle minutes; notes activity when `touch`."""
    row = _session_row(token)
    if row is None or row.ended_at is not None or row.user_key != user_key:
        return SessionCheck(None)
    now = _now()
    if rules.idle_expired(row.last_seen_at, now):
        _end(row, "idle", now, None)
        return SessionCheck(None, expired_idle=True)
    if touch and now - row.last_seen_at > timedelta(seconds=20):
        row.last_seen_at = now
    return SessionCheck(row.user_key, last_seen_at=row.last_seen_at)


@operation
def sign_out(token: str | None, source: str | None) -> None:
    row = _session_row(token)
    if row is not None and row.ended_at is None:
        _end(row, "sign_out", _now(), source)


# --- staff -------------------------------------------------------------------------------------


class StaffRefused(Refused):
    def __init__(self):
        super().__init__(_("Those sign-in details are not right."), status=422)


def _staff_failed(user: StaffUser | None, step: str, source: str | None, now: datetime) -> None:
    """A failed staff sign-in goes in the agency's audit log (an unknown address has no agency
    and is only counted toward the lockout); what was typed is never kept."""
    if user is not None:
        audit(AuditKind.SIGN_IN_FAILED, agency_id=user.agency_id, actor_id=user.id,
              subject_id=user.id, source=source, detail={"step": step}, at=now)


def _staff_lock(subject: bytes, user: StaffUser | None, source: str | None,
                now: datetime) -> None:
    try:
        _check_lock(subject, now)
    except LockedOut:
        _staff_failed(user, "locked", source, now)
        db.session.commit()
        raise


@operation
def check_staff_password(email: str, password: str, source: str | None = None) -> StaffUser:
    """Staff step 1: email + password (argon2), locked after repeated failures."""
    now = _now()
    address = (email or "").strip().lower()
    subject = _subject("staff", address)
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == address))
    _staff_lock(subject, user, source, now)
    try:
        passwords.verify(user.password_hash if user else _DUMMY_HASH, password or "")
        ok = user is not None and user.active
        step = "inactive"
    except (VerificationError, InvalidHashError):
        ok, step = False, "password"
    if not ok:
        _staff_failed(user, step, source, now)
        _fail(subject, now, StaffRefused())
    return user


#: How long the half-done staff sign-in (password checked, code not yet) may wait.
PENDING_STAFF = timedelta(minutes=5)


def _password_version(user: StaffUser) -> str:
    """Changes whenever the password does: a pending sign-in of the old password stops working."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def pending_staff(user: StaffUser) -> dict:
    """What the session keeps between the password and the code: who, when, which password."""
    return {"id": user.id, "at": int(_now().timestamp()), "pw": _password_version(user)}


def pending_staff_user(pending) -> StaffUser | None:
    """The staff user a pending sign-in names, if it is recent and their password unchanged."""
    if not isinstance(pending, dict) or not isinstance(pending.get("id"), int) \
            or not isinstance(pending.get("at"), int):
        return None
    if _now().timestamp() - pending["at"] > PENDING_STAFF.total_seconds():
        return None
    user = db.session.get(StaffUser, pending["id"])
    if user is None or not hmac.compare_digest(str(pending.get("pw")), _password_version(user)):
        return None
    return user


@operation
def check_staff_totp(user_id: int, code: str, source: str | None = None) -> SignedIn:
    """Staff step 2: a TOTP code from the user's authenticator, each time step usable once."""
    now = _now()
    user = db.session.get(StaffUser, user_id, with_for_update=True)
    subject = _subject("staff", user.email)
    _staff_lock(subject, user, source, now)
    totp = pyotp.TOTP(user.totp_secret)
    typed = rules.normalise_code(code)
    step = None
    for offset in (-1, 0, 1):  # allow one step of clock drift either way
        candidate = totp.timecode(now) + offset
        if hmac.compare_digest(totp.generate_otp(candidate), typed):
            step = candidate
    if step is None or step <= user.last_totp_step or not user.active:
        _staff_failed(user, "code" if user.active else "inactive", source, now)
        _fail(subject, now, Refused(_("That code is not right. Try the current code."), status=422))
    user.last_totp_step = step
    audit(AuditKind.SIGNED_IN, agency_id=user.agency_id, actor_id=user.id, subject_id=user.id,
          source=source, at=now)
    return SignedIn(user, _start_session(user.get_id(), now))
