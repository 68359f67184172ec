"""Issue 12: a CSV cell a spreadsheet would run as a formula is written as text; a plain number
(a phone number a dialer sent, a negative amount) is written exactly as it is."""

from __future__ import annotations

import csv
import io

import pytest

from portal import csvsafe


@pytest.mark.parametrize(("value", "written"), [
    ("=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("+1 213 555 0147", "+1 213 555 0147"),
    ("+12135550147", "+12135550147"),
    ("+1 (617) 555-0199", "+1 (617) 555-0199"),
    ("-12.50", "-12.50"),
    ("NWB-1001", "NWB-1001"),
    ("alex@example.com", "alex@example.com"),
    ("2026-03-02T12:00:00Z", "2026-03-02T12:00:00Z"),
    ("", ""),
    (42, 42),
])
def test_formula_cells_become_text_and_numbers_stay_exact(value, written):
    assert csvsafe.cell(value) == written


def test_the_writer_neutralises_every_cell_it_writes():
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(["=1+1", "+1 213 555 0147", "ok"])
    writer.writerows([["@x"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'=1+1", "+1 213 555 0147", "ok"], ["'@x"]]
