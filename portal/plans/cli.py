"""`flask --app portal plans ...`: the autopay job by hand, and a creditor's plan policy."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

import click
from flask import Blueprint
from sqlalchemy import select

from portal.accounts.models import Creditor
from portal.cases.service import Actor
from portal.extensions import db
from portal.operations import Refused
from portal.plans import charging, policy, service

bp = Blueprint("plans_cli", __name__, cli_group="plans")

#: Every field of the policy but the settlement floors, which have an option of their own.
FIELDS = [f for f in fields(policy.PlanPolicy) if f.name != "settlement_floors"]


@bp.cli.command("charge-due")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as if today were this date (YYYY-MM-DD).")
def charge_due_command(today) -> None:
    """Charge the installments due (autopay), settle, break overdue plans and send reminders."""
    counts = charging.charge_due(today.date() if today else None)
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing due")


def _floors(text: str) -> list[dict]:
    """'0:80,365:65,730:50' → settlement floors (from this age of debt in days, this percent)."""
    floors = []
    for part in text.split(","):
        age, _sep, percent = part.strip().partition(":")
        if not (age.isdigit() and percent.isdigit()):
            raise click.BadParameter(f"{part!r}: write AGE_DAYS:PERCENT, like 365:65")
        floors.append({"min_age_days": int(age), "percent": int(percent)})
    return floors


def _options(command):
    for f in reversed(FIELDS):
        kind = click.BOOL if f.type in (bool, "bool") else click.INT
        command = click.option(f"--{f.name.replace('_', '-')}", f.name, type=kind,
                               default=None, help=f"{f.name} (now: {f.default})")(command)
    return command


@bp.cli.command("set-policy")
@click.option("--creditor", "code", required=True, help="The creditor's code, like LUM.")
@click.option("--from-file", "path", type=click.Path(exists=True, dir_okay=False),
              help="A JSON object of policy fields (the rest keep their current values).")
@click.option("--settlement-floors", "floors", help="AGE_DAYS:PERCENT,... like 0:80,365:65.")
@click.option("--by", default="cli", show_default=True, help="Who changes it (recorded).")
@_options
def set_policy_command(code: str, path: str | None, floors: str | None, by: str,
                       **values) -> None:
    """Change a creditor's plan policy: only the fields given change. Prints the policy."""
    creditor = db.session.scalar(select(Creditor).where(Creditor.code == code))
    if creditor is None:
        raise click.ClickException(f"no creditor {code!r}")
    data = asdict(service.policy_of(creditor.id))
    if path:
        loaded = json.loads(Path(path).read_text())
        if not isinstance(loaded, dict):
            raise click.ClickException("the file must hold a JSON object of policy fields")
        data.update(loaded)
    data.update({k: v for k, v in values.items() if v is not None})
    if floors:
        data["settlement_floors"] = _floors(floors)
    try:
        built = service.set_policy(creditor.id, data, Actor("staff", by, "cli"))
    except Refused as refusal:
        raise click.ClickException(refusal.message) from None
    click.echo(json.dumps(asdict(built), indent=1, default=str))
