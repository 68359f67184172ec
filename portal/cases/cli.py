"""`flask --app portal cases verify | export-heads | role-sql`: prove no case event was edited,
moved, forged or deleted; pin the heads outside the database; the grants of the app's role."""

import click
from flask import Blueprint

from portal.cases.grants import IDENTIFIER, app_role_sql
from portal.cases.service import export_heads, verify_all

bp = Blueprint("cases_cli", __name__, cli_group="cases")


@bp.cli.command("verify")
def verify_command():
    """Check every chain with the chain keys and against the latest signed export of the heads;
    exit 1 on any break."""
    found = verify_all()
    for b in found.breaks:
        click.echo(f"BROKEN {b.stream} at event {b.seq}: {b.problem}", err=True)
    for name in found.bad_exports:
        click.echo(f"BROKEN export {name}: its signature does not match (the file was altered "
                   "or not written with the chain key)", err=True)
    if found.export is None:
        click.echo("no signed export of the heads to compare with "
                   "(flask --app portal cases export-heads)")
    else:
        click.echo(f"compared with export {found.export.name} of {found.export.exported_at}: "
                   f"{found.not_yet_exported} event(s) not yet exported")
    click.echo(f"checked {found.checked} chains, {len(found.breaks)} broken")
    if found.breaks or found.bad_exports:
        raise SystemExit(1)


@bp.cli.command("export-heads")
def export_heads_command():
    """Write every stream's head (seq and hash), signed, to a new file in CHAIN_EXPORT_DIR."""
    export = export_heads()
    click.echo(f"exported {len(export.streams)} stream heads to {export.name}")


@bp.cli.command("role-sql")
@click.option("--role", default="portal_app", show_default=True,
              help="The role the app connects as (not the owner of the tables).")
def role_sql_command(role: str):
    """Print the GRANTs of the app's database role: no UPDATE, DELETE or TRUNCATE of the
    append-only tables, no ownership (so no ALTER TABLE ... DISABLE TRIGGER)."""
    if not IDENTIFIER.fullmatch(role):
        raise click.BadParameter("a plain lower-case identifier, e.g. portal_app",
                                 param_hint="--role")
    click.echo("\n".join(app_role_sql(role)))
