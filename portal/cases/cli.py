"""`flask --app portal cases verify`: prove no case event was edited or deleted."""

import click
from flask import Blueprint

from portal.cases.service import verify_all

bp = Blueprint("cases_cli", __name__, cli_group="cases")


@bp.cli.command("verify")
def verify_command():
    """Check every account's and borrower's hash chain; exit 1 on any break."""
    checked, breaks = verify_all()
    for b in breaks:
        click.echo(f"BROKEN {b.stream} at event {b.seq}: {b.problem}", err=True)
    click.echo(f"checked {checked} chains, {len(breaks)} broken")
    if breaks:
        raise SystemExit(1)
