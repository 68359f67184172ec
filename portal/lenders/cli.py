"""`flask --app portal lenders ...`: reconcile a month, close a statement, add commission terms,
group a lender's creditors, issue a lender's API key."""

from __future__ import annotations

import click
from flask import Blueprint
from sqlalchemy import select

from portal.api import service as api
from portal.extensions import db
from portal.identity.models import StaffUser
from portal.lenders import statements, terms
from portal.operations import Refused, reading
from portal.reconcile import cli as reconcile_cli

bp = Blueprint("lenders_cli", __name__, cli_group="lenders")
#: `lenders reconcile --period 2026-11`: the month reconciled with Stripe before its statements
#: close (the same command as `reconcile run`).
bp.cli.add_command(reconcile_cli.run_command, "reconcile")


@bp.cli.command("close-statement")
@click.option("--creditor", "creditor_code", required=True, help="The creditor's code.")
@click.option("--period", required=True, help="The month, YYYY-MM (it must have ended).")
def close_statement_command(creditor_code: str, period: str) -> None:
    """Close a creditor's remittance statement of a month: written once, never changed."""
    try:
        row = statements.close_statement(creditor_code, period, "cli")
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    with reading():
        for t in statements.totals_of(row):
            click.echo(f"{t.currency}: collected {t.collected}, refunded {t.refunded}, charged "
                       f"back {t.charged_back}, commission {t.commission}, remitted {t.due}, "
                       f"invoiced {t.invoiced} (minor units)")
    click.echo(f"statement {row.id} of {creditor_code} for {period} closed")


@bp.cli.command("add-terms")
@click.option("--creditor", "creditor_code", required=True)
@click.option("--from", "valid_from", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--method", type=click.Choice(["net", "gross", "combined"]), default="net",
              show_default=True)
@click.option("--rate", "rates", multiple=True, required=True,
              help="BP, DAYS:BP or PRODUCT:DAYS:BP (basis points; 2500 is 25 %).")
def add_terms_command(creditor_code: str, valid_from, method: str, rates: tuple[str, ...]):
    """New commission terms of a creditor from a date (older terms are kept, superseded)."""
    try:
        parsed = [terms.parse_rate(r) for r in rates]
        terms.add_terms(creditor_code, valid_from.date(), method, parsed)
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    click.echo(f"{creditor_code}: {method} terms from {valid_from.date().isoformat()}")


def _lender(email: str) -> StaffUser:
    with reading():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email.lower()))
    if user is None:
        raise click.ClickException(f"no staff user {email!r}")
    return user


@bp.cli.command("link-creditor")
@click.argument("email")
@click.option("--creditor", "creditor_code", required=True)
def link_creditor_command(email: str, creditor_code: str) -> None:
    """Let a lender user (a lender group) see another of their agency's creditors."""
    try:
        terms.link_creditor(_lender(email).id, creditor_code)
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    click.echo(f"{email} now sees {creditor_code}")


@bp.cli.command("issue-key")
@click.argument("email")
def issue_key_command(email: str) -> None:
    """An API key for a lender user's own system: their remittances and direct payments only."""
    try:
        public_id, key = api.issue_lender_key(_lender(email).id)
    except Refused as refused:
        raise click.ClickException(refused.message) from None
    click.echo(f"key id {public_id}\nkey    {key}")
