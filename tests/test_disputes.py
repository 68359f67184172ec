"""Disputing a debt: the borrower's form, the holds the rulebook requires, withdrawal, and staff's
review, verification and resolution; each a case event and a webhook, in one transaction."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from portal.accounts.models import Account, Borrower, LedgerEntry
from portal.cases.models import CaseEvent
from portal.contact import service as contact
from portal.contact.models import ContactHold
from portal.disputes.models import Dispute, EvidenceFile
from portal.outbox.models import OutboxMessage
from tests.fixtures.factories import sample_pdf

NY = ZoneInfo("America/New_York")
CHANNELS = [("call", "+12135550147"), ("sms", "+12135550147"), ("email", "alex@example.com"),
            ("letter", None), ("visit", None)]


def _convenient():
    """Tomorrow 14:00 in New York (11:00 in Los Angeles): every US window is open."""
    return (datetime.now(NY) + timedelta(days=1)).replace(hour=14, minute=0, second=0,
                                                          microsecond=0)


def blocked_by(db, reference, channel, destination, at=None):
    def run():
        account = db.database.session.scalar(select(Account).where(Account.reference == reference))
        decision = contact.decide(account, channel, destination, at or _convenient())
        return [r.rule for r in decision.reasons if r.effect == "block"]

    return db.run(run)


def _dispute(db, number) -> Dispute:
    return db.scalar(select(Dispute).where(Dispute.id == int(number[2:])))


def _live_rules(db, reference) -> list[str]:
    return sorted(db.scalars(select(ContactHold.rule).join(
        Account, Account.id == ContactHold.account_id).where(
        Account.reference == reference, ContactHold.ended_at.is_(None))))


@pytest.fixture
def alex(person, demo):
    person.sign_in("DEMO-1001", "1985-04-12")
    return person


def _send(person, reference="NWB-1001", fields=None, files=None):
    page = person.get(f"/accounts/{reference}/dispute")
    assert page.h1 == "Dispute this debt", page.text[:300]
    data = {"reasons": "not_mine", "details": "I never had a card with Northwind."}
    data.update(fields or {})
    if files is not None:
        data["files"] = files
    return person.submit(page, data, action="/dispute", content_type="multipart/form-data")


def _number(page) -> str:
    return re.search(r"D-\d{6}", page.h1).group(0)


def test_a_dispute_inside_the_validation_period_stops_all_collection_at_once(alex, db):
    for channel, destination in CHANNELS:
        assert "us.dispute-pending-verification" not in blocked_by(db, "NWB-1001", channel,
                                                                   destination)
    import io

    page = _send(alex, files=[(io.BytesIO(sample_pdf()), "statement.pdf")])
    assert page.status == 200, page.text[:400]
    number = _number(page)
    assert f"We received your dispute {number}." in page.text
    assert "All contact about collecting the debt" in page.text  # what was paused
    assert "What happens next" in page.text
    for channel, destination in CHANNELS:
        assert "us.dispute-pending-verification" in blocked_by(db, "NWB-1001", channel,
                                                               destination), channel
    dispute = _dispute(db, number)
    assert dispute.within_validation and dispute.status == "received"
    assert dispute.holds == {"dispute": "us.dispute-pending-verification"}
    assert [f.kind for f in db.scalars(select(EvidenceFile).where(
        EvidenceFile.dispute_id == dispute.id))] == ["evidence"]
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.account_id == dispute.account_id))
    assert "dispute.opened" in kinds and "contact.hold_started" in kinds
    topics = db.scalars(select(OutboxMessage.topic).where(OutboxMessage.account_ref == "NWB-1001"))
    assert "dispute.opened" in topics and "contact.hold.started" in topics
    assert f"We received your dispute {number}" in alex.get("/dev/messages").text
    account_page = alex.get("/accounts/NWB-1001")
    assert number in account_page.text and "Received" in account_page.text
    assert "days left to dispute" in account_page.text


def test_outside_the_validation_period_the_agency_policy_decides(app, alex, db):
    page = _send(alex, "LUM-1001")
    number = _number(page)
    assert _dispute(db, number).holds == {"dispute": "policy.dispute-outside-validation"}
    assert "policy.dispute-outside-validation" in blocked_by(db, "LUM-1001", "letter", None)

    runner = app.test_cli_runner()
    result = runner.invoke(args=["agency", "set-policy", "policy.dispute-outside-validation",
                                 "off", "--agency", "Demo Collections"])
    assert result.exit_code == 0, result.output
    second = _send(alex, "LUM-1001", {"reasons": "wrong_amount", "details": ""})
    assert _dispute(db, _number(second)).holds == {}


def test_identity_theft_stays_paused_after_verification_until_the_review_concludes(
        alex, db, make_person, staff_sign_in):
    number = _number(_send(alex, fields={"reasons": ["identity_theft", "not_mine"]}))
    assert _dispute(db, number).holds == {"dispute": "us.dispute-pending-verification",
                                          "identity-theft": "us.identity-theft"}
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    _verify(staff, number)
    assert _live_rules(db, "NWB-1001") == ["us.identity-theft"]
    _resolve(staff, number, {"outcome": "not_upheld", "note": "The signature matches ours."})
    assert _live_rules(db, "NWB-1001") == []


def test_a_uk_dispute_suspends_recovery(make_person, demo, db):
    oliver = make_person()
    oliver.sign_in("DEMO-3001", "1978-01-23")
    number = _number(_send(oliver, "TCS-3001", {"reasons": "already_paid"}))
    assert _dispute(db, number).holds == {"dispute": "uk.dispute"}
    assert "uk.dispute" in blocked_by(db, "TCS-3001", "letter", None)


def test_withdrawing_lifts_only_the_hold_it_started(alex, db):
    first = _number(_send(alex))
    second = _number(_send(alex, fields={"reasons": "wrong_amount", "details": "Too much."}))
    alex.submit(alex.get("/contact-preferences/"), action="/contact-preferences/stop")
    page = alex.get(f"/disputes/{first}")
    page = alex.submit(page, action="/withdraw")
    assert "You withdrew your dispute" in page.text
    assert _dispute(db, first).status == "withdrawn"
    assert _dispute(db, second).status == "received"
    live = db.scalars(select(ContactHold.key).where(ContactHold.ended_at.is_(None)))
    assert f"dispute:{second}:dispute" in live and "cease" in live
    assert f"dispute:{first}:dispute" not in live
    # Withdrawing twice is refused plainly, not a 500.
    token = alex.csrf_token()
    response = alex.client.post(f"/disputes/{first}/withdraw", data={"csrf_token": token},
                                follow_redirects=True)
    assert response.status_code == 200 and "already been closed" in response.get_data(True)


def _verify(staff, number, delivery="portal_email"):
    import io

    page = staff.get(f"/staff/disputes/{number}")
    assert page.h1.startswith(number), page.text[:300]
    return staff.submit(page, {"delivery": delivery,
                               "document": (io.BytesIO(sample_pdf("Verification of the debt")),
                                            "verification.pdf")},
                        action="/verification", content_type="multipart/form-data")


def _resolve(staff, number, fields):
    page = staff.get(f"/staff/disputes/{number}")
    return staff.submit(page, fields, action="/resolve")


def test_staff_verification_lifts_the_hold_and_the_borrower_can_read_it(alex, db, make_person,
                                                                         staff_sign_in):
    number = _number(_send(alex))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    queue = staff.get("/staff/disputes")
    assert number in queue.text and "Inside" in queue.text

    page = staff.submit(staff.get(f"/staff/disputes/{number}"), action="/review")
    assert "Under review" in page.text
    page = staff.submit(page, {"note": "Please send the signed agreement."}, action="/documents")
    message = db.scalar(select(OutboxMessage).where(
        OutboxMessage.topic == "dispute.documents_requested"))
    assert message.payload["creditor"] == "NWB" and message.payload["dispute"] == number

    page = _verify(staff, number)
    assert "Saved." in page.text
    assert "us.dispute-pending-verification" not in blocked_by(db, "NWB-1001", "call",
                                                               "+12135550147")
    assert _dispute(db, number).status == "verification_sent"
    borrower_page = alex.get(f"/disputes/{number}")
    link = borrower_page.soup.find("a", string=re.compile("Read the verification"))
    assert link is not None
    download = alex.client.get(link["href"])
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert f"Verification for your dispute {number}" in alex.get("/dev/messages").text
    viewed = db.scalars(select(CaseEvent.data).where(
        CaseEvent.kind == "staff.viewed_personal_data"))
    assert any(d.get("dispute") == number for d in viewed)


def test_upheld_disputes_adjust_or_close_the_account(alex, db, make_person, staff_sign_in):
    staff = make_person()
    staff_sign_in(staff, "compliance@demo.test")
    part = _number(_send(alex, fields={"reasons": "wrong_amount", "details": "Fees are wrong.",
                                       "scope": "part", "part_amount": "80.19"}))
    assert _dispute(db, part).disputed_minor == 8019
    _resolve(staff, part, {"outcome": "upheld", "action": "adjust"})
    balance = db.scalar(select(func.sum(LedgerEntry.amount_minor)).join(Account).where(
        Account.reference == "NWB-1001"))
    assert balance == 248019 - 8019
    assert _dispute(db, part).outcome == "upheld"

    whole = _number(_send(alex))
    _resolve(staff, whole, {"outcome": "upheld", "action": "close"})
    account = db.scalar(select(Account).where(Account.reference == "NWB-1001"))
    assert account.status == "closed"
    assert db.scalar(select(func.sum(LedgerEntry.amount_minor)).where(
        LedgerEntry.account_id == account.id)) == 0
    assert "policy.account-closed" in blocked_by(db, "NWB-1001", "letter", None)
    topics = db.scalars(select(OutboxMessage.topic).where(OutboxMessage.account_ref == "NWB-1001"))
    assert topics.count("dispute.resolved") == 2


def test_not_upheld_needs_a_reason_the_borrower_can_read(alex, db, make_person, staff_sign_in):
    number = _number(_send(alex))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    page = _resolve(staff, number, {"outcome": "not_upheld", "note": "We hold your agreement."})
    assert "Record the verification sent" in page.text  # 1006.38(d)(2): verification first
    assert _dispute(db, number).status == "received"
    _verify(staff, number)
    page = _resolve(staff, number, {"outcome": "not_upheld", "note": ""})
    assert "Give the reason" in page.text
    assert _dispute(db, number).status == "verification_sent"
    _resolve(staff, number, {"outcome": "not_upheld", "note": "We hold your signed agreement."})
    assert "We hold your signed agreement." in alex.get(f"/disputes/{number}").text


def test_the_queue_is_oldest_first_and_flags_disputes_open_over_30_days(alex, db, make_person,
                                                                        staff_sign_in):
    newer = _number(_send(alex))
    older = _number(_send(alex, "LUM-1001"))
    db.execute(update(Dispute).where(Dispute.id == int(older[2:]))
               .values(opened_at=datetime.now(UTC) - timedelta(days=31)))
    staff = make_person()
    staff_sign_in(staff, "admin@demo.test")
    text = staff.get("/staff/disputes").text
    assert text.index(older) < text.index(newer)
    assert "Over 30 days" in text.split(newer)[0]


@pytest.mark.parametrize(("fields", "message"), [
    ({"reasons": "bogus"}, "is not a valid choice"),
    ({"reasons": []}, "Choose at least one reason."),
    ({"reasons": "other", "details": ""}, "Tell us in a few words what is wrong."),
    ({"details": "x" * 2001}, "Field cannot be longer than 2000 characters."),
    ({"scope": "part", "part_amount": "0"}, "must be more than zero"),
    ({"scope": "part", "part_amount": "99999"}, "no more than the balance"),
    ({"scope": "part", "part_amount": "ten"}, "as a number"),
])
def test_bad_dispute_input_is_refused_and_nothing_is_kept(alex, db, fields, message):
    page = _send(alex, fields=fields)
    assert page.status == 422, page.text[:300]
    assert message in page.text
    assert db.scalar(select(func.count()).select_from(Dispute)) == 0
    assert db.scalar(select(func.count()).select_from(ContactHold)) == 0


def test_the_dispute_stands_even_if_the_confirmation_email_fails(alex, db, monkeypatch):
    from portal.messaging import service as messaging

    def broken(**kwargs):
        raise messaging.DeliveryUnavailable("mail server down")

    monkeypatch.setattr(messaging, "send", broken)
    page = _send(alex)
    number = _number(page)
    assert _dispute(db, number).status == "received"
    assert "us.dispute-pending-verification" in blocked_by(db, "NWB-1001", "call", "+12135550147")


def test_another_borrowers_dispute_is_not_found(alex, db, make_dispute):
    other = make_dispute("NWB-1002")
    assert alex.client.get(f"/disputes/{other.number}").status_code == 404
    assert alex.client.get("/accounts/NWB-1002/dispute").status_code == 404
    for bad in ("D-abc", "X-000001", "D-" + "9" * 30):
        assert alex.client.get(f"/disputes/{bad}").status_code == 404


def test_replaying_the_record_gives_the_dispute_holds(alex, db):
    from portal.contact.derive import derive

    first = _number(_send(alex, fields={"reasons": ["identity_theft"]}))
    alex.submit(alex.get(f"/disputes/{first}"), action="/withdraw")
    _send(alex)

    def replay():
        session = db.database.session
        borrower = session.scalar(select(Borrower).where(Borrower.reference == "DEMO-1001"))
        derived = derive(contact._facts(borrower.id), "US")
        stored = session.scalars(select(ContactHold).where(
            ContactHold.borrower_id == borrower.id))
        return (sorted((h.key, h.rule, h.started_by, h.ended_by) for h in derived.holds),
                sorted((h.key, h.rule, h.started_by_event_id, h.ended_by_event_id)
                       for h in stored))

    derived, stored = db.run(replay)
    assert derived == stored and len(stored) == 3


def test_the_malware_scanner_hook_refuses_what_it_flags(app, alex, db):
    import io

    from PIL import Image

    from portal.disputes.scanning import EICAR

    photo = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(photo, format="JPEG", comment=EICAR)
    infected = photo.getvalue()
    app.config["EVIDENCE_SCANNER"] = "portal.disputes.scanning:eicar_only"
    try:
        page = _send(alex, files=[(io.BytesIO(infected), "photo.jpg")])
        assert page.status == 422 and "did not pass our virus check" in page.text
        assert db.scalar(select(func.count()).select_from(Dispute)) == 0
        clean = _send(alex, files=[(io.BytesIO(sample_pdf()), "statement.pdf")])
        assert clean.status == 200, clean.text[:300]
    finally:
        app.config["EVIDENCE_SCANNER"] = None
    # Off by default: the same file is not scanned at all.
    assert _send(alex, files=[(io.BytesIO(infected), "photo.jpg")]).status == 200


def test_uk_and_policy_holds_wait_for_the_resolution_not_the_verification(
        make_person, demo, db, staff_sign_in):
    oliver = make_person()
    oliver.sign_in("DEMO-3001", "1978-01-23")
    number = _number(_send(oliver, "TCS-3001", {"reasons": "already_paid"}))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    _verify(staff, number)
    assert _live_rules(db, "TCS-3001") == ["uk.dispute"]  # CONC 7.14: until resolved
    _resolve(staff, number, {"outcome": "not_upheld", "note": "Our records show no payment."})
    assert _live_rules(db, "TCS-3001") == []


def test_an_upheld_identity_theft_keeps_collection_stopped(alex, db, make_person, staff_sign_in):
    number = _number(_send(alex, fields={"reasons": "identity_theft"}))
    staff = make_person()
    staff_sign_in(staff, "compliance@demo.test")
    _resolve(staff, number, {"outcome": "upheld", "action": "none", "note": "Not theirs."})
    assert _live_rules(db, "NWB-1001") == ["us.identity-theft"]


def test_an_adjustment_that_clears_the_balance_marks_the_account_paid(alex, db, make_person,
                                                                      staff_sign_in):
    number = _number(_send(alex, "LUM-1001", {"reasons": "already_paid", "details": "Paid."}))
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    _resolve(staff, number, {"outcome": "upheld", "action": "adjust", "amount": "830.00"})
    account = db.scalar(select(Account).where(Account.reference == "LUM-1001"))
    assert account.status == "paid"
    assert "policy.paid-in-full" in blocked_by(db, "LUM-1001", "letter", None)


def test_the_validation_period_is_judged_on_the_borrowers_own_date(db, demo):
    from portal.contact.localtime import local_today

    def check():
        borrower = db.database.session.scalar(
            select(Borrower).where(Borrower.reference == "DEMO-1001"))
        # 01:30 UTC on 2 March is still 1 March in New York and Los Angeles.
        return local_today(borrower, datetime(2027, 3, 2, 1, 30, tzinfo=UTC))

    assert db.run(check).isoformat() == "2027-03-01"


def test_absurd_numbers_and_amounts_are_refused_plainly(alex, db, make_person, staff_sign_in):
    assert alex.client.get("/disputes/D-999999999999").status_code == 404
    page = _send(alex, fields={"scope": "part", "part_amount": "1e999999"})
    assert page.status == 422 and "as a number" in page.text
    staff = make_person()
    staff_sign_in(staff, "agent@demo.test")
    assert staff.client.get("/staff/disputes/D-999999999999").status_code == 404


def test_strangers_cannot_send_large_bodies_to_the_upload_forms(client, demo):
    body = b"x" * (2 * 1024 * 1024)
    response = client.post("/accounts/NWB-1001/dispute", data=body,
                           headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413


def test_a_reconcile_that_read_the_record_before_a_new_hold_leaves_that_hold_alone(
        alex, db, monkeypatch):
    """Two transactions at once: one reads the record, the other commits a dispute and its hold,
    then the first compares. The hold it has not seen the start of is not its to end."""
    from portal.cases.service import Actor

    number = _number(_send(alex))
    seen_before = contact._facts

    def record_without_the_dispute(borrower_id):
        return [f for f in seen_before(borrower_id) if f.kind != "dispute.opened"]

    monkeypatch.setattr(contact, "_facts", record_without_the_dispute)

    def late_reconcile():
        borrower = db.database.session.scalar(
            select(Borrower).where(Borrower.reference == "DEMO-1001"))
        contact.reconcile(borrower, Actor.system("test"))

    db.run(late_reconcile)
    assert f"dispute:{number}:dispute" in db.scalars(
        select(ContactHold.key).where(ContactHold.ended_at.is_(None)))


def test_while_a_dispute_is_verified_the_account_page_does_not_invite_payment(alex, db):
    assert "Make a payment" in alex.get("/accounts/NWB-1001").text
    _send(alex)
    page = alex.get("/accounts/NWB-1001")
    assert "Make a payment" not in page.text
    assert "We have stopped collecting this debt while we verify your dispute" in page.text
    assert page.soup.find("a", string="Pay anyway") is not None
