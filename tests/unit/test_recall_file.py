"""Reading a recall file: every id with its row, or every bad row, as a table of cases."""

from __future__ import annotations

import pytest

from portal.placements.recall_file import MAX_BYTES, PROBLEMS, read


def _problems(data: bytes) -> list[tuple[int | None, str]]:
    return [(p.row, p.code) for p in read(data).problems]


@pytest.mark.parametrize(("case", "data", "ids", "problems"), [
    ("one id", b"creditor_account_id\nA-1\n", [(2, "A-1")], []),
    ("a BOM, CRLF, spaces and a blank line",
     b"\xef\xbb\xbfcreditor_account_id\r\n A-1 \r\n\r\nB-2\r\n", [(2, "A-1"), (4, "B-2")], []),
    ("other columns are ignored", b"reason,creditor_account_id\nfraud,A-1\n", [(2, "A-1")], []),
    ("the header in capitals", b"CREDITOR_ACCOUNT_ID\nA-1\n", [(2, "A-1")], []),
    ("an empty cell", b"reason,creditor_account_id\nx,A-1\ny,\nz,B-2\n",
     [(2, "A-1"), (4, "B-2")], [(3, "empty")]),
    ("a short row", b"reason,creditor_account_id\nfraud\n", [], [(2, "empty")]),
    ("a duplicate", b"creditor_account_id\nA-1\nA-1\n", [(2, "A-1")], [(3, "duplicate")]),
    ("too long", b"creditor_account_id\n" + b"9" * 65 + b"\n", [], [(2, "too_long")]),
    ("a control character", b"creditor_account_id\nA\x071\n", [], [(2, "control")]),
    ("no header column", b"account\nA-1\n", [], [(None, "header")]),
    ("empty file", b"", [], [(None, "no_header")]),
    ("only the header", b"creditor_account_id\n", [], [(None, "no_rows")]),
    ("not UTF-8", b"creditor_account_id\n\xff\xfe\n", [], [(None, "encoding")]),
    ("too large", b"creditor_account_id\n" + b"1\n" * (MAX_BYTES // 2 + 1), [],
     [(None, "too_large")]),
])
def test_a_recall_file_is_read_row_by_row(case, data, ids, problems):
    found = read(data)
    assert list(found.ids) == ids, case
    assert _problems(data) == problems, case
    assert len(found.sha256) == 64


def test_every_problem_has_a_text_and_the_same_file_the_same_digest():
    assert read(b"creditor_account_id\nA\n").sha256 == read(b"creditor_account_id\nA\n").sha256
    duplicate = read(b"creditor_account_id\nA\nA\n").problems[0]
    assert duplicate.text() == "The same creditor_account_id is already on row 2."
    assert all(text.strip() for text in PROBLEMS.values())
