"""Who may open a view, declared on the view itself so a test can check every route."""

from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user

from portal.cases.service import Actor
from portal.extensions import login
from portal.helping import scope
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
        if getattr(current_user, "is_helper", False):
            refused = scope.decision(current_user, request.endpoint or "", request.method)
            if refused:
                abort(refused)
            if not scope.reaches(current_user, kwargs):
                abort(404)
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


def borrower_actor() -> Actor:
    """Who is acting on the borrower's pages: the borrower, or someone helping them (named by
    their grant, so the record says who did it)."""
    if getattr(current_user, "is_helper", False):
        return Actor("helper", str(current_user.grant.id), request.remote_addr)
    return Actor("borrower", str(current_user.id), request.remote_addr)
