"""The borrower's "Your data" page: download everything, who viewed it, asking for a correction."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from portal.extensions import db
from portal.identity.roles import ANSWER_CORRECTIONS
from portal.operations import NotFound, Refused
from portal.rights import service
from portal.rights.forms import CorrectionForm
from portal.rights.models import CorrectionRequest
from portal.rights.pdf import data_pdf
from portal.web.access import borrower_actor, borrower_required, staff_required

bp = Blueprint("rights", __name__)


def _form() -> CorrectionForm:
    form = CorrectionForm()
    form.account.choices = [SelectChoice(a.reference, f"{a.reference} — {a.creditor.name}")
                            for a in current_user.accounts]
    return form


def _page(form: CorrectionForm, status: int = 200):
    asked = db.session.scalars(select(CorrectionRequest).where(
        CorrectionRequest.borrower_id == current_user.id).order_by(CorrectionRequest.id.desc()))
    return render_template("rights/page.html", form=form, requests=list(asked),
                           viewers=service.viewers(current_user.id)), status


@bp.get("/your-data/")
@borrower_required
def page():
    return _page(_form())


@bp.post("/your-data/corrections")
@borrower_required
def correct():
    form = _form()
    if not form.validate():
        return _page(form, 422)
    try:
        service.request_correction(current_user.id, form.account.data, form.details.data,
                                   borrower_actor())
    except Refused as refusal:
        form.form_errors.append(refusal.message)
        return _page(form, refusal.status)
    flash(_("We have your request. We will answer by the date shown."), "success")
    return redirect(url_for("rights.page"), 303)


@bp.get("/your-data/download.json")
@borrower_required
def download_json():
    body = json.dumps(service.everything(current_user._get_current_object()),
                      ensure_ascii=False, indent=2)
    service.data_downloaded(current_user.id, "json", borrower_actor())
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="your-data.json"',
        "Cache-Control": "no-store"})


@bp.get("/your-data/download.pdf")
@borrower_required
def download_pdf():
    borrower = current_user._get_current_object()
    body = data_pdf(borrower, service.everything(borrower))
    service.data_downloaded(current_user.id, "pdf", borrower_actor())
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": 'attachment; filename="your-data.pdf"',
        "Cache-Control": "no-store"})




@bp.post("/staff/corrections/answer")
@staff_required(ANSWER_CORRECTIONS)
def answer():
    """Staff answer one request from the queue (the request's id in the form, so another
    agency's is simply not found)."""
    request_id = request.form.get("request", type=int)
    if request_id is None:
        return redirect(url_for("staff_queues.corrections"), 303)
    try:
        service.answer_correction(current_user._get_current_object(), request_id,
                                  request.form.get("outcome", ""), request.form.get("answer", ""),
                                  request.remote_addr)
    except NotFound:
        abort(404)
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("staff_queues.corrections"), 303)
    flash(_("Answer sent to the borrower."), "success")
    return redirect(url_for("staff_queues.corrections"), 303)
