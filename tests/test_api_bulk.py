"""Bulk decisions: a JSON array answers item for item what the single endpoint answers; a CSV of any
size is read and answered as a stream, bad rows answered in place, and an answer says when it is
whole."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from portal.api import service
from portal.api.schemas import CSV_ANSWER_COLUMNS, MAX_BULK_ITEMS

KEY = "demo-dialer-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
NEW_YORK, SHANGHAI = ZoneInfo("America/New_York"), ZoneInfo("Asia/Shanghai")
PROBLEM = "application/problem+json"


def _at(zone, hour: int, minute: int = 0, days: int = 1) -> str:
    day = datetime.now(zone).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), zone).isoformat()


def _inputs() -> list:
    """Allowed, blocked, limited, unknown, invalid: one of each kind of answer."""
    return [
        {"account_ref": "NWB-1001", "channel": "call", "destination": "+1 213 555 0147",
         "at": _at(NEW_YORK, 8, 30)},
        {"account_ref": "NWB-1001", "channel": "call", "destination": "+1 213 555 0147",
         "at": _at(NEW_YORK, 11, 5)},
        {"account_ref": "LUM-1001", "channel": "email", "destination": "alex@example.com",
         "at": _at(NEW_YORK, 22, 0)},
        {"account_ref": "NWB-1002", "channel": "sms", "destination": "+1 617 555 0199",
         "at": _at(NEW_YORK, 12, 0)},
        {"account_ref": "JRF-2001", "channel": "call", "destination": "+86 138 0013 8000",
         "at": _at(SHANGHAI, 21, 59)},
        {"account_ref": "JRF-2001", "channel": "call", "destination": "+86 138 0013 8000",
         "at": _at(SHANGHAI, 22, 0)},
        {"account_ref": "TCS-3001", "channel": "letter", "at": _at(NEW_YORK, 3, 0)},
        {"account_ref": "TCS-3001", "channel": "visit"},
        {"account_ref": "NWB-0000", "channel": "letter", "at": _at(NEW_YORK, 12, 0)},
        {"account_ref": "NWB-1001", "channel": "fax", "destination": "+1 213 555 0147"},
        {"account_ref": "NWB-1001", "channel": "call", "destination": "not a number"},
        {"account_ref": "NWB-1001", "channel": "call", "destination": "+1 213 555 0147",
         "at": "2026-03-02T08:30:00"},
        {"account_ref": "NWB-1001", "channel": "sms"},
        "not an object",
        {"account_ref": "NWB-1001", "channel": "letter", "at": _at(NEW_YORK, 12, 0),
         "extra": 1},
    ]


def _single(client, body, key=KEY):
    return client.post("/api/v1/contact-decisions", json=body,
                       headers={"Authorization": f"Bearer {key}"})


def _bulk(client, body, key=KEY):
    return client.post("/api/v1/contact-decisions/bulk", json=body,
                       headers={"Authorization": f"Bearer {key}"})


def _upload(client, data, key=KEY, **kwargs):
    return client.post("/api/v1/contact-decisions/bulk", data=data,
                       headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
                       **kwargs)


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and rows[-1]["line"] == "end", "the answer is not whole"
    assert all(list(r) == list(CSV_ANSWER_COLUMNS) for r in rows)
    return rows[:-1]


def _csv(rows: list[dict], columns=("account_ref", "channel", "destination", "at")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c) or "" for c in columns])
    return out.getvalue().encode()


# --- JSON -----------------------------------------------------------------------------------------


def test_json_bulk_answers_exactly_what_single_answers(client, demo):
    inputs = _inputs()
    bulk = _bulk(client, inputs)
    assert bulk.status_code == 200 and bulk.mimetype == "application/json"
    answers = bulk.json
    assert len(answers) == len(inputs)
    for item, answer in zip(inputs, answers, strict=True):
        single = _single(client, item)
        if "at" not in (item if isinstance(item, dict) else {}) and single.status_code == 200:
            # "now" differs between two requests; everything else must not.
            assert {**answer, "at": None} == {**single.json, "at": None}, item
        else:
            assert answer == single.json, item
    kinds = [a.get("allowed", a.get("code")) for a in answers]
    assert kinds[:2] == [False, True]
    assert kinds[4:6] == [True, False]  # Beijing: 21:59 allowed, 22:00 blocked
    assert kinds[8:] == ["account_not_found"] + ["invalid_request"] * 6


def test_json_bulk_of_the_limit_is_answered_and_one_more_is_413(client, demo):
    item = {"account_ref": "TCS-3001", "channel": "letter", "at": _at(NEW_YORK, 12, 0)}
    answer = _bulk(client, [item] * MAX_BULK_ITEMS)
    assert answer.status_code == 200 and len(answer.json) == MAX_BULK_ITEMS
    assert answer.json[0] == answer.json[-1] == _single(client, item).json

    too_many = _bulk(client, [item] * (MAX_BULK_ITEMS + 1))
    assert too_many.status_code == 413 and too_many.mimetype == PROBLEM
    assert too_many.json["code"] == "payload_too_large"
    assert "CSV" in too_many.json["detail"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"account_ref": "NWB-1001", "channel": "letter"}, 422, "invalid_request"),
    ("NWB-1001", 422, "invalid_request"),
    (5, 422, "invalid_request"),
])
def test_json_bulk_that_is_not_an_array_is_422(client, demo, body, status, code):
    answer = _bulk(client, body)
    assert (answer.status_code, answer.mimetype) == (status, PROBLEM)
    assert answer.json["code"] == code


def test_json_bulk_body_over_its_limit_is_413(client, demo):
    data = b'["' + b"x" * (17 * 1024 * 1024) + b'"]'
    answer = client.post("/api/v1/contact-decisions/bulk", data=data,
                         headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json["code"] == "payload_too_large"


def test_empty_json_bulk_is_an_empty_answer(client, demo):
    answer = _bulk(client, [])
    assert answer.status_code == 200 and answer.json == []


def test_bulk_with_another_agencys_key_finds_no_account(client, demo, db):
    _, other = db.run(service.issue_key, "Other Collections", "Other dialer")
    answers = _bulk(client, _inputs()[:8], key=other).json
    assert {a["code"] for a in answers} == {"account_not_found"}
    rows = _rows(_upload(client, _csv(_inputs()[:8]), key=other))
    assert {r["error_code"] for r in rows} == {"account_not_found"}
    assert all(r["allowed"] == "" for r in rows)


def test_bulk_loads_accounts_in_batches_not_row_by_row(app, client, demo, monkeypatch):
    monkeypatch.setattr(service, "BATCH", 4)
    from portal.extensions import db as database

    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = database.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        rows = ["NWB-1001", "LUM-1001", "NWB-1002", "JRF-2001", "TCS-3001", "NWB-1001",
                "LUM-1001", "NWB-0000", "JRF-2001", "TCS-3001"]
        answer = _bulk(client, [{"account_ref": r, "channel": "letter",
                                 "at": _at(NEW_YORK, 12, 0)} for r in rows])
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert answer.status_code == 200 and len(answer.json) == 10
    account_loads = [s for s in statements if "FROM account JOIN creditor" in s]
    assert len(account_loads) == 3  # ceil(10 / 4): one per batch


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_bulk_answers_what_single_answers_row_by_row(client, demo):
    inputs = [i for i in _inputs() if isinstance(i, dict) and "extra" not in i]
    rows = _rows(_upload(client, _csv(inputs)))
    assert [int(r["line"]) for r in rows] == list(range(2, len(inputs) + 2))
    for item, row in zip(inputs, rows, strict=True):
        assert row["account_ref"] == item["account_ref"]
        single = _single(client, item)
        if single.status_code != 200:
            assert row["error_code"] == single.json["code"], (item, row)
            assert row["error"] and row["allowed"] == ""
            continue
        answer = single.json
        assert row["error_code"] == "" and row["error"] == ""
        assert row["allowed"] == ("true" if answer["allowed"] else "false"), (item, row)
        assert row["next_allowed_at"] == (answer["next_allowed_at"] or "")
        assert row["blocked_by"].split(";") == [
            r["rule"] for r in answer["reasons"] if r["effect"] == "block"] or [""]
        assert row["limited_by"].split(";") == [
            r["rule"] for r in answer["reasons"] if r["effect"] == "limit"] or [""]
        if item.get("at"):
            assert row["at"] == answer["at"]


def test_csv_with_a_missing_column_is_400_before_any_row(client, demo):
    data = b"account_ref,channel,at\nNWB-1001,letter,2026-03-02T12:00:00Z\n"
    answer = _upload(client, data)
    assert answer.status_code == 400 and answer.mimetype == PROBLEM
    assert answer.json["code"] == "invalid_csv" and "destination" in answer.json["detail"]


@pytest.mark.parametrize("data", [
    b"",
    b"\n",
    b"account_ref,channel,destination,at,channel\nNWB-1001,letter,,,letter\n",
    b"\xff\xfeaccount_ref,channel,destination,at\n",
    b'"account_ref,channel,destination,at\n',
    b"account_ref" + b",x" * 20_000 + b"\n",
])
def test_csv_without_a_usable_header_is_400(client, demo, data):
    answer = _upload(client, data)
    assert answer.status_code == 400 and answer.mimetype == PROBLEM
    assert answer.json["code"] == "invalid_csv"


def test_csv_header_only_is_a_whole_empty_answer(client, demo):
    assert _rows(_upload(client, b"account_ref,channel,destination,at\r\n")) == []


def test_csv_bad_rows_get_an_error_and_the_others_an_answer(client, demo):
    good = f"NWB-1001,letter,,{_at(NEW_YORK, 12, 0)}"
    lines = [
        "\ufeffat,destination,channel,account_ref,note",  # any order, a BOM, an extra column
        f"{_at(NEW_YORK, 12, 0)},,letter,NWB-1001,first",
        "not-a-time,,letter,NWB-1001,x",
        "2026-03-02T12:00:00Z,,fax,NWB-1001,x",
        "2026-03-02T12:00:00Z,12345,call,NWB-1001,x",
        "2026-03-02T12:00:00Z,,letter,NWB-0000,x",
        "too,few",
        '2026-03-02T12:00:00Z,,letter,"NWB-1001,x',
        "",
        "2026-03-02T12:00:00Z,,letter,NWB-1001," + "y" * 40_000,
        '"2026-03-02T12:00:00Z","","letter","NWB-1001","quoted"',
    ]
    data = "\r\n".join(lines).encode() + b"\n"
    data += b"2026-03-02T12:00:00Z,,letter,NWB-1001,\xff\xfe\n"
    data += ",".join(reversed(good.split(","))).encode() + b",last"  # no final newline
    rows = _rows(_upload(client, data))
    by_line = {int(r["line"]): r for r in rows}
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13]  # line 9 was blank
    assert [by_line[n]["error_code"] for n in sorted(by_line)] == [
        "", "invalid_request", "invalid_request", "invalid_request", "account_not_found",
        "invalid_csv", "invalid_csv", "invalid_csv", "", "invalid_csv", ""]
    assert "at:" in by_line[3]["error"] and "channel:" in by_line[4]["error"]
    assert "destination:" in by_line[5]["error"]
    for n in (2, 11, 13):
        assert by_line[n]["allowed"] in ("true", "false") and by_line[n]["account_ref"] \
            == "NWB-1001"


def test_csv_larger_than_the_apps_body_limit_is_streamed_whole(app, client, demo):
    rows = 30_000
    body = _csv([{"account_ref": "TCS-3001", "channel": "letter",
                  "at": "2026-03-02T12:00:00+00:00"}] * rows)
    assert len(body) > app.config["MAX_CONTENT_LENGTH"]
    answered = _rows(_upload(client, body))
    assert len(answered) == rows
    assert {r["allowed"] for r in answered} == {"true"}
    assert [int(r["line"]) for r in answered[:3]] == [2, 3, 4]


class CountingStream(io.RawIOBase):
    """An upload produced as it is read, counting how much has been read."""

    def __init__(self, header: bytes, line: bytes, count: int):
        self.parts = iter([header, *([line] * count)])
        self.read_bytes = 0
        self.pending = b""

    def readable(self):
        return True

    def readinto(self, buffer):
        while len(self.pending) < len(buffer):
            part = next(self.parts, None)
            if part is None:
                break
            self.pending += part
        chunk, self.pending = self.pending[:len(buffer)], self.pending[len(buffer):]
        buffer[:len(chunk)] = chunk
        self.read_bytes += len(chunk)
        return len(chunk)


def test_csv_is_read_and_answered_incrementally(client, demo):
    line = b"TCS-3001,letter,,2026-03-02T12:00:00+00:00\n"
    count = 20_000
    upload = CountingStream(b"account_ref,channel,destination,at\n", line, count)
    total = len(b"account_ref,channel,destination,at\n") + len(line) * count
    # Sent as a chunked upload would be: no Content-Length, the server ends the stream.
    response = client.post(
        "/api/v1/contact-decisions/bulk", headers={**AUTH, "Content-Type": "text/csv"},
        environ_overrides={"wsgi.input": upload, "wsgi.input_terminated": True},
        buffered=False)
    assert response.status_code == 200
    chunks = iter(response.response)
    first = b""
    while first.count(b"\n") < 3:
        first += next(chunks)
    assert upload.read_bytes < total / 2, "answers began only after the whole upload was read"
    rest = first + b"".join(chunks)
    response.close()
    assert upload.read_bytes == total
    lines = rest.decode().splitlines()
    assert len(lines) == count + 2 and lines[-1].startswith("end,")


def test_csv_answer_that_breaks_off_says_so(client, demo, monkeypatch):
    import portal.contact.bulk as bulk

    real, calls = bulk.decide_many, []

    def fails_later(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("connection lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "decide_many", fails_later)
    monkeypatch.setattr(service, "BATCH", 1)  # the second row is the second batch
    data = _csv([{"account_ref": "TCS-3001", "channel": "letter"},
                 {"account_ref": "NWB-1001", "channel": "letter"}])
    answer = _upload(client, data)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[-1]["line"] == "abort" and rows[-1]["error_code"] == "internal_error"
    assert all(r["line"] != "end" for r in rows)


@pytest.mark.parametrize(("content_type", "code"), [
    ("text/plain", "unsupported_media_type"),
    ("multipart/form-data; boundary=x", "unsupported_media_type"),
])
def test_bulk_in_another_format_is_415(client, demo, content_type, code):
    answer = client.post("/api/v1/contact-decisions/bulk", data=b"--x--",
                         headers={**AUTH, "Content-Type": content_type})
    assert answer.status_code == 415 and answer.json["code"] == code


def test_csv_upload_needs_a_key_before_anything_is_read(client, demo):
    answer = client.post("/api/v1/contact-decisions/bulk", data=b"account_ref\n",
                         headers={"Content-Type": "text/csv"})
    assert answer.status_code == 401 and answer.mimetype == PROBLEM


def test_csv_answer_echoes_no_formula_but_phone_numbers_exactly(client, demo):
    """Issue 12: answers get opened in spreadsheets; what the caller sent must not run there. A
    phone number is data the dialer matches on: it comes back exactly as sent."""
    at = _at(NEW_YORK, 12, 0)
    data = _csv([
        {"account_ref": "=HYPERLINK(\"http://evil.example\",\"x\")", "channel": "letter",
         "at": at},
        {"account_ref": "NWB-1001", "channel": "@SUM(1)", "at": at},
        {"account_ref": "NWB-1001", "channel": "call", "destination": "+1 213 555 0147",
         "at": at},
        {"account_ref": "NWB-1001", "channel": "letter", "destination": "-2+3+cmd|' /C calc'!A0",
         "at": at},
    ])
    rows = _rows(_upload(client, data))
    assert rows[0]["account_ref"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert rows[1]["channel"] == "'@SUM(1)"
    assert rows[2]["destination"] == "+1 213 555 0147" and rows[2]["allowed"] in ("true", "false")
    assert rows[3]["destination"] == "'-2+3+cmd|' /C calc'!A0"
    assert not any(v[:1] in ("=", "+", "-", "@", "\t", "\r") for r in rows for k, v in r.items()
                   if k != "destination" or r is not rows[2])


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json",
                                          "multipart/form-data; boundary=x", "text/csv"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}])
def test_bulk_without_a_valid_key_is_401_before_any_of_the_body_is_read(client, demo,
                                                                         content_type, headers):
    """Issue 12: the bulk endpoint's 16 MB limit must not let a client without a key make the
    server read (and parse) 16 MB."""
    line = b"a" * 1023 + b"\n"
    count = 8 * 1024  # 8 MB: over the app's limit, under the bulk endpoint's
    upload = CountingStream(b"", line, count)
    answer = client.post(
        "/api/v1/contact-decisions/bulk",
        headers={**headers, "Content-Type": content_type,
                 "Content-Length": str(len(line) * count)},
        environ_overrides={"wsgi.input": upload})
    assert answer.status_code == 401 and answer.mimetype == PROBLEM
    assert answer.json["code"] == "unauthorized"
    assert upload.read_bytes == 0
