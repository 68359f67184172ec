"""CSV that is safe to open in a spreadsheet: the one way the portal writes CSV.

A cell starting with = + - @ (or a tab or carriage return, which some spreadsheets skip first) is
run as a formula by Excel, LibreOffice and Google Sheets, so such a cell is written with a leading
single quote, which they show as text (OWASP, "CSV Injection"). A cell that is a plain number —
digits, spaces and + - ( ) . only, such as a phone number "+1 213 555 0147" or "-12.50" — is
written exactly: it can call no function, and programs (dialers) must read it back as they sent it.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?[0-9][0-9 ().-]*")


def cell(value: Any) -> Any:
    """The value as a spreadsheet may safely read it (non-strings are left as they are)."""
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


class _Writer:
    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]):
        for row in rows:
            self.writerow(row)


def writer(out, **kwargs) -> _Writer:
    """A csv.writer whose every cell goes through `cell`."""
    return _Writer(out, **kwargs)
