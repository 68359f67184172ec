"""Giving and taking back a helper's access: each one transaction with its case event; an
attorney's access also starts the attorney hold (the borrower's own words would)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.models import Borrower
from portal.accounts.service import own_account
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.contact.operations import attorney_reported
from portal.extensions import db
from portal.identity.helper_sign_in import email_digest
from portal.identity.helpers import HelperAccess, HelperGrant, HelperKind
from portal.identity.models import PortalSession
from portal.messaging import messages
from portal.messaging.helpers import tell_helper
from portal.operations import NotFound, Refused, operation

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: The longest a borrower may give access for at once (they can give it again).
LONGEST_DAYS = 3 * 366


def grants_of(borrower_id: int) -> list[HelperGrant]:
    """Every grant the borrower gave, newest first (taken back and ended ones too)."""
    return list(db.session.scalars(select(HelperGrant).where(
        HelperGrant.borrower_id == borrower_id).order_by(HelperGrant.id.desc())))


def _checked(name: str, email: str, kind: str, access: str, until: date | None,
             today: date) -> None:
    if not (name or "").strip():
        raise Refused(_("Give the name of the person helping you."))
    if not EMAIL.match((email or "").strip()):
        raise Refused(_("Give the email address they will sign in with."))
    if kind not in set(HelperKind):
        raise Refused(_("Choose who they are."))
    if access not in set(HelperAccess):
        raise Refused(_("Choose whether they may only see, or act for you too."))
    if until is None or until < today or (until - today).days > LONGEST_DAYS:
        raise Refused(_("Choose the last day of their access: from today, and at most three "
                        "years ahead."))


@operation
def grant_access(borrower_id: int, *, name: str, email: str, kind: str, access: str,
                 until: date | None, account_reference: str | None, actor: Actor) -> HelperGrant:
    """The borrower lets a helper see (or act on) one or all of their accounts until a date."""
    if actor.type != "borrower":
        raise Refused(_("Only the borrower can give someone access."), status=403)
    today = datetime.now(UTC).date()
    _checked(name, email, kind, access, until, today)
    borrower = db.session.get(Borrower, borrower_id)
    account = own_account(borrower_id, account_reference) if account_reference else None
    grant = HelperGrant(borrower_id=borrower_id, account_id=account.id if account else None,
                        name=name.strip(), email=email.strip().lower(),
                        email_digest=email_digest(email), kind=kind, access=access, until=until,
                        created_at=datetime.now(UTC))
    db.session.add(grant)
    db.session.flush()
    record(actor, EventKind.HELPER_GRANTED, borrower_id=borrower_id,
           data={"grant": grant.id, "kind": kind, "access": access,
                 "account": account.reference if account else None,
                 "until": until.isoformat()})
    if kind == HelperKind.ATTORNEY:
        attorney_reported(borrower, grant.name, grant.email, actor)
    tell_helper(grant, messages.helper_invited(borrower.display_name, until))
    return grant


@operation
def revoke_access(borrower_id: int, grant_id: int, actor: Actor) -> None:
    """The borrower takes the access back now: the helper's sessions end with it."""
    if actor.type != "borrower":
        raise Refused(_("Only the borrower can take access back."), status=403)
    grant = db.session.scalar(select(HelperGrant).where(
        HelperGrant.id == grant_id, HelperGrant.borrower_id == borrower_id).with_for_update())
    if grant is None:
        raise NotFound()
    if grant.revoked_at is not None:
        return
    now = datetime.now(UTC)
    grant.revoked_at = now
    for session in db.session.scalars(select(PortalSession).where(
            PortalSession.user_key == f"h:{grant.id}", PortalSession.ended_at.is_(None))):
        session.ended_at, session.end_reason = now, "revoked"
    record(actor, EventKind.HELPER_REVOKED, borrower_id=borrower_id, data={"grant": grant.id})
