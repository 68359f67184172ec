"""The borrower's "Someone helping you" page, and the helper's sign-in and "Whom you help"."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from wtforms import SelectChoice

from portal.extensions import limiter
from portal.helping import service
from portal.helping.forms import GrantForm, HelperEmailForm
from portal.identity import helper_sign_in as helper_codes
from portal.identity.forms import CodeForm
from portal.identity.rules import mask_email
from portal.identity.views import SIGN_IN_LIMIT
from portal.messaging.helpers import send_helper_code
from portal.operations import NotFound, Refused
from portal.web.access import borrower_actor, borrower_required, public

bp = Blueprint("helping", __name__)


def _grant_form() -> GrantForm:
    form = GrantForm()
    form.account.choices = [SelectChoice("", _("All my accounts"))] + [
        SelectChoice(a.reference, f"{a.reference} — {a.creditor.name}")
        for a in current_user.accounts]
    return form


def _page(form: GrantForm, status: int = 200):
    today = datetime.now(UTC).date()
    return render_template("helping/helpers.html", form=form, today=today, mask_email=mask_email,
                           grants=service.grants_of(current_user.id)), status


@bp.get("/helpers/")
@borrower_required
def helpers():
    return _page(_grant_form())


@bp.post("/helpers/")
@borrower_required
def grant():
    form = _grant_form()
    if not form.validate():
        return _page(form, 422)
    try:
        service.grant_access(current_user.id, name=form.name.data, email=form.email.data,
                             kind=form.kind.data, access=form.access.data,
                             until=form.until.data, account_reference=form.account.data or None,
                             actor=borrower_actor())
    except Refused as refusal:
        form.form_errors.append(refusal.message)
        return _page(form, refusal.status)
    flash(_("%(name)s can now sign in to help you. We emailed them how.",
            name=form.name.data.strip()), "success")
    return redirect(url_for("helping.helpers"), 303)


@bp.post("/helpers/<int:grant_id>/revoke")
@borrower_required
def revoke(grant_id: int):
    try:
        service.revoke_access(current_user.id, grant_id, borrower_actor())
    except NotFound:
        abort(404)
    flash(_("Their access has ended."), "success")
    return redirect(url_for("helping.helpers"), 303)


@bp.route("/helper/sign-in", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
@public
def helper_sign_in():
    form = HelperEmailForm()
    status = 200
    if form.validate_on_submit():
        try:
            code_id = send_helper_code(form.email.data)
        except Refused as refusal:
            form.form_errors.append(refusal.message)
            status = refusal.status
        else:
            session.clear()
            session["helper_code"] = {"id": code_id, "email": form.email.data.strip().lower()}
            return redirect(url_for("helping.helper_code"), 303)
    elif form.is_submitted():
        status = 422
    return render_template("helping/sign_in.html", form=form), status


@bp.route("/helper/sign-in/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
@public
def helper_code():
    pending = session.get("helper_code")
    if not isinstance(pending, dict):
        return redirect(url_for("helping.helper_sign_in"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            signed = helper_codes.verify_helper_code(pending["email"], pending["id"],
                                                       form.code.data, request.remote_addr)
        except Refused as refusal:
            form.code.errors.append(refusal.message)
            status = refusal.status
        else:
            return _land(signed)
    elif form.is_submitted():
        status = 422
    return render_template("helping/code.html", form=form), status


def _land(signed):
    session.clear()
    session["sid"] = signed.token
    login_user(signed.user)
    return redirect(url_for("helping.helping"), 303)


@bp.get("/helping")
@borrower_required
def helping():
    if not current_user.is_helper:  # the borrower themself: where their own helpers are
        return render_template("helping/helping.html", grant=None, others=[])
    today = datetime.now(UTC).date()
    others = [g for g in helper_codes.live_grants(current_user.grant.email_digest, today)
              if g.id != current_user.grant.id]
    return render_template("helping/helping.html", grant=current_user.grant, others=others)


@bp.post("/helping/switch")
@borrower_required
def switch():
    if not current_user.is_helper:
        return redirect(url_for("accounts.index"), 303)
    grant_id = request.form.get("grant", type=int)
    if grant_id is None:
        return redirect(url_for("helping.helping"), 303)
    try:
        signed = helper_codes.switch_helping(current_user.grant, grant_id or 0,
                                             request.remote_addr)
    except Refused:
        abort(404)
    return _land(signed)
