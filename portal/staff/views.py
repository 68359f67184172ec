"""The console's administration pages: the agency's staff, the one-time link page, the staff
audit log, and a creditor's plan policy."""

from __future__ import annotations

import io
import json
from dataclasses import asdict

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select
from wtforms import SelectChoice

from portal import csvsafe
from portal.accounts.models import Creditor
from portal.extensions import db, limiter
from portal.identity import enrolment, staff_rules
from portal.identity.audit import AuditKind, Filters, audit, entries, every_entry
from portal.identity.roles import EDIT_PLAN_POLICY, MANAGE_STAFF, READ_STAFF_AUDIT, allows
from portal.operations import Refused, operation, reading
from portal.plans import policy as plan_policy
from portal.plans import service as plans
from portal.staff import service
from portal.staff.forms import (
    ROLE_NAMES,
    ActiveForm,
    AuditFilterForm,
    InviteForm,
    NewLinkForm,
    PlanPolicyForm,
    ResetMfaForm,
    RoleForm,
    WelcomeForm,
)
from portal.web.access import public, staff_required

bp = Blueprint("staff_admin", __name__, url_prefix="/staff")

#: The most rows one CSV export holds (narrow the filters for more).
EXPORT_LIMIT = 100_000
LINK_LIMIT = "20 per 10 minutes"


@bp.app_context_processor
def _permissions() -> dict:
    """`staff_may(permission)` for the console's navigation: links only to pages one may open."""
    def staff_may(permission: str) -> bool:
        return bool(current_user.is_authenticated and current_user.is_staff
                    and allows(current_user.role, permission))

    return {"staff_may": staff_may}


def _client() -> str | None:
    return request.remote_addr


def _first_error(form) -> str:
    errors = [e for field_errors in form.errors.values() for e in field_errors]
    return str(errors[0]) if errors else _("Check the form and try again.")


def _creditor_choices(form: InviteForm) -> None:
    creditors = db.session.scalars(select(Creditor).where(
        Creditor.agency_id == current_user.agency_id).order_by(Creditor.name))
    form.creditor.choices = [SelectChoice("", _("None (not a lender user)"))] + [
        SelectChoice(c.code, c.name) for c in creditors]


# --- the agency's staff ------------------------------------------------------------------------


@bp.route("/admin/people", methods=["GET", "POST"])
@staff_required(MANAGE_STAFF)
def people():
    form = InviteForm()
    with reading():
        _creditor_choices(form)
    status = 200
    if form.validate_on_submit():
        ask = service.Invitation(form.name.data, form.email.data, form.role.data,
                                 form.creditor.data or None)
        try:
            user = service.invite(current_user.id, ask, _client())
        except Refused as refusal:
            form.form_errors.append(refusal.message)
            status = refusal.status
        else:
            flash(_("Invitation sent to %(email)s. The link works once, for 72 hours.",
                    email=user.email), "success")
            return redirect(url_for("staff_admin.people"), 303)
    elif form.is_submitted():
        status = 422
    with reading():
        staff = service.staff_of(current_user.agency_id)
        invited = {u.id for u in staff if service.is_invited(u)}
        return render_template("staff/people.html", form=form, staff=staff, invited=invited,
                               role_names=ROLE_NAMES), status


@bp.get("/admin/people/<int:staff_id>")
@staff_required(MANAGE_STAFF)
def person(staff_id: int):
    with reading():
        user = service.colleague(current_user.agency_id, staff_id)
        return render_template(
            "staff/person.html", user=user, invited=service.is_invited(user),
            role_names=ROLE_NAMES, role_form=RoleForm(prefix="role", data={"role": user.role}),
            active_form=ActiveForm(prefix="active"), mfa_form=ResetMfaForm(prefix="mfa"),
            link_form=NewLinkForm(prefix="link"))


def _admin_action(staff_id: int, form, run, done: str):
    """One admin action on a colleague: another agency's is a 404 before the form is read."""
    with reading():
        service.colleague(current_user.agency_id, staff_id)
    if not form.validate_on_submit():
        flash(_first_error(form), "error")
        return redirect(url_for("staff_admin.person", staff_id=staff_id), 303)
    try:
        user = run(form)
    except Refused as refusal:
        flash(refusal.message, "error")
    else:
        flash(done % {"name": user.name}, "success")
    if not current_user.is_authenticated or not current_user.active:
        return redirect(url_for("identity.staff_sign_in"), 303)
    return redirect(url_for("staff_admin.person", staff_id=staff_id), 303)


@bp.post("/admin/people/<int:staff_id>/role")
@staff_required(MANAGE_STAFF)
def change_role(staff_id: int):
    return _admin_action(
        staff_id, RoleForm(prefix="role"),
        lambda f: service.change_role(current_user.id, staff_id, f.role.data, _client()),
        _("%(name)s's role is changed. It applies from their next page."))


@bp.post("/admin/people/<int:staff_id>/active")
@staff_required(MANAGE_STAFF)
def set_active(staff_id: int):
    def run(form):
        return service.set_active(current_user.id, staff_id, form.active.data == "on",
                                  _client())

    form = ActiveForm(prefix="active")
    done = (_("%(name)s is reactivated and can sign in again.") if form.active.data == "on"
            else _("%(name)s is deactivated: their sessions have ended."))
    return _admin_action(staff_id, form, run, done)


@bp.post("/admin/people/<int:staff_id>/mfa-reset")
@staff_required(MANAGE_STAFF)
def reset_mfa(staff_id: int):
    resetting_self = staff_id == current_user.id
    response = _admin_action(
        staff_id, ResetMfaForm(prefix="mfa"),
        lambda f: service.reset_mfa(current_user.id, staff_id, _client()),
        _("Two-step verification reset for %(name)s: a one-time link is on its way to them."))
    if resetting_self and response.status_code == 303:
        logout_user()  # their own sessions ended with the reset
        session.clear()
    return response


@bp.post("/admin/people/<int:staff_id>/link")
@staff_required(MANAGE_STAFF)
def new_link(staff_id: int):
    return _admin_action(
        staff_id, NewLinkForm(prefix="link"),
        lambda f: service.send_new_link(current_user.id, staff_id, _client()),
        _("A new link is on its way to %(name)s; the old one no longer works."))


# --- the one-time link -------------------------------------------------------------------------


@bp.route("/welcome/<token>", methods=["GET", "POST"])
@limiter.limit(LINK_LIMIT, methods=["POST"])
@public
def welcome(token: str):
    with reading():
        opened = enrolment.open_link(token)
        refusal = enrolment.refusal(opened.state) if opened.state != "usable" else None
        if refusal is None:
            purpose, email = opened.link.purpose, opened.link.staff.email
            secret, uri = opened.link.totp_secret, opened.uri
    if refusal is not None:
        return render_template("staff/link_refused.html", message=refusal.message), \
            refusal.status
    form = WelcomeForm()
    status = 200
    if form.validate_on_submit():
        try:
            enrolment.complete(token, password=form.password.data, confirm=form.confirm.data,
                               code=form.code.data, source=_client())
        except Refused as refusal:
            form.form_errors.append(refusal.message)
            status = refusal.status
        else:
            logout_user()
            session.clear()
            flash(_("All set. Sign in with your email, password and a code from your "
                    "authenticator."), "success")
            return redirect(url_for("identity.staff_sign_in"), 303)
    elif form.is_submitted():
        status = 422
    return render_template("staff/welcome.html", form=form, purpose=purpose, email=email,
                           secret=secret, uri=uri, qr=qr_svg(uri)), status


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code, for a phone's camera; no JavaScript."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True,
                                    title=_("QR code for your authenticator app"))
    return out.getvalue().decode()


# --- the staff audit log -----------------------------------------------------------------------


def _filters(form: AuditFilterForm, staff) -> Filters:
    form.person.choices = [SelectChoice("", _("Everyone"))] + [
        SelectChoice(str(u.id), f"{u.name} ({u.email})") for u in staff]
    form.kind.choices = [SelectChoice("", _("Everything"))] + [
        SelectChoice(str(k), k.replace("_", " ").capitalize()) for k in AuditKind]
    form.validate()
    person = form.person.data if form.person.data in {str(u.id) for u in staff} else None
    kind = form.kind.data if form.kind.data in set(AuditKind) else None
    return Filters(int(person) if person else None, kind,
                   None if form.since.errors else form.since.data,
                   None if form.until.errors else form.until.data)


@bp.get("/admin/audit")
@staff_required(READ_STAFF_AUDIT)
def audit_log():
    form = AuditFilterForm(request.args)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 100_000)
    with reading():
        filters = _filters(form, service.staff_of(current_user.agency_id))
        lines, more = entries(current_user.agency_id, filters, page)
        return render_template("staff/audit.html", form=form, lines=lines, page=page,
                               more=more, query=filters.as_dict(),
                               mask=staff_rules.mask_address)


@operation
def _export(agency_id: int, actor_id: int, filters: Filters, source: str | None):
    """The rows to export, and the export itself recorded in the log it reads."""
    lines = every_entry(agency_id, filters, EXPORT_LIMIT)
    audit(AuditKind.EXPORTED, agency_id=agency_id, actor_id=actor_id, source=source,
          detail={"filters": filters.as_dict(), "rows": len(lines)})
    return lines


@bp.get("/admin/audit.csv")
@staff_required(READ_STAFF_AUDIT)
def audit_csv():
    form = AuditFilterForm(request.args)
    with reading():
        filters = _filters(form, service.staff_of(current_user.agency_id))
    lines = _export(current_user.agency_id, current_user.id, filters, _client())
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(["at_utc", "kind", "actor_id", "actor", "subject_id", "subject", "address",
                     "detail"])
    for line in lines:
        e = line.entry
        writer.writerow([e.at.isoformat(), e.kind, e.actor_id or "", line.actor or "",
                         e.subject_id or "", line.subject or "", line.address or "",
                         _detail_text(e.detail)])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="staff-audit.csv"',
        "Cache-Control": "no-store"})


def _detail_text(detail: dict) -> str:
    return json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else ""


# --- a creditor's plan policy ------------------------------------------------------------------


def _policy_form(creditor_id: int, formdata=None) -> PlanPolicyForm:
    current = plans.policy_of(creditor_id)
    data = asdict(current)
    data["settlement_floors"] = plan_policy.format_floors(current.settlement_floors)
    return PlanPolicyForm(formdata=formdata, data=data)


@bp.route("/admin/plan-policy", methods=["GET", "POST"])
@staff_required(EDIT_PLAN_POLICY)
def plan_policy_page():
    wanted = request.args.get("creditor", "")
    with reading():
        creditors = list(db.session.scalars(select(Creditor).where(
            Creditor.agency_id == current_user.agency_id).order_by(Creditor.name)))
        creditor = next((c for c in creditors if c.code == wanted),
                        None if wanted else (creditors[0] if creditors else None))
        if wanted and creditor is None:
            abort(404)  # another agency's creditor, or none: the same answer
        form = _policy_form(creditor.id, request.form if request.method == "POST" else None) \
            if creditor else None
        code = creditor.code if creditor else None
    status = 200
    if request.method == "POST" and form is not None:
        floors = plan_policy.parse_floors(form.settlement_floors.data or "")
        if form.validate_on_submit() and floors is not None:
            values = {name: field.data for name, field in form._fields.items()
                      if name not in ("csrf_token", "settlement_floors")}
            values["settlement_floors"] = floors
            try:
                plans.edit_policy(current_user.agency_id, code, values, current_user.id,
                                  _client())
            except Refused as refusal:
                form.form_errors.append(refusal.message)
                status = refusal.status
            else:
                flash(_("The plan policy is saved; it decides the next proposal."), "success")
                return redirect(url_for("staff_admin.plan_policy_page", creditor=code), 303)
        else:
            if floors is None:
                form.settlement_floors.errors = [*form.settlement_floors.errors, _(
                    "Write each floor as DAYS:PERCENT, separated by commas, like 0:80,365:65.")]
            status = 422
    with reading():
        shown = next((c for c in creditors if c.code == code), None)
        return render_template("staff/plan_policy.html", form=form, creditors=creditors,
                               creditor=shown), status
