"""The staff console's case view (issue 15): every section on one page with the personal data
masked, a reveal that is recorded, the history in words in the staff member's zone with its chain
verified, and each action's effect and its refusal, with the reason, for the roles that may not."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from portal.accounts.models import Account, LedgerEntry
from portal.cases.models import CaseEvent
from portal.casework.notes import CaseNote
from portal.contact.models import ContactAttempt, ContactHold
from portal.outbox.models import OutboxMessage
from tests.test_contact_preferences import blocked_by, decide, noon_ny

CASE = "/staff/accounts/NWB-1001"
#: Alex Rivera's personal data as the demo seeds it: none of it may show before a reveal.
PERSONAL = ["1985-04-12", "alex@example.com", "+12135550147", "213 555 0147", "350 W 31st"]
PHONE = "+12135550147"


@pytest.fixture
def staff(make_person, staff_sign_in):
    def become(email: str):
        person = make_person()
        page = staff_sign_in(person, email)
        assert "Sign out" in page.text
        return person

    return become


def _events(db, kind: str) -> list[CaseEvent]:
    return db.scalars(select(CaseEvent).where(CaseEvent.kind == kind).order_by(CaseEvent.id))


def _phone_point(page) -> str:
    form = page.form("/conversations")
    option = next(o for o in form.select("select[name=talk-point] option")
                  if "@" not in o.get_text() and o.get_text().split("(")[0].strip().endswith("47"))
    return option["value"]


def _refused(person, path: str, data: dict | None = None):
    response = person.client.post(path, data={"csrf_token": person.csrf_token(), **(data or {})})
    return response.status_code, " ".join(response.get_data(as_text=True).split())


# --- the page: sections, masking, the reveal -------------------------------------------------


def test_every_section_is_on_one_page_with_personal_data_masked(db, demo, staff):
    agent = staff("agent@demo.test")
    page = agent.get(CASE)
    assert page.status == 200
    headings = [h.get_text(" ", strip=True) for h in page.soup.find_all("h2")]
    for section in ("Borrower", "Contact holds and consents", "Balance and ledger",
                    "Payment plans", "Disputes", "Payments and receipts", "Contact attempts",
                    "Notes", "Send the borrower a message", "Case history"):
        assert section in headings, headings
    leaked = [p for p in PERSONAL if p in page.html]
    assert not leaked, leaked
    assert "••••-••-••" in page.text and "a***@e***" in page.text
    # The itemization adds up to the balance, and the ledger lists its lines.
    assert "$2,480.19" in page.text and "On the itemization date" in page.text
    assert page.soup.select("#balance table tbody tr")


def test_a_reveal_shows_the_data_and_is_recorded_a_plain_view_reveals_nothing(db, demo, staff):
    agent = staff("agent@demo.test")
    page = agent.get(CASE)
    assert _events(db, "personal_data.viewed") == []
    shown = agent.submit(page, action="/reveal")
    assert shown.status == 200
    for value in ("1985-04-12", "alex@example.com", "+12135550147"):
        assert value in shown.text
    [viewed] = _events(db, "personal_data.viewed")
    assert viewed.actor_type == "staff" and viewed.data["role"] == "agent"
    assert "date_of_birth" in viewed.data["fields"]
    assert "1985" not in json.dumps(viewed.data)  # the record says what was seen, not the data
    # The next plain view is masked again, and says the reveal happened, in words.
    again = agent.get(CASE)
    assert "1985-04-12" not in again.html
    assert "Staff revealed the borrower's personal data." in again.text


# --- notes ----------------------------------------------------------------------------------


def test_a_note_is_kept_encrypted_and_named_by_its_event(db, demo, staff):
    agent = staff("agent@demo.test")
    page = agent.submit(agent.get(CASE), {"note-text": "Promised to call back Friday."},
                        action="/notes")
    assert "Note added." in page.text and "Promised to call back Friday." in page.text
    [added] = _events(db, "case.note_added")
    [note] = db.scalars(select(CaseNote))
    assert added.data == {"note": note.id, "about": "note"}
    raw = db.scalar(text("SELECT text FROM case_note WHERE id = :id").bindparams(id=note.id))
    assert b"Friday" not in bytes(raw)
    page = agent.submit(agent.get(CASE), {"note-text": "  "}, action="/notes")
    assert "Write the note." in page.text
    assert len(db.scalars(select(CaseNote))) == 1


# --- conversations: counted by the contact rules ----------------------------------------------


def test_recorded_conversations_are_counted_by_the_rules_and_the_api(db, demo, staff, client):
    agent = staff("agent@demo.test")
    assert "us.call-frequency" not in blocked_by(decide(db, "LUM-1001", "call", PHONE,
                                                        datetime.now(UTC)))
    page = agent.get("/staff/accounts/LUM-1001")
    point = _phone_point(page)
    for n in range(7):
        page = agent.submit(agent.get("/staff/accounts/LUM-1001"), {
            "talk-channel": "call", "talk-direction": "outbound",
            "talk-outcome": "conversation", "talk-point": point,
            "talk-agreed": f"Call {n}: agreed to look at a plan."}, action="/conversations")
        assert "recorded" in page.text.lower(), page.text[:400]
    attempts = db.scalars(select(ContactAttempt).join(Account).where(
        Account.reference == "LUM-1001"))
    assert len(attempts) == 7 and {a.destination for a in attempts} == {PHONE}
    assert all(a.reported_by.isdigit() for a in attempts)  # the staff member, by id
    # The second and later calls came after a conversation: flagged for compliance.
    assert attempts[-1].violation and "us.call-after-conversation" in attempts[-1].violated_rules
    now = datetime.now(UTC)
    reasons = blocked_by(decide(db, "LUM-1001", "call", PHONE, now + timedelta(minutes=1)))
    assert "us.call-frequency" in reasons and "us.call-after-conversation" in reasons
    answer = client.post("/api/v1/contact-decisions", json={
        "account_ref": "LUM-1001", "channel": "call", "destination": PHONE},
        headers={"Authorization": "Bearer demo-dialer-key"})
    assert answer.status_code == 200 and answer.json["allowed"] is False
    rules = [r["rule"] for r in answer.json["reasons"]]
    assert "us.call-frequency" in rules and "us.call-after-conversation" in rules
    # The page tells it in words, and the notes keep what was agreed.
    page = agent.get("/staff/accounts/LUM-1001")
    assert "We contacted the borrower" in page.text
    assert "Call 6: agreed to look at a plan." in page.text
    assert "Flagged for compliance review" in page.text


def test_compliance_may_not_record_a_conversation_and_is_told_who_may(db, demo, staff):
    compliance = staff("compliance@demo.test")
    page = compliance.get(CASE)
    assert page.soup.select("form[action$='/conversations']") == []
    assert "only agent, supervisor, admin may" in page.text
    status, body = _refused(compliance, CASE + "/conversations",
                            {"talk-channel": "call", "talk-outcome": "conversation"})
    assert status == 403 and "record a conversation: only agent, supervisor, admin may" in body
    assert db.scalars(select(ContactAttempt)) == []


# --- balance adjustments ---------------------------------------------------------------------


def _balance(db, reference: str) -> int:
    return sum(db.scalars(select(LedgerEntry.amount_minor).join(Account).where(
        Account.reference == reference)))


def test_a_supervisor_adjusts_a_balance_with_a_reason_an_agent_may_not(db, demo, staff):
    agent = staff("agent@demo.test")
    status, body = _refused(agent, CASE + "/adjustments", {
        "adjust-direction": "reduce", "adjust-amount": "10.00", "adjust-reason": "x"})
    assert status == 403
    assert "Your role (agent) may not adjust a balance: only supervisor, admin may." in body
    assert "only supervisor, admin may" in agent.get(CASE).text
    before = _balance(db, "NWB-1001")

    supervisor = staff("supervisor@demo.test")
    page = supervisor.submit(supervisor.get(CASE), {
        "adjust-direction": "reduce", "adjust-amount": "80.19",
        "adjust-reason": "Goodwill: late fee waived after the call."}, action="/adjustments")
    assert "Balance adjusted." in page.text and "$2,400.00" in page.text
    assert _balance(db, "NWB-1001") == before - 8019
    [adjusted] = _events(db, "ledger.adjusted")
    assert adjusted.data["amount_minor"] == -8019 and adjusted.data["direction"] == "reduce"
    entry = db.scalar(select(LedgerEntry).where(LedgerEntry.id == adjusted.data["entry"]))
    assert entry.kind == "credit" and "Goodwill" not in entry.description
    assert "The balance was adjusted by -$80.19." in page.text
    assert "Goodwill: late fee waived after the call." in page.text

    page = supervisor.submit(supervisor.get(CASE), {
        "adjust-direction": "increase", "adjust-amount": "5.00", "adjust-component": "fees",
        "adjust-reason": "Returned cheque fee, per contract."}, action="/adjustments")
    assert _balance(db, "NWB-1001") == before - 8019 + 500


@pytest.mark.parametrize(("fields", "message"), [
    ({"adjust-direction": "reduce", "adjust-amount": "abc"}, "Give the amount as a number"),
    ({"adjust-direction": "reduce", "adjust-amount": "0"}, "more than zero"),
    ({"adjust-direction": "reduce", "adjust-amount": "1.001"}, "Give the amount as a number"),
    ({"adjust-direction": "reduce", "adjust-amount": "99999"}, "below zero"),
    ({"adjust-direction": "increase", "adjust-amount": "5"}, "interest or fees"),
    ({"adjust-direction": "sideways", "adjust-amount": "5"}, "Not a valid choice"),
])
def test_a_bad_adjustment_is_refused_with_a_message_and_changes_nothing(db, demo, staff, fields,
                                                                       message):
    supervisor = staff("supervisor@demo.test")
    before = _balance(db, "NWB-1001")
    page = supervisor.submit(supervisor.get(CASE), {"adjust-reason": "test", **fields},
                             action="/adjustments")
    assert page.status == 200 and message in page.text, page.text[:500]
    assert _balance(db, "NWB-1001") == before and _events(db, "ledger.adjusted") == []


def test_an_adjustment_to_zero_pays_the_account_and_its_hold_follows(db, demo, staff):
    supervisor = staff("supervisor@demo.test")
    page = supervisor.submit(supervisor.get("/staff/accounts/LUM-1001"), {
        "adjust-direction": "reduce", "adjust-amount": "830.00",
        "adjust-reason": "Settled with the creditor directly."}, action="/adjustments")
    assert "Balance adjusted." in page.text
    assert "policy.paid-in-full" in blocked_by(decide(db, "LUM-1001", "letter", None, noon_ny()))
    assert "policy.paid-in-full" in page.text


# --- a supervisor's pause --------------------------------------------------------------------


def test_a_supervisor_pauses_contact_until_a_day_and_lifts_it(db, demo, staff):
    agent = staff("agent@demo.test")
    status, body = _refused(agent, CASE + "/pause", {"pause-until": "2030-01-01"})
    assert status == 403 and "pause or resume contact by agency policy" in body

    supervisor = staff("supervisor@demo.test")
    until = date.today() + timedelta(days=3)
    page = supervisor.submit(supervisor.get(CASE), {
        "pause-until": until.isoformat(), "pause-reason": "Borrower in hospital this week."},
        action="/pause")
    assert "Contact is paused" in page.text
    assert "policy.supervisor-pause" in page.text and "agency policy" in page.text
    [hold] = db.scalars(select(ContactHold).where(ContactHold.rule == "policy.supervisor-pause"))
    assert hold.until is not None and hold.until.date() >= until
    assert "policy.supervisor-pause" in blocked_by(decide(db, "NWB-1001", "call", PHONE,
                                                          noon_ny()))
    assert "policy.supervisor-pause" not in blocked_by(decide(db, "LUM-1001", "call", PHONE,
                                                              noon_ny()))  # this account only
    topics = [m.topic for m in db.scalars(select(OutboxMessage))]
    assert "contact.hold.started" in topics
    assert "Lift the supervisor's pause" in page.text
    again = supervisor.client.post(CASE + "/pause", follow_redirects=True, data={
        "csrf_token": supervisor.csrf_token(), "pause-until": until.isoformat(),
        "pause-reason": "again"})
    assert "already paused" in again.get_data(as_text=True)

    page = supervisor.submit(supervisor.get(CASE), action="/pause/lift")
    assert "The pause is lifted." in page.text
    assert "policy.supervisor-pause" not in blocked_by(decide(db, "NWB-1001", "call", PHONE,
                                                              noon_ny()))
    assert "contact.hold.ended" in [m.topic for m in db.scalars(select(OutboxMessage))]


@pytest.mark.parametrize("until", ["", "2001-01-01", (date.today() + timedelta(days=400))])
def test_a_pause_without_a_sensible_end_is_refused(db, demo, staff, until):
    supervisor = staff("supervisor@demo.test")
    page = supervisor.submit(supervisor.get(CASE), {
        "pause-until": str(until), "pause-reason": "why"}, action="/pause")
    assert "Contact is paused" not in page.text
    assert db.scalars(select(ContactHold).where(ContactHold.rule == "policy.supervisor-pause")) \
        == []


# --- a message through notify ----------------------------------------------------------------


def test_a_message_goes_through_notify_when_the_rules_allow(app, db, demo):
    from portal.casework import actions
    from portal.identity.models import StaffUser
    from portal.messaging.models import CapturedMessage

    def send():
        agent = db.database.session.scalar(select(StaffUser).where(
            StaffUser.email == "agent@demo.test"))
        account = db.database.session.scalar(select(Account).where(
            Account.reference == "NWB-1001"))
        email = next(p for p in account.borrower.contact_points if p.kind == "email")
        return actions.send_message(agent, "NWB-1001", "email", email.id, "About your account",
                                    "Please call us back.", None, at=noon_ny())

    assert db.run(send) == "alex@example.com"
    [sent] = _events(db, "message.staff_sent")
    assert sent.data["channel"] == "email"
    [attempt] = db.scalars(select(ContactAttempt))
    assert attempt.channel == "email" and not attempt.violation
    [captured] = db.scalars(select(CapturedMessage).where(
        CapturedMessage.kind == "staff_message"))  # demo mode captures what it would send


def test_a_message_the_rules_stop_is_refused_naming_the_rule(db, demo, staff):
    agent = staff("agent@demo.test")
    agent.submit(agent.get(CASE), {"hold-hold": "deceased"}, action="/holds")
    page = agent.get(CASE)
    email = next(o["value"] for o in page.form("/messages").select("option")
                 if "@" in o.get_text())
    page = agent.submit(page, {"message-channel": "email", "message-point": email,
                               "message-subject": "Hello", "message-body": "Please call."},
                        action="/messages")
    assert "Not sent: blocked by us.deceased" in page.text
    assert _events(db, "message.staff_sent") == [] and db.scalars(select(ContactAttempt)) == []


# --- the history in words, in the staff member's zone, its chain verified ----------------------


def test_the_history_is_in_words_in_the_staff_members_zone(db, demo, staff):
    agent = staff("agent@demo.test")
    agent.submit(agent.get(CASE), {"note-text": "Hello"}, action="/notes")
    page = agent.get(CASE)
    history = page.soup.select_one("#history").get_text(" ")
    assert "When (UTC)" in history
    assert "A note was added." in history and "The account was placed with the agency." in history
    assert "case.note_added" not in history and "ledger.posted" not in history
    page = agent.submit(page, {"tz-zone": "Asia/Tokyo"}, action="/time-zone")
    assert "Times are shown in Asia/Tokyo." in page.text and page.url.endswith("NWB-1001")
    history = page.soup.select_one("#history").get_text(" ")
    assert "When (Asia/Tokyo)" in " ".join(history.split()), history[:300]
    assert "+0900" in history
    page = agent.submit(page, {"tz-zone": "Mars/Olympus"}, action="/time-zone")
    assert "Give a time zone by its name" in page.text


def test_the_chain_is_verified_on_screen_and_a_tampered_event_shows_as_broken(db, demo, staff):
    agent = staff("agent@demo.test")
    page = agent.get(CASE)
    assert "History intact" in page.text and "History broken" not in page.text
    account_id = db.scalar(select(Account.id).where(Account.reference == "NWB-1001"))
    db.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
    db.execute(text("UPDATE case_event SET data = jsonb_set(data, '{amount_minor}', '1') "
                    "WHERE stream = :s AND kind = 'ledger.posted' AND seq = ("
                    "SELECT min(seq) FROM case_event WHERE stream = :s "
                    "AND kind = 'ledger.posted')"), {"s": f"account:{account_id}"})
    db.execute(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))
    page = agent.get(CASE)
    assert "History broken." in page.text and "History intact" not in page.text
    assert f"account:{account_id}, event" in page.text


# --- tenancy and cost ------------------------------------------------------------------------


def test_another_agencys_staff_find_no_case_and_change_nothing(db, demo, staff):
    harbor = staff("supervisor@harbor.test")
    assert harbor.get(CASE).status == 404
    for action, data in [("/notes", {"note-text": "x"}), ("/reveal", {}),
                         ("/adjustments", {"adjust-direction": "reduce", "adjust-amount": "1",
                                           "adjust-reason": "x"}),
                         ("/pause", {"pause-until": date.today().isoformat(),
                                     "pause-reason": "x"})]:
        status, _body = _refused(harbor, CASE + action, data)
        assert status == 404, action
    assert _events(db, "case.note_added") == [] and _events(db, "personal_data.viewed") == []


def _queries(app, fn) -> int:
    from portal.extensions import db as database

    counted = []
    with app.app_context():
        engine = database.engine

    def count(*_args):
        counted.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(counted)


def test_the_page_costs_the_same_queries_however_long_the_history(app, db, demo, staff):
    supervisor = staff("supervisor@demo.test")
    supervisor.get(CASE)
    few = _queries(app, lambda: supervisor.get(CASE))
    page = supervisor.get("/staff/accounts/NWB-1001")
    point = _phone_point(page)
    for n in range(4):
        supervisor.submit(supervisor.get(CASE), {"note-text": f"note {n}"}, action="/notes")
        supervisor.submit(supervisor.get(CASE), {
            "talk-channel": "call", "talk-direction": "inbound", "talk-outcome": "conversation",
            "talk-point": point, "talk-agreed": f"talk {n}"}, action="/conversations")
        supervisor.submit(supervisor.get(CASE), {
            "adjust-direction": "reduce", "adjust-amount": "1.00", "adjust-reason": f"r {n}"},
            action="/adjustments")
    many = _queries(app, lambda: supervisor.get(CASE))
    assert many == few, (few, many)
    assert few <= 40, few


def test_the_borrowers_opt_outs_show_on_the_case(db, demo, staff):
    from portal.accounts.models import Borrower
    from portal.cases.service import Actor
    from portal.contact import operations

    borrower_id = db.scalar(select(Borrower.id).where(Borrower.reference == "DEMO-1001"))
    db.run(operations.change_preferences, borrower_id,
           {"opted_out_channels": ["email"], "opted_out_points": []}, None,
           Actor("borrower", str(borrower_id)))
    page = staff("agent@demo.test").get(CASE)
    assert "Opted out of: Emails" in page.text
    assert "The borrower's contact preferences changed." in page.text
