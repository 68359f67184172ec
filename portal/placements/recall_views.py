"""The console's recall pages: upload a creditor's recall file, see what it would do, confirm.

Staff who may view cases see the page and the accounts recalled lately; only those who may
recall (admin, supervisor) upload and confirm. Everything is scoped to the staff user's agency:
another agency's creditor is not found.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.cases.service import Actor
from portal.identity.roles import RECALL_ACCOUNTS, VIEW_CASES, allows
from portal.operations import NotFound, Refused, reading
from portal.placements import recall_file, recalls
from portal.placements.recall_forms import RecallConfirmForm, RecallUploadForm
from portal.web.access import staff_required

bp = Blueprint("recalls", __name__, url_prefix="/staff/recalls")

#: A recall file up to recall_file.MAX_BYTES, and the form around it.
UPLOAD_LIMIT = recall_file.MAX_BYTES + 64 * 1024


@bp.url_value_preprocessor
def _body_limit(endpoint, values):
    """Lift the app's 1 MB body limit for the upload, for those who may recall only (before any
    hook reads the form)."""
    if endpoint == "recalls.preview" and request.method == "POST" and \
            current_user.is_authenticated and current_user.is_staff and \
            allows(current_user.role, RECALL_ACCOUNTS):
        request.max_content_length = UPLOAD_LIMIT


def _upload_form() -> RecallUploadForm:
    form = RecallUploadForm()
    with reading("recall creditors"):
        form.creditor.choices = [(c.code, f"{c.name} ({c.code})")
                                 for c in recalls.creditors_of(current_user.agency_id)]
    return form


def _page(form: RecallUploadForm | None = None, status: int = 200):
    with reading("recalled lately"):
        recent = recalls.recalled_lately(current_user.agency_id)
        rows = [(a.reference, a.creditor.name, a.recalled_at) for a in recent]
    may_recall = allows(current_user.role, RECALL_ACCOUNTS)
    return render_template("placements/recalls.html", recent=rows, may_recall=may_recall,
                           form=form or (_upload_form() if may_recall else None)), status


@bp.get("")
@staff_required(VIEW_CASES)
def index():
    return _page()


@bp.post("/preview")
@staff_required(RECALL_ACCOUNTS)
def preview():
    form = _upload_form()
    if not form.validate_on_submit():
        return _page(form, 422)
    data = form.file.data.read(recall_file.MAX_BYTES + 1)
    try:
        review = recalls.preview(data, form.creditor.data, current_user.agency_id)
    except NotFound:
        abort(404)
    confirm = RecallConfirmForm(formdata=None, creditor=review.creditor_code,
                                sha256=review.sha256)
    return render_template("placements/recall_preview.html", review=review, confirm=confirm,
                           problems=recall_file.PROBLEMS), 200 if review.accepted else 422


@bp.post("/confirm")
@staff_required(RECALL_ACCOUNTS)
def confirm():
    form = RecallConfirmForm()
    if not form.validate_on_submit():
        flash(_("The confirmation was not complete. Upload the file again."), "error")
        return redirect(url_for("recalls.index"), 303)
    references = [r for r in request.form.getlist("account") if r and len(r) <= 30]
    actor = Actor("staff", str(current_user.id), request.remote_addr)
    try:
        review = recalls.recall_previewed(form.creditor.data, references, form.sha256.data,
                                          actor, current_user.agency_id)
    except NotFound:
        abort(404)
    except Refused as refused:
        flash(refused.message, "error")
        return redirect(url_for("recalls.index"), 303)
    flash(_("%(n)d account(s) recalled for %(creditor)s; %(already)d already recalled.",
            n=len(review.recall), creditor=review.creditor_name, already=len(review.already)),
          "success")
    return redirect(url_for("recalls.index"), 303)
