"""The console's placement import pages: upload, preview (masked), confirm, progress, report,
undo; who may do what; and bad files refused with a message, nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.intake import masking, upload
from portal.intake.models import PlacementUpload
from portal.placements import service as placements
from portal.placements.models import PlacementImport

HEADER = ("creditor_account_id,first_name,last_name,date_of_birth,national_id_last4,"
          "address_line1,address_line2,city,region,postal_code,country,phone,email,language,"
          "currency,principal,interest,fees,itemization_date,charge_off_date,last_payment_date,"
          "validation_notice_sent_at")
GOOD = ("NW-77001,Casey,Nguyen,1991-03-04,5678,12 Elm St,,Albany,NY,12207,US,+1 518 555 0134,"
        "casey@example.com,en,USD,1200.00,30.50,0,2026-01-15,2025-12-01,,")
SECOND = ("NW-77002,Robin,Okafor,1983-10-21,1234,9 Oak Ave,,Buffalo,NY,14201,US,"
          "+1 716 555 0188,robin@example.com,en,USD,310.00,0,0,2026-01-15,,,")
#: The second row with a date of birth that is no date.
BAD = SECOND.replace("1983-10-21", "1983-13-45")


def _csv(*rows: str) -> bytes:
    return ("\n".join((HEADER, *rows)) + "\n").encode()


def _creditor_id(db, code: str) -> int:
    from portal.accounts.models import Creditor

    return db.scalar(select(Creditor.id).where(Creditor.code == code))


def _staff(make_person, staff_sign_in, email: str):
    person = make_person()
    staff_sign_in(person, email)
    return person


def _upload(person, creditor_id, data: bytes | None, filename: str = "placements.csv"):
    page = person.get("/staff/imports")
    token = page.soup.find("input", {"name": "csrf_token"})["value"]
    response = person.client.post("/staff/imports/preview", **_multipart(
        {"csrf_token": token, "creditor": str(creditor_id)}, data, filename))
    from tests.fixtures.client import Page

    try:
        return Page(response, "/staff/imports/preview")
    finally:
        response.close()


def _multipart(fields: dict[str, str], data: bytes | None, filename: str) -> dict:
    """The body a browser sends, built here: the test client would spool a large file to a
    temporary file of its own that it never closes."""
    boundary = "----console-imports-test"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f"{value}\r\n".encode() for name, value in fields.items()]
    if data is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                     + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def _imports(db) -> int:
    return db.scalar(select(func.count()).select_from(PlacementImport))


def _staged(db) -> int:
    return db.scalar(select(func.count()).select_from(PlacementUpload))


def _place_all(db) -> None:
    """What the worker's `placements.run` task does: place chunks until none is left."""
    while db.run(placements.run_chunk) is not None:
        pass


def test_a_supervisor_previews_confirms_and_sees_the_import_done(db, demo, make_person,
                                                                  staff_sign_in):
    supervisor = _staff(make_person, staff_sign_in, "supervisor@demo.test")
    page = _upload(supervisor, _creditor_id(db, "NWB"), _csv(GOOD, SECOND))
    assert page.status == 200, page.text[:400]
    assert page.h1 == "Preview of placements.csv"
    assert "Every row can be read" in page.text
    table = page.soup.select_one("table.preview").get_text(" ")
    # Names as written; date of birth, ID digits, phone, email and street masked.
    assert "Casey" in table and "Nguyen" in table and "Okafor" in table
    for secret in ("1991-03-04", "5678", "518 555", "casey@example.com", "12 Elm"):
        assert secret not in page.html, secret
    assert "c***@e***.com" in table and "••••-••-••" in table
    assert _imports(db) == 0 and _staged(db) == 1  # previewed: kept encrypted, not imported
    stored = db.scalar(select(PlacementUpload.sealed))
    assert b"Nguyen" not in stored and b"1991-03-04" not in stored

    shown = supervisor.submit(page, action="/staff/imports/confirm")
    assert shown.status == 200 and shown.h1.startswith("Import "), shown.text[:400]
    assert "State: Waiting for the worker" in shown.text
    assert _staged(db) == 0
    poller = shown.soup.select_one("#import-progress")
    assert poller["hx-trigger"] == "every 1s" and poller["hx-get"] == shown.url
    assert shown.soup.find("a", string="Refresh")  # the same page, without JavaScript

    _place_all(db)
    fragment = supervisor.client.get(shown.url, headers={
        "HX-Request": "true", "HX-Target": "import-progress"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert 'id="import-progress"' in body and "hx-trigger" not in body  # done: polling stops
    assert "HX-Target" in fragment.headers["Vary"]
    done = supervisor.get(shown.url)
    assert "State: Done" in done.text and "2 of 2 rows placed" in done.text
    references = [a.get_text() for a in done.soup.select("ul.references a")]
    assert len(references) == 2 and all(r.startswith("NWB-") for r in references)
    report = supervisor.client.get(shown.url + "/report.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert all(r in report.get_data(as_text=True) for r in references)
    assert supervisor.get("/staff/imports").soup.find("a", string=done.h1)


def test_a_bad_row_is_named_by_row_and_field_and_nothing_is_kept(db, demo, make_person,
                                                                staff_sign_in):
    agent = _staff(make_person, staff_sign_in, "agent@demo.test")
    page = _upload(agent, _creditor_id(db, "NWB"), _csv(GOOD, BAD))
    assert page.status == 200
    alert = page.soup.select_one("#file-problems").get_text(" ")
    assert "Row 3, date_of_birth: not a calendar date" in " ".join(alert.split())
    bad_row = page.soup.select("table.preview tbody tr")[1]
    assert bad_row.th.get_text() == "3" and "date_of_birth" in bad_row.get_text()
    assert "1983-13-45" not in page.html
    assert not page.soup.find("form", action="/staff/imports/confirm")
    assert _imports(db) == 0 and _staged(db) == 0


def test_an_agent_previews_but_may_not_import(db, demo, make_person, staff_sign_in):
    agent = _staff(make_person, staff_sign_in, "agent@demo.test")
    page = _upload(agent, _creditor_id(db, "NWB"), _csv(GOOD))
    assert "A supervisor or an admin can import it" in page.text
    assert not page.soup.find("form", action="/staff/imports/confirm")
    token = db.scalar(select(PlacementUpload.token))
    refused = agent.client.post("/staff/imports/confirm", data={
        "csrf_token": agent.csrf_token(), "upload": token})
    assert refused.status_code == 403 and _imports(db) == 0


def test_compliance_reads_imports_but_has_no_upload_form(db, demo, make_person, staff_sign_in):
    officer = _staff(make_person, staff_sign_in, "compliance@demo.test")
    page = officer.get("/staff/imports")
    assert page.status == 200 and "Past imports" in page.text
    assert page.soup.find("input", {"type": "file"}) is None
    assert officer.client.post("/staff/imports/preview", data={
        "csrf_token": officer.csrf_token()}).status_code == 403


@pytest.mark.parametrize(("filename", "data", "message"), [
    (None, None, "Choose a CSV file to upload."),
    ("placements.csv", b"  \n", "That file is empty."),
    ("placements.xlsx", b"PK\x03\x04binary", "That is not a CSV file."),
    ("placements.csv", b"%PDF-1.7 not a csv", "That is not a CSV file."),
    ("placements.csv", "é".encode("latin-1") * 10, "That is not a CSV file."),
])
def test_a_file_that_is_not_a_placement_csv_gets_a_message(db, demo, make_person,
                                                           staff_sign_in, filename, data,
                                                           message):
    supervisor = _staff(make_person, staff_sign_in, "supervisor@demo.test")
    page = _upload(supervisor, _creditor_id(db, "NWB"), data, filename or "")
    assert page.status == 200
    assert message in page.soup.select_one("#upload-problem").get_text(" ")
    assert _imports(db) == 0 and _staged(db) == 0


def test_a_file_over_the_limit_is_refused_with_the_limit_said(db, demo, make_person,
                                                              staff_sign_in):
    supervisor = _staff(make_person, staff_sign_in, "supervisor@demo.test")
    just_over = _csv(GOOD) + b"#" * (upload.MAX_UPLOAD_BYTES)
    page = _upload(supervisor, _creditor_id(db, "NWB"), just_over)
    assert page.status == 413
    assert "larger than 10 MB" in page.text and "Import a placement file" in page.text
    far_over = b"x" * (upload.MAX_UPLOAD_BYTES + 200 * 1024)  # past the body limit itself
    page = _upload(supervisor, _creditor_id(db, "NWB"), far_over)
    assert page.status == 413 and "larger than 10 MB" in page.text
    assert _imports(db) == 0 and _staged(db) == 0


def test_another_agencys_creditor_is_refused(db, demo, make_person, staff_sign_in):
    harbor = _staff(make_person, staff_sign_in, "supervisor@harbor.test")
    page = harbor.get("/staff/imports")
    options = [o.get_text() for o in page.soup.select("select[name=creditor] option")]
    assert options == ["Birchwood Credit Union"]
    page = _upload(harbor, _creditor_id(db, "NWB"), _csv(GOOD))
    assert page.status == 200 and "Choose one of your agency's creditors." in page.text
    assert "Northwind" not in page.text
    assert _imports(db) == 0 and _staged(db) == 0


def test_another_agencys_imports_and_previews_are_not_found(db, demo, make_person,
                                                            staff_sign_in):
    demo_supervisor = _staff(make_person, staff_sign_in, "supervisor@demo.test")
    page = _upload(demo_supervisor, _creditor_id(db, "NWB"), _csv(GOOD))
    token = db.scalar(select(PlacementUpload.token))
    shown = demo_supervisor.submit(page, action="/staff/imports/confirm")
    harbor = _staff(make_person, staff_sign_in, "admin@harbor.test")
    for path in (shown.url, shown.url + "/report.csv"):
        assert harbor.client.get(path).status_code == 404, path
    assert harbor.client.post(shown.url + "/undo", data={
        "csrf_token": harbor.csrf_token()}).status_code == 404
    assert "Northwind" not in harbor.get("/staff/imports").text
    # A preview's token is the agency's own: another agency's staff cannot import it.
    page = _upload(demo_supervisor, _creditor_id(db, "NWB"), _csv(SECOND))
    token = page.soup.find("input", {"name": "upload"})["value"]
    answer = harbor.client.post("/staff/imports/confirm", data={
        "csrf_token": harbor.csrf_token(), "upload": token})
    assert answer.status_code == 404 and _imports(db) == 1


def test_undo_where_the_engine_allows_it_and_the_reason_where_not(db, demo, make_person,
                                                                 staff_sign_in, make_payment):
    admin = _staff(make_person, staff_sign_in, "admin@demo.test")
    shown = admin.submit(_upload(admin, _creditor_id(db, "NWB"), _csv(GOOD, SECOND)),
                         action="/staff/imports/confirm")
    _place_all(db)
    done = admin.get(shown.url)
    references = [a.get_text() for a in done.soup.select("ul.references a")]
    make_payment(references[0], 5000, "succeeded")
    blocked = admin.get(shown.url)
    assert "This import cannot be undone:" in blocked.text and references[0] in blocked.text
    assert not blocked.soup.find("button", string="Undo this import")
    refused = admin.submit(done, action="/undo")  # a form from before the payment
    assert "cannot be undone" in refused.text and "State: Done" in refused.text

    again = admin.submit(_upload(admin, _creditor_id(db, "NWB"),
                                 _csv(GOOD.replace("NW-77001", "NW-77009"))),
                         action="/staff/imports/confirm")
    _place_all(db)
    undone = admin.submit(admin.get(again.url), action="/undo")
    assert "The import is undone" in undone.text and "State: Undone" in undone.text


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("first_name", "Casey", "Casey"),
    ("last_name", "Nguyen", "Nguyen"),
    ("principal", "1200.00", "1200.00"),
    ("date_of_birth", "1991-03-04", "••••-••-••"),
    ("national_id_last4", "5678", "••••"),
    ("phone", "+1 518 555 0134", "•••• ••• 34"),
    ("email", "casey@example.com", "c***@e***.com"),
    ("email", "not-an-address", "••••"),
    ("address_line1", "12 Elm St", "1•••"),
    ("unknown_column", "secret", "••••"),
    ("phone", "", ""),
])
def test_masking_table(field, value, shown):
    assert masking.masked(field, value) == shown


@pytest.mark.parametrize(("filename", "data", "code"), [
    (None, b"a,b\n", "no_file"),
    ("", b"a,b\n", "no_file"),
    ("p.csv", None, "no_file"),
    ("p.csv", b"", "empty"),
    ("p.csv", b" \r\n", "empty"),
    ("p.csv", b"x" * (upload.MAX_UPLOAD_BYTES + 1), "too_large"),
    ("p.csv", b"x" * upload.MAX_UPLOAD_BYTES, None),
    ("p.xlsx", b"a,b\n", "not_csv"),
    ("p.csv", b"PK\x03\x04...", "not_csv"),
    ("p.csv", b"a,b\x00\n", "not_csv"),
    ("p.csv", b"\xff\xfe a", "not_csv"),
    ("P.CSV", "\ufeffnom,prénom\n".encode(), None),
    ("p.txt", b"a,b\n", None),
])
def test_upload_refusals_table(filename, data, code):
    refusal = upload.refusal_of(filename, data)
    assert (refusal.code if refusal else None) == code
