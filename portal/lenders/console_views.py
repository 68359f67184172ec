"""The console's statements pages (/staff/statements): the agency's creditors, each with its
commission terms and their history, its closed statements (viewed and downloaded as the lender
sees them) and the next statement as it would close now; closing it, and adding terms.

Each view parses, calls one service function (`lenders.console`) and renders. Another agency's
creditor or statement is a 404, as one that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.identity.roles import (
    CLOSE_STATEMENTS,
    SET_COMMISSION_TERMS,
    VIEW_STATEMENTS,
    allows,
)
from portal.lenders import console, documents, statements
from portal.lenders.forms import METHODS, CloseStatementForm, TermsForm
from portal.operations import Refused, reading
from portal.web.access import staff_required

bp = Blueprint("staff_statements", __name__, url_prefix="/staff/statements")


def _staff():
    """The signed-in staff member's row itself (not the proxy), for a service function."""
    return current_user._get_current_object()


@bp.get("")
@staff_required(VIEW_STATEMENTS)
def index():
    today = datetime.now(UTC).date()
    with reading("lenders.console.index"):
        found = console.summaries(current_user.agency_id, today)
        return render_template("lenders/console.html", summaries=found, methods=METHODS,
                               percent=console.percent)


def _creditor_page(code: str, *, terms_form: TermsForm | None = None,
                   close_form: CloseStatementForm | None = None,
                   refusal: str | None = None, status: int = 200):
    now = datetime.now(UTC)
    with reading("lenders.console.creditor"):
        creditor = console.creditor_of(current_user.agency_id, code)
        upcoming = console.next_statement(creditor, now)
        draft = upcoming.draft
        closed = statements.statements_of([creditor.id])
        return render_template(
            "lenders/console_creditor.html", creditor=creditor, upcoming=upcoming,
            lines=documents.line_rows(draft.lines, draft.method, upcoming.references)
            if draft else [],
            terms=console.terms_shown(creditor.id, now.date()), closed=closed,
            closed_totals=statements.totals_of_many(closed),
            methods=METHODS, percent=console.percent, refusal=refusal,
            may_close=allows(current_user.role, CLOSE_STATEMENTS),
            may_set_terms=allows(current_user.role, SET_COMMISSION_TERMS),
            close_form=close_form or CloseStatementForm(period=upcoming.period),
            terms_form=terms_form or TermsForm(formdata=None),
            rounding=documents.rounding()), status


@bp.get("/<creditor_code>")
@staff_required(VIEW_STATEMENTS)
def creditor(creditor_code: str):
    return _creditor_page(creditor_code)


def _in_scope(code: str) -> None:
    """Another agency's creditor is not found before anything else is said about the form."""
    with reading():
        console.creditor_of(current_user.agency_id, code)


@bp.post("/<creditor_code>/close")
@staff_required(CLOSE_STATEMENTS)
def close(creditor_code: str):
    _in_scope(creditor_code)
    form = CloseStatementForm()
    if not form.validate_on_submit():
        return _creditor_page(creditor_code, close_form=form, status=422, refusal=_(
            "Choose the statement to close from this page and try again."))
    try:
        row = console.close(_staff(), creditor_code, form.period.data.strip(),
                            request.remote_addr)
    except Refused as refused:
        return _creditor_page(creditor_code, close_form=form, refusal=refused.message,
                              status=refused.status)
    flash(_("The statement of %(period)s is closed and sent to the agency's systems.",
            period=row.period), "success")
    return redirect(url_for("staff_statements.creditor", creditor_code=creditor_code), 303)


@bp.post("/<creditor_code>/terms")
@staff_required(SET_COMMISSION_TERMS)
def add_terms(creditor_code: str):
    _in_scope(creditor_code)
    form = TermsForm()
    if form.validate_on_submit():
        with reading():
            latest = console.latest_terms_start(
                console.creditor_of(current_user.agency_id, creditor_code).id)
        if latest is not None and form.valid_from.data <= latest:
            form.valid_from.errors = [_(
                "Terms from %(day)s are on record: new terms start after that day (terms are "
                "never changed, only superseded).", day=latest.isoformat())]
        else:
            try:
                console.add_terms(_staff(), creditor_code, form.valid_from.data,
                                  form.method.data, form.parsed_rates, request.remote_addr)
            except Refused as refused:
                form.form_errors.append(refused.message)
                return _creditor_page(creditor_code, terms_form=form, status=refused.status)
            flash(_("The new terms apply from %(day)s; the older ones stay on record.",
                    day=form.valid_from.data.isoformat()), "success")
            return redirect(url_for("staff_statements.creditor", creditor_code=creditor_code)
                            + "#terms", 303)
    return _creditor_page(creditor_code, terms_form=form, status=422)


@bp.get("/<creditor_code>/<int:statement_id>")
@staff_required(VIEW_STATEMENTS)
def statement(creditor_code: str, statement_id: int):
    """A closed statement, on the very page the lender reads it."""
    with reading("lenders.console.statement"):
        row = console.statement_of(current_user.agency_id, creditor_code, statement_id)
        return render_template(
            "lenders/statement.html", statement=row,
            lines=documents.rows(row, statements.references(row)),
            totals=statements.totals_of(row), rounding=documents.rounding(),
            back=url_for("staff_statements.creditor", creditor_code=creditor_code),
            csv_url=url_for("staff_statements.statement_csv", creditor_code=creditor_code,
                            statement_id=row.id),
            pdf_url=url_for("staff_statements.statement_pdf", creditor_code=creditor_code,
                            statement_id=row.id))


def _download(creditor_code: str, statement_id: int, extension: str):
    with reading():
        row = console.statement_of(current_user.agency_id, creditor_code, statement_id)
        found = documents.download(row, statements.references(row), statements.totals_of(row),
                                   extension)
    return found.body, found.headers


@bp.get("/<creditor_code>/<int:statement_id>.csv")
@staff_required(VIEW_STATEMENTS)
def statement_csv(creditor_code: str, statement_id: int):
    return _download(creditor_code, statement_id, "csv")


@bp.get("/<creditor_code>/<int:statement_id>.pdf")
@staff_required(VIEW_STATEMENTS)
def statement_pdf(creditor_code: str, statement_id: int):
    return _download(creditor_code, statement_id, "pdf")
