"""Flask-Login's user loader: a user only while their server-side session is live."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, request, session
from flask_babel import lazy_gettext as _l

from portal.accounts.models import Borrower
from portal.extensions import db, login
from portal.identity import service
from portal.identity.helpers import HelperGrant, Helping
from portal.identity.models import StaffUser

login.login_view = "identity.sign_in"
login.blueprint_login_views = {"agency": "identity.staff_sign_in"}
login.login_message = _l("Please sign in to continue.")
login.login_message_category = "info"
login.session_protection = None  # the server-side session row is the protection

#: Requests that must not count as activity (the idle warning itself would keep a session alive).
PASSIVE_ENDPOINTS = {"static", "identity.session_status"}


@login.user_loader
def load_user(user_key: str):
    check = service.check_session(
        session.get("sid"), user_key, touch=request.endpoint not in PASSIVE_ENDPOINTS
    )
    if check.user_key is None:
        session.pop("_user_id", None)
        session.pop("sid", None)
        if check.expired_idle:
            session["idle_expired"] = True
        return None
    g.session_last_seen = check.last_seen_at
    kind, _sep, raw_id = user_key.partition(":")
    if kind == "h":  # a helper: only while the borrower's grant lasts
        grant = db.session.get(HelperGrant, int(raw_id))
        live = grant is not None and grant.live(datetime.now(UTC).date())
        return Helping(grant) if live else None
    model = Borrower if kind == "b" else StaffUser
    user = db.session.get(model, int(raw_id))
    return user if user is not None and user.is_active else None
