"""`flask --app portal placements ...`: placement files and recalls from the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint

from portal.cases.service import Actor
from portal.operations import NotFound
from portal.placements import recalls

bp = Blueprint("placements_cli", __name__, cli_group="placements")


@bp.cli.command("recall")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--creditor", "creditor_code", required=True, help="The creditor's code, e.g. NWB.")
@click.option("--dry-run", is_flag=True, help="Show what the file would do; change nothing.")
def recall_command(path: Path, creditor_code: str, dry_run: bool):
    """Recall the accounts a file names (header creditor_account_id), all or none."""
    data = path.read_bytes()
    try:
        if dry_run:
            review = recalls.preview(data, creditor_code)
        else:
            review = recalls.recall_file_of(data, creditor_code, Actor.system("placements-cli"))
    except NotFound:
        raise click.ClickException(f"no creditor with code {creditor_code!r}") from None
    except recalls.RecallRefused as refused:
        _report(refused.review, "refused")
        raise click.ClickException(f"{path.name} refused: {len(refused.review.problems)} "
                                   "problem(s); nothing was changed") from None
    if dry_run and not review.accepted:
        _report(review, "would be refused")
        raise click.ClickException(f"{path.name} would be refused")
    _report(review, "would recall" if dry_run else "recalled")


def _report(review: recalls.Review, verb: str) -> None:
    for problem in review.problems:
        where = f"row {problem.row}" if problem.row else "file"
        click.echo(f"{where}: {problem.field or '-'}: {problem.text()}", err=True)
    if review.problems:
        return
    for match in review.recall:
        told = review.told.get(match.reference)
        click.echo(f"row {match.row}: {match.masked_id} -> {match.reference} {verb}"
                   + (f" (borrower told of cancelled plans: {told})" if told else ""))
    for match in review.already:
        click.echo(f"row {match.row}: {match.masked_id} -> {match.reference} already recalled")
    for match in review.closed:
        click.echo(f"row {match.row}: {match.masked_id} -> {match.reference} closed, left as it is")
    click.echo(f"{review.creditor_code}: {len(review.recall)} {verb}, {len(review.already)} "
               f"already recalled, {len(review.closed)} closed (file sha256 {review.sha256[:12]})")



