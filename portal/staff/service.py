"""What an admin does to their agency's staff; each one transaction with its audit entry, and
another agency's staff simply not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.models import Creditor
from portal.extensions import db
from portal.identity import staff_rules
from portal.identity.audit import AuditKind, audit
from portal.identity.enrolment import LinkPurpose, issue_link, revoke_links
from portal.identity.models import Role, StaffUser
from portal.identity.service import end_staff_sessions
from portal.messaging.service import DeliveryUnavailable, send
from portal.operations import NotFound, Refused, operation

SELF_REFUSALS = {
    "self_deactivate": lambda: _("You cannot deactivate yourself. Ask another administrator."),
    "self_demote": lambda: _("You cannot remove your own admin role. Ask another "
                             "administrator."),
}


def colleague(agency_id: int, staff_id: int, lock: bool = False) -> StaffUser:
    """One of the agency's staff users; another agency's (or none) is not found."""
    query = select(StaffUser).where(StaffUser.id == staff_id, StaffUser.agency_id == agency_id)
    user = db.session.scalar(query.with_for_update() if lock else query)
    if user is None:
        raise NotFound()
    return user


def staff_of(agency_id: int) -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).where(StaffUser.agency_id == agency_id)
                                   .order_by(StaffUser.name, StaffUser.id)))


def is_invited(user: StaffUser) -> bool:
    """Invited and not yet enrolled: no password chosen."""
    return user.password_hash == staff_rules.NO_PASSWORD


def _link_url(token: str) -> str:
    """The link on the configured PUBLIC_URL, never on the Host header a request claimed."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("staff_admin.welcome",
                                                                   token=token)


def _mail(user: StaffUser, purpose: LinkPurpose, token: str, admin: StaffUser) -> None:
    """The link, by email, through the portal's one outgoing path (captured in demo mode)."""
    link = _link_url(token)
    if purpose == LinkPurpose.INVITE:
        subject = _("You are invited to the %(agency)s staff console", agency=admin.agency.name)
        body = _("%(admin)s invited you to the staff console of %(agency)s. Open this link "
                 "within 72 hours to choose your password and set up two-step verification "
                 "(it works once):\n\n%(link)s\n\nIf you did not expect this, ignore this email.",
                 admin=admin.name, agency=admin.agency.name, link=link)
    else:
        subject = _("Set up two-step verification again")
        body = _("%(admin)s reset your two-step verification for the %(agency)s staff console: "
                 "your old codes no longer work. Open this link within 72 hours to set up your "
                 "authenticator again (it works once):\n\n%(link)s",
                 admin=admin.name, agency=admin.agency.name, link=link)
    try:
        send(channel="email", destination=user.email, subject=subject, body=body,
             kind=f"staff_{purpose}", agency_id=user.agency_id, urgent=True)
    except DeliveryUnavailable:
        raise Refused(_("Email cannot be sent: no email delivery is configured. Nothing was "
                        "changed."), status=503) from None


def _admin(admin_id: int) -> StaffUser:
    return db.session.get(StaffUser, admin_id)


@dataclass(frozen=True)
class Invitation:
    name: str
    email: str
    role: str
    creditor_code: str | None = None


@operation
def invite(admin_id: int, ask: Invitation, source: str | None) -> StaffUser:
    """A new colleague in the admin's agency, with a one-time link to choose a password and
    enrol TOTP; an address that already has an account is refused (send a new link instead)."""
    admin = _admin(admin_id)
    email = (ask.email or "").strip().lower()
    name = (ask.name or "").strip()
    if not name:
        raise Refused(_("Give the person's name."))
    if "@" not in email or len(email) > 254:
        raise Refused(_("Give the person's email address."))
    if ask.role not in set(Role):
        raise Refused(_("Choose a role."))
    existing = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    if existing is not None:
        if existing.agency_id == admin.agency_id and is_invited(existing):
            raise Refused(_("%(email)s is already invited and has not set up their account. "
                            "Open their page to send a new link (the old one stops working).",
                            email=email), status=409)
        raise Refused(_("%(email)s already has an account.", email=email), status=409)
    creditor = None
    if ask.role == Role.LENDER:
        creditor = db.session.scalar(select(Creditor).where(
            Creditor.code == (ask.creditor_code or ""), Creditor.agency_id == admin.agency_id))
        if creditor is None:
            raise Refused(_("A lender user belongs to one of your creditors: choose it."))
    elif ask.creditor_code:
        raise Refused(_("Only a lender user belongs to a creditor: leave the creditor empty."))
    user = StaffUser(email=email, name=name[:200], role=ask.role,
                     password_hash=staff_rules.NO_PASSWORD, totp_secret=pyotp.random_base32(),
                     agency_id=admin.agency_id, creditor_id=creditor.id if creditor else None,
                     active=True)
    db.session.add(user)
    db.session.flush()
    token = issue_link(user, LinkPurpose.INVITE, admin.id)
    _mail(user, LinkPurpose.INVITE, token, admin)
    audit(AuditKind.INVITED, agency_id=admin.agency_id, actor_id=admin.id, subject_id=user.id,
          source=source, detail={"role": ask.role,
                                 "creditor": creditor.code if creditor else None})
    return user


@operation
def send_new_link(admin_id: int, staff_id: int, source: str | None) -> StaffUser:
    """Invite again someone who has not set up their account: a new link, the old one dead."""
    admin = _admin(admin_id)
    user = colleague(admin.agency_id, staff_id, lock=True)
    if not is_invited(user):
        raise Refused(_("%(name)s has already set up their account. To make them set up "
                        "two-step verification again, reset it.", name=user.name))
    if not user.active:
        raise Refused(_("Reactivate %(name)s first.", name=user.name))
    token = issue_link(user, LinkPurpose.INVITE, admin.id)
    _mail(user, LinkPurpose.INVITE, token, admin)
    audit(AuditKind.INVITED, agency_id=admin.agency_id, actor_id=admin.id, subject_id=user.id,
          source=source, detail={"role": user.role, "again": True})
    return user


@operation
def reset_mfa(admin_id: int, staff_id: int, source: str | None) -> StaffUser:
    """Their authenticator stops working now (a secret nobody knows replaces it), their
    sessions end, and a one-time link lets them enrol a new one."""
    admin = _admin(admin_id)
    user = colleague(admin.agency_id, staff_id, lock=True)
    if is_invited(user):
        raise Refused(_("%(name)s has not set up their account yet: send them a new "
                        "invitation link instead.", name=user.name))
    if not user.active:
        raise Refused(_("Reactivate %(name)s first.", name=user.name))
    user.totp_secret = pyotp.random_base32()
    ended = end_staff_sessions(user, "mfa_reset")
    token = issue_link(user, LinkPurpose.MFA_RESET, admin.id)
    _mail(user, LinkPurpose.MFA_RESET, token, admin)
    audit(AuditKind.MFA_RESET, agency_id=admin.agency_id, actor_id=admin.id,
          subject_id=user.id, source=source, detail={"sessions_ended": ended})
    return user


@operation
def change_role(admin_id: int, staff_id: int, role: str, source: str | None) -> StaffUser:
    admin = _admin(admin_id)
    user = colleague(admin.agency_id, staff_id, lock=True)
    problem = staff_rules.self_change_problem(actor_id=admin.id, subject_id=user.id,
                                              action="role", new_role=role)
    if problem:
        raise Refused(SELF_REFUSALS[problem]())
    problem = staff_rules.role_change_problem(user.role, role)
    if problem == "same_role":
        raise Refused(_("%(name)s already has that role.", name=user.name))
    if problem == "lender_role":
        raise Refused(_("A lender user's role cannot change: invite them again as staff."))
    if problem:
        raise Refused(_("Choose a role."))
    before, user.role = user.role, role
    audit(AuditKind.ROLE_CHANGED, agency_id=admin.agency_id, actor_id=admin.id,
          subject_id=user.id, source=source, detail={"before": before, "after": role})
    return user


@operation
def set_active(admin_id: int, staff_id: int, active: bool, source: str | None) -> StaffUser:
    """Deactivate (every session ends at once, open links stop working) or reactivate."""
    admin = _admin(admin_id)
    user = colleague(admin.agency_id, staff_id, lock=True)
    if not active:
        problem = staff_rules.self_change_problem(actor_id=admin.id, subject_id=user.id,
                                                  action="deactivate")
        if problem:
            raise Refused(SELF_REFUSALS[problem]())
    if user.active == active:
        raise Refused(_("%(name)s is already active.", name=user.name) if active
                      else _("%(name)s is already deactivated.", name=user.name))
    user.active = active
    detail = {}
    if not active:
        detail["sessions_ended"] = end_staff_sessions(user, "deactivated")
        revoke_links(user.id, datetime.now(UTC))
    audit(AuditKind.REACTIVATED if active else AuditKind.DEACTIVATED, agency_id=admin.agency_id,
          actor_id=admin.id, subject_id=user.id, source=source, detail=detail)
    return user
