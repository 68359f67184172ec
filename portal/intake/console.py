"""What the import pages show, read through the placement engine and scoped to one agency."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Account, Creditor
from portal.cases.service import Actor
from portal.extensions import db
from portal.intake import masking
from portal.intake.staging import Staged
from portal.operations import NotFound
from portal.placements import service as placements
from portal.placements.models import ImportState, LineOutcome, PlacementImport, PlacementLine

#: How many rows of a file the preview shows.
PREVIEW_ROWS = 10
#: How many problems a page lists (the CSV report has them all).
SHOWN_PROBLEMS = 200
#: How many new accounts' references an import's page lists.
SHOWN_REFERENCES = 100
#: How many past imports the list shows.
LISTED = 100
STATE_NAMES = {
    ImportState.VALIDATING: _l("Checking"), ImportState.REJECTED: _l("Rejected"),
    ImportState.READY: _l("Waiting for the worker"), ImportState.IMPORTING: _l("Importing"),
    ImportState.DONE: _l("Done"), ImportState.UNDONE: _l("Undone"),
}
RUNNING = frozenset({ImportState.VALIDATING, ImportState.READY, ImportState.IMPORTING})


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str


@dataclass(frozen=True)
class PreviewRow:
    line: int
    values: list[str]
    problems: list[Problem]


@dataclass(frozen=True)
class Preview:
    """A file as the import would read it: the first rows (masked) and every problem."""

    fields: list[str]
    rows: list[PreviewRow]
    problems: list[Problem]
    total_rows: int
    more_problems: int = 0


@dataclass(frozen=True)
class ListedImport:
    id: int
    creditor_name: str
    filename: str
    created_at: datetime
    state_label: str
    total_rows: int


@dataclass(frozen=True)
class Status:
    """One import as its page shows it."""

    id: int
    creditor_name: str
    filename: str
    created_at: datetime
    state: str
    state_label: str
    total_rows: int
    done_rows: int
    placed: int
    adjusted: int
    unchanged: int
    problems: list[Problem] = field(default_factory=list)
    rejected_rows: int = 0
    new_references: list[str] = field(default_factory=list)
    more_references: int = 0
    #: Why the engine will not undo it (None: it may be undone).
    undo_refusal: str | None = None

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    @property
    def finished(self) -> bool:
        return not self.running

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else min(100, self.done_rows * 100 // self.total_rows)


def imports_of(agency_id: int) -> list[ListedImport]:
    """The agency's imports, newest first (another agency's never)."""
    rows = db.session.execute(
        select(PlacementImport, Creditor.name)
        .join(Creditor, Creditor.id == PlacementImport.creditor_id)
        .where(PlacementImport.agency_id == agency_id, Creditor.agency_id == agency_id)
        .order_by(PlacementImport.id.desc()).limit(LISTED))
    return [ListedImport(i.id, name, i.filename, i.created_at,
                         str(STATE_NAMES.get(i.state, i.state)), i.total_rows)
            for i, name in rows]


def _import_of(agency_id: int, import_id: int) -> tuple[PlacementImport, Creditor]:
    """One of the agency's imports; NotFound for another agency's, as for none at all."""
    found = db.session.execute(
        select(PlacementImport, Creditor)
        .join(Creditor, Creditor.id == PlacementImport.creditor_id)
        .where(PlacementImport.id == import_id, PlacementImport.agency_id == agency_id,
               Creditor.agency_id == agency_id)).first()
    if found is None:
        raise NotFound()
    return found[0], found[1]


def _problems(stored: list) -> list[Problem]:
    return [Problem(int(line), str(name), str(why)) for line, name, why in stored]


def status_of(agency_id: int, import_id: int) -> Status:
    imported, creditor = _import_of(agency_id, import_id)
    problems = _problems(imported.problems or [])
    references = list(db.session.scalars(
        select(Account.reference).join(PlacementLine, PlacementLine.account_id == Account.id)
        .where(PlacementLine.import_id == imported.id,
               PlacementLine.outcome == LineOutcome.PLACED)
        .order_by(PlacementLine.line).limit(SHOWN_REFERENCES + 1)))
    refusal = None
    if imported.state == ImportState.DONE:
        refusal = "; ".join(placements.undo_blockers(imported)) or None
    return Status(
        id=imported.id, creditor_name=creditor.name, filename=imported.filename,
        created_at=imported.created_at, state=imported.state,
        state_label=str(STATE_NAMES.get(imported.state, imported.state)),
        total_rows=imported.total_rows, done_rows=imported.done_rows, placed=imported.placed,
        adjusted=imported.adjusted, unchanged=imported.unchanged,
        problems=problems[:SHOWN_PROBLEMS],
        rejected_rows=len({p.line for p in problems}),
        new_references=references[:SHOWN_REFERENCES],
        more_references=max(0, imported.placed - SHOWN_REFERENCES),
        undo_refusal=refusal)


def preview(creditor: Creditor, data: bytes, filename: str) -> Preview:
    """The engine's check of the whole file (nothing written), and its first rows masked."""
    checked = placements.check(creditor, data, filename)
    problems = sorted((Problem(p.line, p.field, p.message) for p in checked.problems),
                      key=lambda p: (p.line, p.field))
    by_line: dict[int, list[Problem]] = {}
    for p in problems:
        by_line.setdefault(p.line, []).append(p)
    names = list(checked.header)
    fields = [n for n in names if n]
    rows = [PreviewRow(line, [masking.masked(name, raw.get(name)) for name in fields],
                       by_line.get(line, [])) for line, raw in _first_rows(data, names)]
    return Preview(fields=fields, rows=rows, problems=problems[:SHOWN_PROBLEMS],
                   total_rows=checked.total_rows,
                   more_problems=max(0, len(problems) - SHOWN_PROBLEMS))


def _first_rows(data: bytes, names: list[str]) -> list[tuple[int, dict]]:
    """The first PREVIEW_ROWS rows by line number (the header is line 1, one line a record, as
    the engine counts), each cell under its field's name."""
    if not names:
        return []
    text = data[:256 * 1024].decode("utf-8-sig", errors="replace")
    records = csv.reader(io.StringIO(text, newline=""))
    found = []
    try:
        next(records, None)
        for line, record in enumerate(records, start=2):
            if len(found) >= PREVIEW_ROWS:
                break
            if any(cell.strip() for cell in record):
                found.append((line, {n: v for n, v in zip(names, record, strict=False) if n}))
    except csv.Error:
        pass  # the engine names the line that cannot be read
    return found


def start(kept: Staged, actor: Actor) -> int:
    """Start the import of a previewed file (the worker places it); returns its id."""
    return placements.start(kept.creditor, kept.data, kept.filename, actor).id


def report_csv(agency_id: int, import_id: int) -> str:
    """The engine's report (CSV, spreadsheet-safe) of one of the agency's imports."""
    return placements.report_csv(import_id, agency_id)


def undo(agency_id: int, import_id: int, actor: Actor) -> None:
    """Undo one of the agency's imports; `Refused` says why not."""
    placements.undo(import_id, actor, agency_id=agency_id)
