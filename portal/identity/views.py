"""Sign-in, sign-out and session upkeep for borrowers and staff."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_htmx import make_response as htmx_response
from flask_login import current_user, login_user, logout_user
from wtforms import SelectChoice

from portal.accounts.models import Borrower
from portal.extensions import db, limiter
from portal.identity import rules, service
from portal.identity.forms import (
    CodeForm,
    DestinationForm,
    IdentityForm,
    StaffPasswordForm,
    StaffTotpForm,
)
from portal.messaging import sign_in as codes
from portal.operations import Refused
from portal.web.access import public
from portal.web.fragments import wants_fragment
from portal.web.redirects import back_to_referrer

bp = Blueprint("identity", __name__)

SIGN_IN_LIMIT = "20 per 10 minutes"


def _client() -> str | None:
    return request.remote_addr


def _land(signed: service.SignedIn, destination: str):
    session.clear()
    session["sid"] = signed.token
    login_user(signed.user)
    return redirect(url_for(destination), code=303)


def _pending_borrower() -> Borrower | None:
    borrower_id = session.get("pending_borrower")
    return db.session.get(Borrower, borrower_id) if borrower_id else None


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
@public
def sign_in():
    if current_user.is_authenticated and current_user.is_borrower:
        return redirect(url_for("accounts.index"))
    form = IdentityForm()
    notice = _("You were signed out after 15 minutes without activity.") if session.pop(
        "idle_expired", False
    ) else None
    status = 200
    if form.validate_on_submit():
        try:
            borrower = service.check_identity(form.reference.data, form.date_of_birth.isoformat())
        except Refused as refusal:
            form.form_errors.append(refusal.message)
            status = refusal.status
        else:
            session.clear()
            session["pending_borrower"] = borrower.id
            return redirect(url_for("identity.choose_destination"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("identity/sign_in.html", form=form, notice=notice), status


@bp.route("/sign-in/send-code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
@public
def choose_destination():
    borrower = _pending_borrower()
    if borrower is None:
        return redirect(url_for("identity.sign_in"))
    points = service.code_destinations(borrower)
    form = DestinationForm()
    form.destination.choices = [
        SelectChoice(p.id, _("Email to %(to)s", to=service.masked(p)) if p.kind == "email"
                     else _("Text message to %(to)s", to=service.masked(p)))
        for p in points
    ]
    status = 200
    if form.validate_on_submit():
        try:
            otp = codes.send_code(borrower.id, form.destination.data, _client())
        except Refused as refusal:
            form.form_errors.append(refusal.message)
            status = refusal.status
        else:
            session["pending_code"] = otp.id
            return redirect(url_for("identity.enter_code"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("identity/destination.html", form=form), status


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
@public
def enter_code():
    borrower = _pending_borrower()
    if borrower is None or "pending_code" not in session:
        return redirect(url_for("identity.sign_in"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            signed = service.verify_code(
                borrower.id, session["pending_code"], form.code.data, _client()
            )
        except Refused as refusal:
            form.code.errors.append(refusal.message)
            status = refusal.status
        else:
            return _land(signed, "accounts.index")
    elif form.is_submitted():
        status = 422
    return render_template("identity/code.html", form=form), status


@bp.route("/sign-out", methods=["POST"])
@public
def sign_out():
    was_staff = current_user.is_authenticated and current_user.is_staff
    service.sign_out(session.get("sid"), _client())
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("identity.staff_sign_in" if was_staff else "identity.sign_in"), 303)


@bp.route("/session/extend", methods=["POST"])
@public
def extend_session():
    """'Stay signed in': the request itself counts as activity; nothing else to do."""
    if not current_user.is_authenticated:
        return redirect(url_for("identity.sign_in"), 303)
    if wants_fragment("idle-warning"):
        return ""  # the warning's own button: the warning goes away
    return redirect(back_to_referrer(), 303)


@bp.get("/session/status")
@public
def session_status():
    """Polled by htmx (without counting as activity): warn near the end, leave once it ends."""
    if not current_user.is_authenticated:
        return htmx_response("", redirect=url_for("identity.sign_in"))
    remaining = rules.IDLE_TIMEOUT - (datetime.now(UTC) - g.session_last_seen)
    if remaining <= rules.IDLE_TIMEOUT - rules.IDLE_WARNING:
        return render_template("web/_idle_warning.html", minutes=max(1, remaining.seconds // 60))
    return ""


@bp.route("/staff/sign-in", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
@public
def staff_sign_in():
    if current_user.is_authenticated and current_user.is_staff:
        return redirect(url_for("web.home"))
    form = StaffPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = service.check_staff_password(form.email.data, form.password.data,
                                                _client())
        except Refused as refusal:
            form.form_errors.append(refusal.message)
            status = refusal.status
        else:
            session.clear()
            session["pending_staff"] = service.pending_staff(user)
            return redirect(url_for("identity.staff_totp"), code=303)
    elif form.is_submitted():
        status = 422
    return render_template("identity/staff_sign_in.html", form=form), status


@bp.route("/staff/sign-in/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
@public
def staff_totp():
    user = service.pending_staff_user(session.get("pending_staff"))
    if user is None:  # none, expired, or the password changed since
        session.pop("pending_staff", None)
        return redirect(url_for("identity.staff_sign_in"))
    user_id = user.id
    form = StaffTotpForm()
    status = 200
    if form.validate_on_submit():
        try:
            signed = service.check_staff_totp(user_id, form.code.data, _client())
        except Refused as refusal:
            form.code.errors.append(refusal.message)
            status = refusal.status
        else:
            return _land(signed, "web.home")
    elif form.is_submitted():
        status = 422
    return render_template("identity/staff_totp.html", form=form), status
