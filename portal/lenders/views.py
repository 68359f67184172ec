"""The lender's portal: portfolio, one account, statements (page, CSV, PDF) and direct payments.
Each view parses, calls one service function and renders; every route needs VIEW_PORTFOLIO,
which only the lender role holds."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from flask_login import current_user

from portal.identity.roles import VIEW_PORTFOLIO
from portal.lenders import documents, portfolio, statements
from portal.lenders.scope import creditor_ids, creditors
from portal.operations import reading
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
                               totals={s.id: statements.totals_of(s) for s in found})


def _statement(statement_id: int):
    row = statements.statement_of(creditor_ids(_user()), statement_id)
    lines = documents.rows(row, statements.references(row))
    totals = statements.totals_of(row)
    return row, lines, totals


@bp.get("/statements/<int:statement_id>")
@staff_required(VIEW_PORTFOLIO)
def statement(statement_id: int):
    with reading():
        row, lines, totals = _statement(statement_id)
        return render_template("lenders/statement.html", statement=row, lines=lines,
                               totals=totals, rounding=documents.rounding())


@bp.get("/statements/<int:statement_id>.csv")
@staff_required(VIEW_PORTFOLIO)
def statement_csv(statement_id: int):
    with reading():
        row, lines, totals = _statement(statement_id)
        body = documents.as_csv(lines, documents.total_rows(totals))
        name = documents.filename(row, "csv")
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/statements/<int:statement_id>.pdf")
@staff_required(VIEW_PORTFOLIO)
def statement_pdf(statement_id: int):
    with reading():
        row, lines, totals = _statement(statement_id)
        body = documents.as_pdf(row, lines, documents.total_rows(totals),
                                {t.currency: t.invoiced for t in totals})
        name = documents.filename(row, "pdf")
    response = make_response(body)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
