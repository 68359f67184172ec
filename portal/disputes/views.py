"""The borrower's dispute pages, and the staff dispute view (the queue is in portal/queues)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user

from portal.accounts.service import account_of, view_of
from portal.cases.service import Actor, history
from portal.contact import service as contact
from portal.disputes import evidence, service
from portal.disputes.forms import (
    REASON_CHOICES,
    ConfirmForm,
    DisputeForm,
    DocumentsForm,
    OriginalCreditorForm,
    ResolveForm,
    VerificationForm,
)
from portal.disputes.rules import OPEN
from portal.extensions import htmx, limiter
from portal.identity.roles import WORK_DISPUTES, allows
from portal.operations import Refused, reading
from portal.web.access import borrower_actor, borrower_required, staff_required

bp = Blueprint("disputes", __name__)
staff_bp = Blueprint("staff_disputes", __name__, url_prefix="/staff/disputes")

STATUS_NAMES = {
    "received": _l("Received"), "under_review": _l("Under review"),
    "verification_sent": _l("Verification sent"), "resolved": _l("Resolved"),
    "withdrawn": _l("Withdrawn"),
}


@bp.app_template_filter("dispute_status")
def dispute_status(status: str) -> str:
    return str(STATUS_NAMES.get(status, status))


@bp.app_template_filter("dispute_reason")
def dispute_reason(reason: str) -> str:
    return str(next((c.label for c in REASON_CHOICES if c.value == reason), reason))

#: Posts of the dispute flow (a dispute with its evidence, a withdrawal, staff's verification
#: document) one person may send in an hour: a person sends a few, a script hundreds, each up to
#: 100 MB to check. Per signed-in person, and, more loosely, per address (people share one).
DISPUTE_POST_LIMIT = "10 per hour"
DISPUTE_POST_ADDRESS_LIMIT = "30 per hour"


def _person() -> str:
    """The rate limit's key: the signed-in person (b:<id> or s:<id>), else the address."""
    return current_user.get_id() if current_user.is_authenticated else get_remote_address()


def limited(view):
    """Both limits of the dispute flow's posts on a view, shared by all of them (a script does not
    get ten more by switching forms); a GET is never counted."""
    for scope, limit, key in (("dispute-posts", DISPUTE_POST_LIMIT, _person),
                              ("dispute-posts-address", DISPUTE_POST_ADDRESS_LIMIT,
                               get_remote_address)):
        view = limiter.shared_limit(limit, scope, key_func=key, methods=["POST"])(view)
    return view


#: The largest upload a dispute form may carry: ten files of 10 MB, and the form around them.
UPLOAD_LIMIT = evidence.MAX_FILES * evidence.MAX_BYTES + 256 * 1024


def _today():
    return datetime.now(UTC).date()


@bp.errorhandler(RateLimitExceeded)
@staff_bp.errorhandler(RateLimitExceeded)
def too_many(_error):
    """The 429 answer: its own page (or, for an element htmx swaps, the fragment alone), saying
    nothing was saved. (The limiter adds Retry-After.)"""
    fragment = bool(htmx) and not htmx.boosted
    return make_response(render_template(
        "disputes/_too_many.html" if fragment else "disputes/too_many.html"), 429)


@bp.url_value_preprocessor
@staff_bp.url_value_preprocessor
def _body_limit(endpoint, values):
    """Lift the app's body limit for the forms that carry files. This must run before every
    before_request hook: one reads the form, and that fixes the request's limit (set in the
    view, it came too late, and any file over the app's 1 MB got a 413)."""
    if endpoint not in ("disputes.new", "staff_disputes.verification") or \
            request.method != "POST" or not current_user.is_authenticated:
        return  # anyone else keeps the app's small limit: no 100 MB bodies from strangers
    if endpoint == "disputes.new" and current_user.is_borrower or \
            current_user.is_staff and allows(current_user.role, WORK_DISPUTES):
        request.max_content_length = UPLOAD_LIMIT


def _files(field: str = "files") -> list[tuple[str | None, bytes]]:
    """The uploaded files, read no further than one byte past the limit each."""
    found = []
    for upload in request.files.getlist(field):
        if not upload or not upload.filename:
            continue  # the empty input of a form sent without a file
        found.append((upload.filename, upload.stream.read(evidence.MAX_BYTES + 1)))
    return found


def _attachment(record, data: bytes):
    response = make_response(data)
    response.headers["Content-Type"] = record.content_type
    response.headers["Content-Disposition"] = (
        f'attachment; filename="evidence-{record.id}.{evidence.EXTENSIONS[record.content_type]}"')
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the borrower ------------------------------------------------------------------------------


@bp.route("/accounts/<reference>/dispute", methods=["GET", "POST"])
@limited
@borrower_required
def new(reference: str):
    view = account_of(current_user, reference, _today())
    form = DisputeForm()
    error = None
    if form.validate_on_submit():
        said = service.DisputeForm(
            reasons=form.reasons.data or [], details=form.details.data or "",
            part=form.part_amount.data if form.scope.data == "part" else None,
            wants_original_creditor=bool(form.original_creditor.data))
        actor = borrower_actor()
        try:
            dispute = service.open_dispute(current_user.id, reference, said, _files(), actor)
        except Refused as refusal:
            error = refusal.message
        else:
            flash(_("We received your dispute %(number)s.", number=dispute.number), "success")
            return redirect(url_for("disputes.show", number=dispute.number), 303)
    elif form.errors:
        error = next(iter(form.errors.values()))[0]
    return render_template("disputes/new.html", view=view, form=form, error=error,
                           limits=evidence), 422 if error else 200


@bp.get("/disputes/<number>")
@borrower_required
def show(number: str):
    dispute = service.own_dispute(current_user.id, number)
    view = account_of(current_user, dispute.account.reference, _today())
    return render_template("disputes/show.html", dispute=dispute, view=view,
                           holds=contact.live_holds(current_user.id, dispute.account_id),
                           form=ConfirmForm(), open_states=OPEN)


@bp.post("/disputes/<number>/withdraw")
@limited
@borrower_required
def withdraw(number: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    actor = borrower_actor()
    try:
        service.withdraw(current_user.id, number, actor)
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("You withdrew your dispute. Any pause it started has ended."), "success")
    return redirect(url_for("disputes.show", number=number), 303)


@bp.get("/disputes/<number>/files/<int:file_id>")
@borrower_required
def file(number: str, file_id: int):
    dispute = service.own_dispute(current_user.id, number)
    return _attachment(*service.file_of(dispute, file_id))


# --- staff ---------------------------------------------------------------------------------------


def _staff_actor() -> Actor:
    return Actor("staff", str(current_user.id), request.remote_addr)


@staff_bp.get("/<number>")
@staff_required(WORK_DISPUTES)
def case(number: str):
    dispute = service.open_for_staff(current_user.agency_id, number, _staff_actor(),
                                     current_user.role)
    return render_template(
        "disputes/staff_case.html", dispute=dispute, view=view_of(dispute.account, _today()),
        events=history(dispute.borrower_id, dispute.account_id),
        confirm=ConfirmForm(), documents=DocumentsForm(), verification=VerificationForm(),
        resolution=ResolveForm(), original_creditor=OriginalCreditorForm(), open_states=OPEN)


def _of_agency(number: str) -> None:
    """Another agency's dispute is not found (404), before its form is even read. The read ends
    here, so the action's own locked read loads the dispute afresh."""
    with reading("whether the dispute is the agency's"):
        service.staff_dispute(current_user.agency_id, number)


def _staff_action(number: str, run):
    try:
        run()
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("staff_disputes.case", number=number), 303)


@staff_bp.post("/<number>/review")
@staff_required(WORK_DISPUTES)
def review(number: str):
    _of_agency(number)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _staff_action(number, lambda: service.start_review(current_user.agency_id, number,
                                                                 _staff_actor()))


@staff_bp.post("/<number>/documents")
@staff_required(WORK_DISPUTES)
def documents(number: str):
    _of_agency(number)
    form = DocumentsForm()
    if not form.validate_on_submit():
        abort(400)
    return _staff_action(number, lambda: service.request_documents(
        current_user.agency_id, number, form.note.data or "", _staff_actor()))


@staff_bp.post("/<number>/verification")
@limited
@staff_required(WORK_DISPUTES)
def verification(number: str):
    _of_agency(number)
    form = VerificationForm()
    if not form.validate_on_submit():
        abort(400)
    files = _files("document")
    if len(files) != 1:
        flash(_("Attach the verification document (one PDF or image)."), "error")
        return redirect(url_for("staff_disputes.case", number=number), 303)
    return _staff_action(number, lambda: service.record_verification(
        current_user.agency_id, number, files[0], form.delivery.data, _staff_actor()))


@staff_bp.post("/<number>/original-creditor")
@staff_required(WORK_DISPUTES)
def original_creditor(number: str):
    _of_agency(number)
    form = OriginalCreditorForm()
    if not form.validate_on_submit():
        flash(_("Give the original creditor's name and address, and how they were sent."),
              "error")
        return redirect(url_for("staff_disputes.case", number=number), 303)
    return _staff_action(number, lambda: service.record_original_creditor(
        current_user.agency_id, number, form.details.data, form.delivery.data, _staff_actor()))


@staff_bp.post("/<number>/resolve")
@staff_required(WORK_DISPUTES)
def resolve(number: str):
    _of_agency(number)
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("Choose an outcome from the list."), "error")
        return redirect(url_for("staff_disputes.case", number=number), 303)
    return _staff_action(number, lambda: service.resolve(
        current_user.agency_id, number, form.outcome.data, form.action.data or "none",
        form.amount.data, form.note.data or "", _staff_actor()))


@staff_bp.get("/<number>/files/<int:file_id>")
@staff_required(WORK_DISPUTES)
def staff_file(number: str, file_id: int):
    dispute = service.open_for_staff(current_user.agency_id, number, _staff_actor(),
                                     current_user.role)
    return _attachment(*service.file_of(dispute, file_id))
