"""One-time links that let a staff member set a password and enrol TOTP (an invitation) or
enrol a new authenticator (an MFA reset). The token is only ever in the email: kept as a hash,
good for 72 hours, used once; a newer link replaces the older ones."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import Encrypted
from portal.extensions import db
from portal.identity import rules, staff_rules
from portal.identity.audit import AuditKind, audit
from portal.identity.models import StaffUser
from portal.identity.service import passwords
from portal.operations import Refused, operation


class LinkPurpose(StrEnum):
    #: A new colleague: choose a password, enrol TOTP.
    INVITE = "invite"
    #: An admin reset two-step verification: enrol a new authenticator (password kept).
    MFA_RESET = "mfa_reset"


class StaffLink(db.Model):
    """A one-time link sent to a staff member's email; it carries the TOTP secret to enrol."""

    __tablename__ = "staff_link"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(12))
    #: SHA-256 of the token (256 random bits): the database never holds a working link.
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    #: The TOTP secret the link shows, becoming the user's once they confirm a code with it.
    totp_secret: Mapped[str] = mapped_column(Encrypted("staff_link.totp_secret"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: A newer link (or a deactivation) made this one stop working.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The admin who sent it.
    created_by: Mapped[int | None] = mapped_column(Integer)

    staff: Mapped[StaffUser] = relationship()


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def revoke_links(staff_id: int, now: datetime) -> None:
    """Every open link of the user stops working (in the caller's transaction)."""
    for link in db.session.scalars(select(StaffLink).where(
            StaffLink.staff_id == staff_id, StaffLink.used_at.is_(None),
            StaffLink.revoked_at.is_(None))):
        link.revoked_at = now


def issue_link(user: StaffUser, purpose: LinkPurpose, by: int | None) -> str:
    """A fresh link for `user` (older ones revoked), in the caller's transaction: the token."""
    now = datetime.now(UTC)
    revoke_links(user.id, now)
    token = secrets.token_urlsafe(32)
    db.session.add(StaffLink(staff_id=user.id, purpose=str(purpose), token_digest=_digest(token),
                             totp_secret=pyotp.random_base32(), created_at=now,
                             expires_at=now + staff_rules.LINK_LIFETIME, created_by=by))
    db.session.flush()
    return token


@dataclass(frozen=True)
class OpenLink:
    """What the link page shows: whose link, for what, whether it still works, the secret."""

    link: StaffLink | None
    state: str  # usable, used, revoked, expired or unknown

    @property
    def uri(self) -> str:
        return pyotp.TOTP(self.link.totp_secret).provisioning_uri(
            name=self.link.staff.email, issuer_name="Borrower portal")


def _state(link: StaffLink | None, now: datetime) -> str:
    if link is None:
        return "unknown"
    if not link.staff.active:
        return "revoked"
    return staff_rules.link_state(expires_at=link.expires_at, used_at=link.used_at,
                                  revoked_at=link.revoked_at, now=now)


def open_link(token: str) -> OpenLink:
    link = db.session.scalar(select(StaffLink).where(StaffLink.token_digest == _digest(token)))
    return OpenLink(link, _state(link, datetime.now(UTC)))


def refusal(state: str) -> Refused:
    """The clear message for a link that does not work, with the status the page answers."""
    if state == "expired":
        return Refused(_("This link has expired (links work for 72 hours). Ask your "
                         "administrator to send you a new one."), status=410)
    if state == "used":
        return Refused(_("This link has already been used. Sign in with your password and "
                         "authenticator, or ask your administrator for a new link."), status=410)
    if state == "revoked":
        return Refused(_("This link no longer works: a newer one was sent, or the account was "
                         "deactivated. Use the newest email, or ask your administrator."),
                       status=410)
    return Refused(_("This link is not valid. Check that you copied all of it, or ask your "
                     "administrator for a new one."), status=404)


def password_refusal(problem: str) -> Refused:
    return Refused({
        "too_short": _("Choose a password of at least %(num)d characters.",
                       num=staff_rules.MIN_PASSWORD),
        "too_long": _("Choose a password of at most %(num)d characters.",
                      num=staff_rules.MAX_PASSWORD),
        "mismatch": _("The two passwords are not the same."),
        "is_email": _("Your password cannot be your email address."),
    }[problem])


def _code_step(secret: str, typed: str, now: datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    code = rules.normalise_code(typed)
    for offset in (-1, 0, 1):  # one step of clock drift either way, as at sign-in
        candidate = totp.timecode(now) + offset
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


@operation
def complete(token: str, *, password: str, confirm: str, code: str,
             source: str | None) -> StaffUser:
    """Use the link: an invitation sets the password, a reset checks it; either way the code
    from the new authenticator must be right. Then the link is spent and the user signs in."""
    now = datetime.now(UTC)
    link = db.session.scalar(select(StaffLink).where(StaffLink.token_digest == _digest(token))
                             .with_for_update())
    state = _state(link, now)
    if state != "usable":
        raise refusal(state)
    user = db.session.get(StaffUser, link.staff_id, with_for_update=True)
    if link.purpose == LinkPurpose.INVITE:
        problem = staff_rules.password_problem(password or "", confirm or "", user.email)
        if problem:
            raise password_refusal(problem)
    else:
        try:
            passwords.verify(user.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            raise Refused(_("That is not your current password.")) from None
    step = _code_step(link.totp_secret, code or "", now)
    if step is None:
        raise Refused(_("That code is not right. Enter the code your authenticator shows now."))
    if link.purpose == LinkPurpose.INVITE:
        user.password_hash = passwords.hash(password)
    user.totp_secret = link.totp_secret
    user.last_totp_step = step
    link.used_at = now
    kind = AuditKind.ENROLLED if link.purpose == LinkPurpose.INVITE else AuditKind.MFA_ENROLLED
    audit(kind, agency_id=user.agency_id, actor_id=user.id, subject_id=user.id, source=source)
    return user
