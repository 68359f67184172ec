"""Your data: the download holds everything (decrypted for the borrower alone), the page says who
at the agency viewed it, and a correction waits with its law's deadline until staff answer it."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pikepdf
import pytest
from sqlalchemy import select

from portal.cases.models import CaseEvent
from portal.identity.models import StaffUser
from portal.rights import rules
from portal.rights.models import CorrectionRequest
from portal.rights.service import answer_correction

OWNER = ("DEMO-1001", "1985-04-12")


@pytest.mark.parametrize(("country", "region", "received", "law", "due"), [
    ("GB", None, date(2026, 1, 31), "uk-gdpr", date(2026, 2, 28)),  # one month, month's end
    ("GB", None, date(2026, 3, 15), "uk-gdpr", date(2026, 4, 15)),
    ("US", "CA", date(2026, 1, 1), "ccpa", date(2026, 2, 15)),      # 45 days
    ("US", "NY", date(2026, 1, 1), "policy", date(2026, 2, 15)),
    ("CN", None, date(2026, 1, 1), "pipl", date(2026, 1, 31)),      # 30 days
    ("GB", None, date(2026, 12, 10), "uk-gdpr", date(2027, 1, 10)),
])
def test_deadline_by_jurisdiction(country, region, received, law, due):
    deadline = rules.deadline_for(country, region)
    assert deadline.law == law and deadline.citation
    assert rules.due_on(received, deadline) == due


def test_the_china_deadline_is_cited_as_the_standards_recommendation_not_law():
    """PIPL gives the right to a correction (arts. 44-46) and asks for a way to apply (art. 50),
    with no number of days; the 30 days are GB/T 35273-2020 s. 8.7's, a recommended standard."""
    deadline = rules.deadline_for("CN", None)
    assert deadline.days == 30
    assert "PIPL arts. 44-46, 50 (no number of days)" in deadline.citation
    assert "GB/T 35273-2020 s. 8.7, a national standard, not law" in deadline.citation


def test_the_correction_queue_says_where_each_deadline_comes_from(
        person, make_person, staff_sign_in, demo):
    """Staff read that the Chinese borrower's 30 days are the standard's, not PIPL's."""
    person.sign_in("DEMO-2001", "1990-09-02")  # 王芳, Beijing
    page = person.submit(person.get("/your-data/"), {"account": "JRF-2001", "details": "地址有误"},
                         action="/your-data/corrections")
    assert page.status == 200
    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    queue = agent.get("/staff/queues/corrections")
    assert queue.status == 200 and "地址有误" in queue.text
    text = " ".join(queue.text.split())
    assert "PIPL sets no number of days" in text and "GB/T 35273-2020 (8.7) recommends" in text
    assert "PIPL (30 days: GB/T 35273-2020)" in text
    assert "PIPL 30 days" not in text


def test_the_json_download_holds_everything_decrypted_and_is_recorded(person, demo, db):
    person.sign_in(*OWNER)
    response = person.client.get("/your-data/download.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = json.loads(response.get_data(as_text=True))
    assert data["borrower"]["date_of_birth"] == "1985-04-12"
    assert "alex@example.com" in [p["value"] for p in data["contact_points"]]
    assert {a["reference"] for a in data["accounts"]} == {"NWB-1001", "LUM-1001"}
    assert data["ledger"] and data["case_events"]
    assert all(e["what"] and "%(" not in e["what"] for e in data["case_events"])
    assert not any("digest" in key for key in data["borrower"])
    assert db.scalars(select(CaseEvent.kind).where(
        CaseEvent.kind == "rights.data_downloaded")) == ["rights.data_downloaded"]


def test_the_pdf_download_is_readable(person, demo):
    person.sign_in(*OWNER)
    response = person.client.get("/your-data/download.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    with pikepdf.open(io.BytesIO(response.get_data())) as document:
        text = b" ".join(p.obj.Contents.read_bytes() for p in document.pages)
    assert b"Alex Rivera" in text and b"NWB-1001" in text


def test_staff_reveals_are_listed_for_the_borrower(person, make_person, staff_sign_in, demo, db):
    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    page = agent.get("/staff/accounts/NWB-1001")
    agent.submit(page, action="/reveal")
    person.sign_in(*OWNER)
    text = person.get("/your-data/").text
    name = db.scalar(select(StaffUser.name).where(StaffUser.email == "agent@demo.test"))
    assert name in text


def test_a_lenders_view_is_listed_for_the_borrower_named_as_the_lender(
        person, make_person, staff_sign_in, demo, db):
    """A lender user opening the account in the lender's pages (which name the borrower) shows in
    the borrower's list, as their creditor, not as a person at the agency; a lender user of
    another creditor who is refused the account shows nowhere."""
    person.sign_in(*OWNER)
    assert "Northwind Bank (lender)" not in person.get("/your-data/").text
    lender = make_person()
    staff_sign_in(lender, "lender@northwind.test")
    assert lender.get("/lender/accounts/NWB-1001").status == 200
    outsider = make_person()
    staff_sign_in(outsider, "lender@birchwood.test")
    assert outsider.get("/lender/accounts/NWB-1001").status == 404
    text = person.get("/your-data/").text
    assert text.count("Northwind Bank (lender)") == 1
    name = db.scalar(select(StaffUser.name).where(StaffUser.email == "lender@northwind.test"))
    assert name not in text and "Birchwood" not in text
    # The downloaded case history says the creditor opened it, not the agency's staff.
    events = json.loads(person.get("/your-data/download.json").text)["case_events"]
    [viewed] = [e for e in events if "lender's portal" in e["what"]]
    assert viewed["by"] == "The creditor"


def test_a_correction_waits_with_its_deadline_and_staff_answer_it(person, demo, db, app):
    person.sign_in(*OWNER)
    page = person.submit(person.get("/your-data/"), {
        "account": "NWB-1001", "details": "My middle name is missing."},
        action="/your-data/corrections")
    assert "We have your request" in page.text
    request = db.scalar(select(CorrectionRequest))
    assert request.law == "policy"  # New York: the agency's 45 days
    assert request.due_on == datetime.now(UTC).date() + timedelta(days=45)
    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "rights.correction_requested"))
    assert "middle" not in json.dumps(event.data)

    def answer():
        staff = db.database.session.scalar(select(StaffUser).where(
            StaffUser.email == "agent@demo.test"))
        answer_correction(staff, request.id, "corrected", "Added your middle name.", None)

    db.run(answer)
    assert db.scalar(select(CaseEvent.kind).where(
        CaseEvent.kind == "rights.correction_answered")) == "rights.correction_answered"
    text = person.get("/your-data/").text
    assert "We corrected it." in text and "Added your middle name." in text
    captured = person.get("/dev/messages").text
    assert "We answered your request for a correction" in captured


def test_an_empty_correction_is_refused(person, demo, db):
    person.sign_in(*OWNER)
    page = person.submit(person.get("/your-data/"), {"account": "NWB-1001", "details": ""},
                         action="/your-data/corrections")
    assert page.status == 422
    assert db.scalar(select(CorrectionRequest)) is None


def test_the_correction_queue_lists_the_request_and_its_answer_clears_it(
        person, make_person, staff_sign_in, demo, db):
    person.sign_in(*OWNER)
    person.submit(person.get("/your-data/"), {"account": "NWB-1001",
                                              "details": "My street is spelled wrong."},
                  action="/your-data/corrections")
    agent = make_person()
    staff_sign_in(agent, "agent@demo.test")
    queue = agent.get("/staff/queues/corrections")
    assert queue.status == 200 and "My street is spelled wrong." in queue.text
    assert "NWB-1001" in queue.text
    done = agent.submit(queue, {"outcome": "declined", "answer": "It matches your lender's file."},
                        action="/staff/corrections/answer")
    assert "Answer sent to the borrower." in done.text
    assert "My street is spelled wrong." not in done.text
    answered = db.scalar(select(CorrectionRequest))
    assert answered.outcome == "declined" and answered.answered_by is not None
    # another agency's staff do not see it
    other = make_person()
    staff_sign_in(other, "agent@harbor.test")
    assert "NWB-1001" not in other.get("/staff/queues/corrections").text
