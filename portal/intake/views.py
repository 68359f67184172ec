"""The console's placement import pages: upload and preview, confirm, progress, report, undo."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from portal.cases.service import Actor
from portal.identity.roles import PREVIEW_IMPORTS, RUN_IMPORTS, VIEW_IMPORTS, allows
from portal.intake import console, staging, upload
from portal.intake.forms import ConfirmForm, UndoForm, UploadForm
from portal.operations import Refused, reading
from portal.web.access import staff_required
from portal.web.fragments import wants_fragment

bp = Blueprint("staff_imports", __name__, url_prefix="/staff/imports")

#: The request body the upload may carry: the file's limit and room for the form around it.
BODY_LIMIT = upload.MAX_UPLOAD_BYTES + 64 * 1024
#: The id of the element htmx polls on an import's page.
PROGRESS_ID = "import-progress"


def _refusal_text(code: str) -> str:
    return {
        "no_file": _("Choose a CSV file to upload."),
        "empty": _("That file is empty. Choose the placement file (CSV) to upload."),
        "too_large": _("That file is larger than %(limit)s, the most the console takes. Split "
                       "it, or import it from the command line (flask --app portal placements "
                       "import).", limit=upload.MAX_UPLOAD_TEXT),
        "not_csv": _("That is not a CSV file. Save the placement file as CSV (comma-separated, "
                     "UTF-8) and upload that."),
        "wrong_creditor": _("Choose one of your agency's creditors."),
    }[code]


@bp.url_value_preprocessor
def _body_limit(endpoint, values):
    """Only staff who may preview get the upload's larger body limit, and only on the upload
    (set before any hook reads the form, or the app's 1 MB limit is fixed)."""
    if endpoint == "staff_imports.preview" and request.method == "POST" and \
            current_user.is_authenticated and current_user.is_staff and \
            allows(current_user.role, PREVIEW_IMPORTS):
        request.max_content_length = BODY_LIMIT


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """A body past the limit: for staff who may upload, the imports page with the limit said;
    for anyone else the plain 413 page. Nothing is kept either way."""
    if current_user.is_authenticated and current_user.is_staff and \
            allows(current_user.role, PREVIEW_IMPORTS):
        return _index(UploadForm(formdata=None), _refusal_text("too_large"), 413)
    return make_response(render_template(
        "errors/page.html", code=413, title=_("Too large"),
        message=_refusal_text("too_large")), 413)


def _actor() -> Actor:
    return Actor("staff", str(current_user.id), request.remote_addr)


def _upload_form() -> UploadForm:
    form = UploadForm()
    with reading():
        form.creditor.choices = [(c.id, c.name) for c in
                                 staging.creditors_of(current_user.agency_id)]
    return form


def _index(form: UploadForm, problem: str | None = None, status: int = 200):
    with reading():
        if not form.creditor.choices:
            form.creditor.choices = [(c.id, c.name) for c in
                                     staging.creditors_of(current_user.agency_id)]
        imports = console.imports_of(current_user.agency_id)
    return make_response(render_template(
        "intake/index.html", form=form, problem=problem, imports=imports,
        may_preview=allows(current_user.role, PREVIEW_IMPORTS),
        limit=upload.MAX_UPLOAD_TEXT), status)


@bp.get("")
@staff_required(VIEW_IMPORTS)
def index():
    return _index(_upload_form())


@bp.post("/preview")
@staff_required(PREVIEW_IMPORTS)
def preview():
    """Read the file as the import would and show its first rows and every problem; a file
    with none is kept (encrypted) for "Confirm"; a bad one is not kept at all."""
    form = _upload_form()
    if not form.validate_on_submit():
        if form.creditor.errors and form.creditor.raw_data and form.creditor.raw_data[0]:
            return _index(form, _refusal_text("wrong_creditor"))  # not a number
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        return _index(form, str(errors[0]) if errors else _("Check the form and try again."))
    with reading():
        creditor = staging.creditor_of(current_user.agency_id, form.creditor.data)
    if creditor is None:
        return _index(form, _refusal_text("wrong_creditor"))
    sent = request.files.get(form.file.name)
    filename = sent.filename if sent else None
    data = sent.stream.read(upload.MAX_UPLOAD_BYTES + 1) if sent and filename else None
    if sent:
        sent.close()  # a large upload is a temporary file: gone now, not at some later collection
    refusal = upload.refusal_of(filename, data)
    if refusal is not None:
        return _index(form, _refusal_text(refusal.code), 413 if refusal.code == "too_large"
                      else 200)
    with reading():
        checked = console.preview(creditor, data, filename)
    token = None
    if not checked.problems:
        token = staging.stage(current_user, creditor, filename, data)
    return make_response(render_template(
        "intake/preview.html", creditor=creditor, filename=filename, checked=checked,
        confirm=ConfirmForm(formdata=None, upload=token),
        may_run=allows(current_user.role, RUN_IMPORTS)))


@bp.post("/confirm")
@staff_required(RUN_IMPORTS)
def confirm():
    """Start importing a previewed file: its page shows the progress."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("That preview has expired. Upload the file again."), "error")
        return redirect(url_for("staff_imports.index"), 303)
    with reading():
        kept = staging.staged(current_user.agency_id, form.upload.data)
    try:
        started = console.start(kept, _actor())
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("staff_imports.index"), 303)
    staging.discard(current_user.agency_id, kept.token)
    return redirect(url_for("staff_imports.show", import_id=started), 303)


def _status(import_id: int):
    with reading():
        return console.status_of(current_user.agency_id, import_id)


@bp.get("/<int:import_id>")
@staff_required(VIEW_IMPORTS)
def show(import_id: int):
    status = _status(import_id)
    shown = {"status": status, "undo_form": UndoForm(),
             "may_run": allows(current_user.role, RUN_IMPORTS)}
    if wants_fragment(PROGRESS_ID):
        return render_template("intake/_progress.html", **shown)
    return render_template("intake/show.html", **shown)


@bp.get("/<int:import_id>/report.csv")
@staff_required(VIEW_IMPORTS)
def report(import_id: int):
    body = console.report_csv(current_user.agency_id, import_id)  # a read of its own
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="placement-import-{import_id}-report.csv"')
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:import_id>/undo")
@staff_required(RUN_IMPORTS)
def undo(import_id: int):
    _status(import_id)  # another agency's import, or none: 404 before the form is read
    if not UndoForm().validate_on_submit():
        flash(_("Check the form and try again."), "error")
        return redirect(url_for("staff_imports.show", import_id=import_id), 303)
    try:
        console.undo(current_user.agency_id, import_id, _actor())
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("The import is undone: its new accounts are closed and its changes reversed."),
              "success")
    return redirect(url_for("staff_imports.show", import_id=import_id), 303)
