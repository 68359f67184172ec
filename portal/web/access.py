"""Who may open a view, declared on the view itself so a test can check every route."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from portal.extensions import login
from portal.identity.refusals import refusal
from portal.identity.roles import allows

PUBLIC = "public"
BORROWER = "borrower"


def public(view):
    """Anyone, signed in or not."""
    view.access = PUBLIC
    return view


def borrower_required(view):
    """A signed-in borrower; staff are refused, anonymous visitors sent to sign in."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            return login.unauthorized()
        if not current_user.is_borrower:
            abort(403)
        return view(*args, **kwargs)

    guarded.access = BORROWER
    return guarded


def staff_required(permission: str):
    """A signed-in staff user whose role grants `permission`; another role is told which roles
    may."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login.unauthorized()
            if not current_user.is_staff:
                abort(403)
            if not allows(current_user.role, permission):
                abort(403, description=refusal(current_user.role, permission))
            return view(*args, **kwargs)

        guarded.access = f"staff:{permission}"
        return guarded

    return decorate
