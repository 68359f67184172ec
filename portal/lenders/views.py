"""The lender's portal: portfolio, one account, statements (page, CSV, PDF) and direct payments.
Each view parses, calls one service function and renders; every route needs VIEW_PORTFOLIO,
which only the lender role holds."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.cases.service import Actor
from portal.identity.roles import VIEW_PORTFOLIO
from portal.lenders import direct, documents, portfolio, statements
from portal.lenders.forms import DirectPaymentFileForm, DirectPaymentForm
from portal.lenders.scope import creditor_ids, creditors
from portal.operations import Refused, reading
from portal.web.access import staff_required

bp = Blueprint("lenders", __name__, url_prefix="/lender")


def _user():
    """The signed-in lender user's row itself (not the proxy), for a service function."""
    return current_user._get_current_object()


@bp.get("/")
@staff_required(VIEW_PORTFOLIO)
def portfolio_page():
    page = request.args.get("page", 1, type=int) or 1
    with reading():
        rows = portfolio.accounts(_user(), page)
        names = [c.name for c in creditors(creditor_ids(_user()))]
        return render_template("lenders/portfolio.html", rows=rows, page=page, names=names,
                               page_size=portfolio.PAGE_SIZE)


@bp.get("/accounts/<reference>")
@staff_required(VIEW_PORTFOLIO)
def account(reference: str):
    facts = portfolio.open_account(_user(), reference, request.remote_addr)
    with reading():
        return render_template("lenders/account.html", facts=facts, account=facts.account)


@bp.get("/statements")
@staff_required(VIEW_PORTFOLIO)
def statements_page():
    with reading():
        found = statements.statements_of(creditor_ids(_user()))
        return render_template("lenders/statements.html", statements=found,
                               totals=statements.totals_of_many(found))


@bp.get("/statements/<int:statement_id>")
@staff_required(VIEW_PORTFOLIO)
def statement(statement_id: int):
    with reading():
        row = statements.statement_of(creditor_ids(_user()), statement_id)
        return render_template("lenders/statement.html", statement=row,
                               lines=documents.rows(row, statements.references(row)),
                               totals=statements.totals_of(row), rounding=documents.rounding())


def _download(statement_id: int, extension: str):
    with reading():
        row = statements.statement_of(creditor_ids(_user()), statement_id)
        found = documents.download(row, statements.references(row), statements.totals_of(row),
                                   extension)
    return found.body, found.headers


@bp.get("/statements/<int:statement_id>.csv")
@staff_required(VIEW_PORTFOLIO)
def statement_csv(statement_id: int):
    return _download(statement_id, "csv")


@bp.get("/statements/<int:statement_id>.pdf")
@staff_required(VIEW_PORTFOLIO)
def statement_pdf(statement_id: int):
    return _download(statement_id, "pdf")


# --- direct payments ---------------------------------------------------------------------------


def _render_direct(form: DirectPaymentForm, upload: DirectPaymentFileForm, status: int = 200,
                   problems: list[str] | None = None):
    return render_template("lenders/direct_payments.html", form=form, upload=upload,
                           problems=problems or []), status


def _reporter() -> tuple[Actor, str]:
    return Actor("staff", str(current_user.id), request.remote_addr), f"staff:{current_user.id}"


@bp.route("/direct-payments", methods=["GET", "POST"])
@staff_required(VIEW_PORTFOLIO)
def direct_payments():
    form, upload = DirectPaymentForm(), DirectPaymentFileForm(prefix="file")
    if not form.is_submitted():
        return _render_direct(form, upload)
    if not form.validate():
        return _render_direct(form, upload, 422)
    with reading():
        ids = creditor_ids(_user())
    try:
        row = direct.report(ids, direct.Report(form.account_ref.data, form.amount.data,
                                               form.paid_on.data, form.reference.data),
                            *_reporter())
    except Refused as refused:
        form.form_errors.append(refused.message)
        return _render_direct(form, upload, refused.status)
    flash(_("Payment of %(amount)s on %(ref)s recorded: the balance is lower now.",
            amount=f"{form.amount.data.strip()} {row.currency}",
            ref=form.account_ref.data.strip()), "success")
    return redirect(url_for("lenders.direct_payments"), 303)


@bp.post("/direct-payments/file")
@staff_required(VIEW_PORTFOLIO)
def direct_payments_file():
    form, upload = DirectPaymentForm(), DirectPaymentFileForm(prefix="file")
    if not upload.validate_on_submit() or not upload.file.data:
        upload.file.errors = [_("Choose a CSV file.")]
        return _render_direct(form, upload, 422)
    with reading():
        ids = creditor_ids(_user())
    try:
        rows = direct.read_csv(upload.file.data.read())
        done = direct.report_file(ids, rows, *_reporter())
    except direct.BadFile as bad:
        return _render_direct(form, upload, 422, bad.problems)
    flash(_("%(count)s payments recorded.", count=len(done)), "success")
    return redirect(url_for("lenders.direct_payments"), 303)
