"""Reading a recall file (CONTRACT.md "Placement files"): the creditor's ids, or each bad row. Pure.

The header names `creditor_account_id` (other columns, such as a lender's own reason, are
ignored). Rows are numbered as a spreadsheet shows them: the header is row 1. A file with any bad
row is refused whole, so the report names every bad row, not the first.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

COLUMN = "creditor_account_id"
#: Longer than any account number a lender uses; a longer cell is a mistake (a pasted row).
MAX_ID_LENGTH = 64
#: 10 MB: some 400,000 ids; a bigger recall is split by the lender.
MAX_BYTES = 10 * 1024 * 1024


def N_(text: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    return text


#: What is wrong, by code: English source strings, translated where shown (%(first)d: a row).
PROBLEMS = {
    "encoding": N_("The file is not UTF-8 text."),
    "too_large": N_("The file is larger than 10 MB; split it into smaller files."),
    "not_csv": N_("The file is not a CSV file that can be read."),
    "no_header": N_("The file is empty: the first row must be the header creditor_account_id."),
    "header": N_("The header has no creditor_account_id column."),
    "no_rows": N_("The file names no accounts."),
    "empty": N_("creditor_account_id is empty."),
    "too_long": N_("creditor_account_id is longer than 64 characters."),
    "control": N_("creditor_account_id contains a character that is not printable."),
    "duplicate": N_("The same creditor_account_id is already on row %(first)d."),
    "unknown": N_("No account of this creditor has this creditor_account_id."),
    "several": N_("Several accounts of this creditor have this creditor_account_id: %(refs)s."),
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong: a row (None: the whole file), its field, a code of PROBLEMS."""

    row: int | None
    code: str
    field: str = COLUMN
    first: int | None = None
    refs: str | None = None

    def params(self) -> dict:
        return {"first": self.first or 0, "refs": self.refs or ""}

    def text(self) -> str:
        """In English (the command line); pages translate PROBLEMS[code] themselves."""
        return PROBLEMS[self.code] % self.params()


@dataclass(frozen=True)
class RecallFile:
    """The ids of the file by row, what is wrong with it, and its SHA-256 (kept on each event)."""

    ids: tuple[tuple[int, str], ...]
    problems: tuple[Problem, ...]
    sha256: str


def read(data: bytes) -> RecallFile:
    """Every id of the file with its row, or the problems that refuse it."""
    digest = hashlib.sha256(data).hexdigest()

    def refused(code: str) -> RecallFile:
        return RecallFile((), (Problem(None, code, field=""),), digest)

    if len(data) > MAX_BYTES:
        return refused("too_large")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return refused("encoding")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return refused("no_header")
        names = [name.strip().lower() for name in header]
        if COLUMN not in names:
            return refused("header")
        column = names.index(COLUMN)
        ids: list[tuple[int, str]] = []
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for row, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a blank line (a trailing newline in a spreadsheet's export)
            value = cells[column].strip() if column < len(cells) else ""
            problem = _check(row, value, seen)
            if problem is not None:
                problems.append(problem)
                continue
            seen[value] = row
            ids.append((row, value))
    except csv.Error:
        return refused("not_csv")
    if not ids and not problems:
        return refused("no_rows")
    return RecallFile(tuple(ids), tuple(problems), digest)


def _check(row: int, value: str, seen: dict[str, int]) -> Problem | None:
    if not value:
        return Problem(row, "empty")
    if len(value) > MAX_ID_LENGTH:
        return Problem(row, "too_long")
    if not value.isprintable():
        return Problem(row, "control")
    if value in seen:
        return Problem(row, "duplicate", first=seen[value])
    return None


def masked(value: str) -> str:
    """The creditor's id as a screen shows it: its last four characters."""
    return "••••" + value[-4:]
