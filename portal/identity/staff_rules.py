"""Pure rules of staff administration: one-time links, passwords, what an admin may not do to
themselves, and how an address is shown. No Flask, no database."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

#: How long an invitation or MFA-reset link works.
LINK_LIFETIME = timedelta(hours=72)
#: The shortest password a staff user may choose (the command line's rule too).
MIN_PASSWORD = 12
#: Longer than any passphrase: argon2 would hash megabytes, slowly.
MAX_PASSWORD = 200
#: Roles an admin may give in the console (a lender is a creditor's user: invited as one).
AGENCY_ROLES = ("admin", "agent", "supervisor", "compliance")
#: What a password hash is before the user has chosen a password: argon2 can never match it.
NO_PASSWORD = "!invited"


def link_state(*, expires_at: datetime, used_at: datetime | None,
               revoked_at: datetime | None, now: datetime) -> str:
    """usable, used, revoked (a newer link replaced it) or expired; used wins over the rest."""
    if used_at is not None:
        return "used"
    if revoked_at is not None:
        return "revoked"
    if now >= expires_at:
        return "expired"
    return "usable"


def password_problem(password: str, confirm: str, email: str) -> str | None:
    """None when the password may be used, else the reason's code."""
    if len(password) < MIN_PASSWORD:
        return "too_short"
    if len(password) > MAX_PASSWORD:
        return "too_long"
    if password != confirm:
        return "mismatch"
    if password.strip().lower() == email.strip().lower():
        return "is_email"
    return None


def self_change_problem(*, actor_id: int, subject_id: int, action: str,
                        new_role: str | None = None) -> str | None:
    """Why an admin may not do `action` to themselves (so an agency always keeps an admin who
    can act), or None."""
    if actor_id != subject_id:
        return None
    if action == "deactivate":
        return "self_deactivate"
    if action == "role" and new_role != "admin":
        return "self_demote"
    return None


def role_change_problem(current: str, new: str) -> str | None:
    """A lender belongs to a creditor: neither made nor unmade by a role change."""
    if new not in AGENCY_ROLES:
        return "unknown_role"
    if current not in AGENCY_ROLES:
        return "lender_role"
    if current == new:
        return "same_role"
    return None


def mask_address(address: str | None) -> str:
    """An IPv4 address with its last part hidden, an IPv6 one with all but its first 48 bits:
    enough to tell networks apart on screen, not to name a person's connection."""
    if not address:
        return ""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "•••"
    if parsed.version == 4:
        return ".".join(address.split(".")[:3] + ["•"])
    groups = parsed.exploded.split(":")[:3]
    return ":".join(g.lstrip("0") or "0" for g in groups) + ":•"
