"""`flask --app portal reconcile ...`: a month reconciled with Stripe by hand, and an agency's
remittance deadline."""

from __future__ import annotations

import click
from flask import Blueprint
from sqlalchemy import select

from portal.agency.models import Agency
from portal.extensions import db
from portal.lenders import trust
from portal.operations import reading
from portal.payments.gateway import GatewayError
from portal.reconcile import service
from portal.reconcile.matching import OPEN
from portal.reconcile.models import ReconciliationItem
from portal.reconcile.period import Period

bp = Blueprint("reconcile_cli", __name__, cli_group="reconcile")


def _period(_ctx, _param, value: str) -> Period:
    try:
        return Period.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _agency_id(name: str) -> int:
    with reading("reconcile.cli.agency"):
        found = db.session.scalar(select(Agency.id).where(Agency.name == name))
    if found is None:
        raise click.ClickException(f"no agency named {name!r}")
    return found


@bp.cli.command("run")
@click.option("--period", required=True, callback=_period, help="The month, like 2026-11.")
@click.option("--agency", default=None, help="One agency by name (default: every agency).")
def run_command(period: Period, agency: str | None) -> None:
    """Reconcile a month with Stripe (the worker does this and the last month every hour)."""
    try:
        results = ({(a := _agency_id(agency)): service.run(a, period)} if agency
                   else service.run_all(period))
    except GatewayError as exc:
        raise click.ClickException(f"Stripe could not be read ({exc}); nothing changed") from None
    for agency_id, result in results.items():
        with reading("reconcile.cli.open"):
            still_open = db.session.scalar(select(db.func.count()).where(
                ReconciliationItem.run_id == result.run_id,
                ReconciliationItem.outcome.in_(OPEN)))
        click.echo(f"agency {agency_id} {period}: {result.items} lines, {still_open} to look at "
                   f"({result.added} new, {result.changed} changed, {result.removed} gone)")


@bp.cli.command("deadline")
@click.option("--agency", required=True, help="The agency, by name.")
@click.option("--days", required=True, type=click.IntRange(1, 120),
              help="Days after the month's end.")
@click.option("--business-days", is_flag=True, help="Count business days (Monday to Friday).")
def deadline_command(agency: str, days: int, business_days: bool) -> None:
    """Set when the agency must pay its creditors a month's collections."""
    trust.set_deadline(_agency_id(agency), days, business_days)
    kind = "business days" if business_days else "days"
    click.echo(f"{agency}: remit within {days} {kind} after the month's end")
