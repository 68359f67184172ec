"""A helper's sign-in: their email, then a one-time code sent to it, with the borrower's own
code rules (10 minutes, 5 tries, lockout). Nothing says whether an email has any access."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.crypto import lookup_digest
from portal.extensions import db
from portal.identity import rules
from portal.identity.helpers import HelperCode, HelperGrant, Helping
from portal.identity.service import (
    CodeRefused,
    LockedOut,
    SignedIn,
    _check_lock,
    _code_digest,
    _code_matches,
    _fail,
    _start_session,
    _subject,
)
from portal.operations import Refused, operation


def email_digest(email: str) -> bytes:
    return lookup_digest((email or "").strip().lower(), "helper_grant.email")


def live_grants(digest: bytes, today) -> list[HelperGrant]:
    """The grants an email holds today (not revoked, not past their date), oldest first."""
    rows = db.session.scalars(select(HelperGrant).where(
        HelperGrant.email_digest == digest, HelperGrant.revoked_at.is_(None),
        HelperGrant.until >= today).order_by(HelperGrant.id))
    return list(rows)


@dataclass(frozen=True)
class HelperCodeIssued:
    """A code to email (None when the email holds no live access: nothing is sent)."""

    code_id: int
    code: str | None
    email: str
    grant: HelperGrant | None


def issue_helper_code(email: str) -> HelperCodeIssued:
    """A code for the email in the caller's transaction; a row is kept even for an email with no
    access, so the answer and the limits are the same either way."""
    now = datetime.now(UTC)
    address = (email or "").strip().lower()
    digest = email_digest(address)
    _check_lock(_subject("helper", address), now)
    sent = db.session.scalar(select(func.count(HelperCode.id)).where(
        HelperCode.email_digest == digest, HelperCode.created_at > now - timedelta(hours=1)))
    if sent >= rules.CODES_PER_HOUR:
        raise LockedOut(now + timedelta(hours=1))
    for old in db.session.scalars(select(HelperCode).where(
            HelperCode.email_digest == digest, HelperCode.consumed_at.is_(None))):
        old.consumed_at = now
    code = f"{secrets.randbelow(10**6):06d}"
    salt = secrets.token_hex(8)
    row = HelperCode(email_digest=digest, created_at=now, attempts=0,
                     code_digest=salt.encode() + b":" + _code_digest(salt, code))
    db.session.add(row)
    db.session.flush()
    grants = live_grants(digest, now.date())
    return HelperCodeIssued(row.id, code if grants else None, address,
                            grants[0] if grants else None)


def _refused_code(left: int) -> Refused:
    return CodeRefused(
        ngettext("That code is not right. You have %(num)d try left.",
                 "That code is not right. You have %(num)d tries left.", left)
        if left > 0 else
        _("That code is not right, and it can no longer be used. Ask for a new code."))


@operation
def verify_helper_code(email: str, code_id: int, typed: str, source: str | None) -> SignedIn:
    """The helper's code: right once, within 10 minutes and 5 tries, while they hold access.
    Signs them in to help the borrower of their oldest live grant; the sign-in is a case event."""
    now = datetime.now(UTC)
    address = (email or "").strip().lower()
    subject = _subject("helper", address)
    _check_lock(subject, now)
    row = db.session.scalar(select(HelperCode).where(
        HelperCode.id == code_id, HelperCode.email_digest == email_digest(address))
        .with_for_update())
    if row is None or not rules.code_usable(created_at=row.created_at, attempts=row.attempts,
                                            consumed=row.consumed_at is not None, now=now):
        raise CodeRefused(_("This code has expired or was already used. Ask for a new code."))
    code = rules.normalise_code(typed)
    if not rules.CODE_PATTERN.match(code) or not _code_matches(row, code):
        row.attempts += 1
        _fail(subject, now, _refused_code(rules.CODE_MAX_TRIES - row.attempts))
    row.consumed_at = now
    grants = live_grants(row.email_digest, now.date())
    if not grants:
        raise CodeRefused(_("This code has expired or was already used. Ask for a new code."))
    return _enter(grants[0], source, now)


def _enter(grant: HelperGrant, source: str | None, now: datetime) -> SignedIn:
    record(Actor("helper", str(grant.id), source), EventKind.HELPER_SIGNED_IN,
           borrower_id=grant.borrower_id, data={"grant": grant.id})
    return SignedIn(Helping(grant), _start_session(f"h:{grant.id}", now))


@operation
def switch_helping(current: HelperGrant, grant_id: int, source: str | None) -> SignedIn:
    """Help another borrower who gave the same email access: a new session on that grant."""
    now = datetime.now(UTC)
    grant = next((g for g in live_grants(current.email_digest, now.date()) if g.id == grant_id),
                 None)
    if grant is None:
        raise Refused(_("You no longer have access to help that person."), status=404)
    return _enter(grant, source, now)
