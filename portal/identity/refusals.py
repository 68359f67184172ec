"""Why a staff member may not do something: the reason a refused action gives, in words."""

from __future__ import annotations

from flask_babel import gettext as _

from portal.identity.roles import action_of, roles_allowed


def refusal(role: str, permission: str) -> str:
    """'Your role (agent) may not adjust a balance: only supervisor or admin may.'"""
    action = action_of(permission)
    allowed = roles_allowed(permission)
    if action is None or not allowed:
        return _("Your role (%(role)s) may not do this.", role=role)
    return _("Your role (%(role)s) may not %(action)s: only %(roles)s may.", role=role,
             action=_(action), roles=", ".join(allowed))
