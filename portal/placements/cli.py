"""`flask --app portal placements ...`: placement files and recalls from the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask import Blueprint

from portal.cases.service import Actor
from portal.operations import NotFound, Refused
from portal.placements import recalls, service

bp = Blueprint("placements_cli", __name__, cli_group="placements")

CLI_ACTOR = Actor("system", "cli:placements", None)


@bp.cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--creditor", "creditor_code", required=True, help="The creditor's code.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Place it here, showing progress (or leave it to the worker).")
@click.option("--chunk-size", default=service.CHUNK_SIZE, show_default=True,
              help="Rows placed per transaction.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report (problems, or each line's account) to this CSV file.")
def import_command(path: Path, creditor_code: str, wait: bool, chunk_size: int,
                   report_path: Path | None) -> None:
    """Import a placement file (CONTRACT.md's header, or the creditor's map): all or nothing."""
    try:
        imp = service.start(creditor_code, path.read_bytes(), path.name, CLI_ACTOR,
                            chunk_size=chunk_size, defer=not wait)
    except (NotFound, Refused) as exc:
        raise click.ClickException(str(exc)) from None
    if imp.state == "rejected":
        click.echo(f"import {imp.id}: rejected, nothing placed ({len(imp.problems)} problems):",
                   err=True)
        for line, field, why in imp.problems[:50]:
            click.echo(f"  line {line}, {field}: {why}", err=True)
        _write_report(imp.id, report_path)
        raise SystemExit(1)
    click.echo(f"import {imp.id}: {imp.total_rows} rows checked, "
               f"{'placing' if wait else 'queued for the worker'}")
    if wait:
        while (progress := service.run_chunk(imp.id)) is not None:
            click.echo(f"  {progress.done_rows}/{progress.total_rows} rows "
                       f"({progress.percent}%)")
        # The last chunks may be with a worker that took them meanwhile: wait for it.
        while service.progress(imp.id).state in ("ready", "importing"):
            time.sleep(1)
    progress = service.progress(imp.id)
    click.echo(f"import {imp.id}: {progress.state}; placed {progress.placed}, adjusted "
               f"{progress.adjusted}, unchanged {progress.unchanged}")
    _write_report(imp.id, report_path)


def _write_report(import_id: int, report_path: Path | None) -> None:
    if report_path is not None:
        report_path.write_text(service.report_csv(import_id), encoding="utf-8")
        click.echo(f"report: {report_path}")


@bp.cli.command("progress")
@click.argument("import_id", type=int)
def progress_command(import_id: int) -> None:
    """Show how far an import has got."""
    try:
        p = service.progress(import_id)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"import {p.import_id}: {p.state}, {p.done_rows}/{p.total_rows} rows; placed "
               f"{p.placed}, adjusted {p.adjusted}, unchanged {p.unchanged}")


@bp.cli.command("report")
@click.argument("import_id", type=int)
def report_command(import_id: int) -> None:
    """Print an import's report as CSV (problems of a rejected file; else each line's account)."""
    try:
        click.echo(service.report_csv(import_id), nl=False)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None


@bp.cli.command("undo")
@click.argument("import_id", type=int)
def undo_command(import_id: int) -> None:
    """Undo an import while nothing has happened on its accounts (they are closed, not deleted)."""
    try:
        imp = service.undo(import_id, CLI_ACTOR)
    except (NotFound, Refused) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"import {imp.id}: undone")


@bp.cli.command("set-map")
@click.option("--creditor", "creditor_code", required=True, help="The creditor's code.")
@click.option("--file", "map_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='A JSON object {"their column": "our field", ...} instead of arguments.')
@click.argument("pairs", nargs=-1)
def set_map_command(creditor_code: str, map_file: Path | None, pairs: tuple[str, ...]) -> None:
    """Save the creditor's own header: 'their column=our field' (empty field: ignore it)."""
    columns = {}
    if map_file is not None:
        loaded = json.loads(map_file.read_text(encoding="utf-8"))
        if not isinstance(loaded, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()):
            raise click.ClickException("the map file is a JSON object of strings")
        columns.update(loaded)
    for pair in pairs:
        theirs, sep, ours = pair.partition("=")
        if not sep or not theirs.strip():
            raise click.ClickException(f"not 'their column=our field': {pair!r}")
        columns[theirs] = ours
    try:
        saved = service.set_column_map(creditor_code, columns)
    except (NotFound, Refused) as exc:
        raise click.ClickException(str(exc)) from None
    for theirs, ours in sorted(saved.items()):
        click.echo(f"{theirs} -> {ours or '(ignored)'}")


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



