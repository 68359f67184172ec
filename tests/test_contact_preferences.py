"""What a borrower says about contact takes effect in the same transaction as the click."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.accounts.models import Account
from portal.agency.models import Agency
from portal.cases.models import CaseEvent
from portal.contact import service
from portal.contact.models import ContactHold
from portal.outbox.models import OutboxMessage

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def decide(db, reference, channel, destination, at):
    def run():
        account = db.database.session.scalar(select(Account).where(Account.reference == reference))
        return service.decide(account, channel, destination, at)

    return db.run(run)


def blocked_by(decision):
    return [r.rule for r in decision.reasons if r.effect == "block"]


def noon_ny():
    """Tomorrow at 14:00 New York (11:00 in Los Angeles): inside every US window, after now."""
    tomorrow = datetime.now(NY) + timedelta(days=1)
    return tomorrow.replace(hour=14, minute=0, second=0, microsecond=0)


def test_stop_contacting_me_blocks_every_channel_at_once(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    assert decide(db, "NWB-1001", "call", "+12135550147", noon_ny()).allowed

    page = person.submit(person.get("/contact-preferences/"), action="/contact-preferences/stop")

    assert "We have stopped contacting you" in page.text
    for reference in ("NWB-1001", "LUM-1001"):
        for channel in ("call", "sms", "email", "letter", "visit"):
            d = decide(db, reference, channel, None, noon_ny())
            assert blocked_by(d) == ["us.cease-communication"] and d.next_allowed_at is None
    kinds = db.scalars(select(CaseEvent.kind).order_by(CaseEvent.id))
    assert kinds[-2:] == ["contact.cease_requested", "contact.hold_started"]
    topics = db.scalars(select(OutboxMessage.account_ref).where(
        OutboxMessage.topic == "contact.hold.started"))
    assert sorted(topics) == ["LUM-1001", "NWB-1001"]
    # The account page says what is paused, for the borrower.
    account = person.get("/accounts/NWB-1001")
    panel = account.soup.find(id="paused-h").parent.get_text(" ", strip=True)
    assert "You asked us to stop contacting you about this debt." in panel


def test_resuming_lifts_only_that_hold(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get("/contact-preferences/")
    page = person.submit(page, action="/contact-preferences/stop")
    page = person.submit(page, action="/contact-preferences/resume")

    assert "We may contact you again" in page.text
    assert decide(db, "NWB-1001", "call", "+12135550147", noon_ny()).allowed
    hold = db.scalar(select(ContactHold))
    assert hold.ended_at is not None and hold.ended_by_event_id is not None
    assert db.scalar(select(OutboxMessage).where(
        OutboxMessage.topic == "contact.hold.ended")) is not None


def test_attorney_notice(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    person.submit(person.get("/contact-preferences/"),
                  {"attorney-name": "Jo Counsel", "attorney-contact": "jo@law.example"},
                  action="/contact-preferences/attorney")

    d = decide(db, "NWB-1001", "email", "alex@example.com", noon_ny())
    assert blocked_by(d) == ["us.attorney-represented"]


def test_channel_opt_out_and_named_times(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get("/contact-preferences/")
    sms = page.soup.find("input", {"name": "blocked_channels", "value": "sms"})
    assert sms is not None

    page = person.submit(page, {"blocked_channels": "sms", "not_after": "18:00"},
                         action="/contact-preferences/")

    assert "saved and in effect now" in page.text
    assert blocked_by(decide(db, "NWB-1001", "sms", "+12135550147", noon_ny())) == [
        "us.channel-opt-out"]
    evening = noon_ny().replace(hour=19)  # 16:00 in Los Angeles: the law allows, Alex does not
    d = decide(db, "NWB-1001", "call", "+12135550147", evening)
    assert blocked_by(d) == ["us.inconvenient-time-named"]
    assert d.next_allowed_at.astimezone(NY).hour == 11  # 08:00 in Los Angeles, next day
    # The form shows what is saved.
    page = person.get("/contact-preferences/")
    assert page.soup.find("input", {"name": "blocked_channels", "value": "sms"}).has_attr("checked")


def test_a_number_that_is_not_yours_is_refused(person, demo, db):
    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.submit(person.get("/contact-preferences/"), {"blocked_points": "9999"},
                         action="/contact-preferences/")
    assert page.status == 422
    assert db.scalars(select(CaseEvent).where(CaseEvent.kind == "preferences.changed")) == []


def test_uk_breathing_space(make_person, demo, db):
    oliver = make_person()
    oliver.sign_in("DEMO-3001", "1978-01-23")
    today = datetime.now(LONDON).date()

    page = oliver.submit(oliver.get("/contact-preferences/"),
                         {"breathing-kind": "standard", "breathing-start": today.isoformat()},
                         action="/contact-preferences/breathing-space")

    assert "paused collection for your breathing space" in page.text
    d = decide(db, "TCS-3001", "call", "+447911123456",
               (datetime.now(LONDON) + timedelta(days=1)).replace(hour=12, minute=0))
    assert blocked_by(d) == ["uk.breathing-space"]
    assert d.next_allowed_at.astimezone(LONDON).date() == today.fromordinal(
        today.toordinal() + 61)
    # US-only statements are not offered in the UK, breathing space is not offered in the US.
    assert "I have filed for bankruptcy" not in page.text


def test_replaying_the_case_record_gives_the_stored_holds(person, demo, db):
    from portal.accounts.models import Borrower
    from portal.contact.derive import derive

    person.sign_in("DEMO-1001", "1985-04-12")
    page = person.get("/contact-preferences/")
    for action, fields in [("/contact-preferences/stop", {}),
                           ("/contact-preferences/bankruptcy", {}),
                           ("/contact-preferences/resume", {}),
                           ("/contact-preferences/stop", {})]:
        page = person.submit(page, fields, action=action)

    def replay():
        session = db.database.session
        borrower = session.scalar(select(Borrower).where(Borrower.reference == "DEMO-1001"))
        derived = derive(service._facts(borrower.id), "US")
        stored = session.scalars(select(ContactHold).where(
            ContactHold.borrower_id == borrower.id))
        return (
            sorted((h.key, h.rule, h.started_by, h.ended_by) for h in derived.holds),
            sorted((h.key, h.rule, h.started_by_event_id, h.ended_by_event_id) for h in stored),
        )

    derived, stored = db.run(replay)
    assert derived == stored
    assert [row[0] for row in stored] == ["bankruptcy", "cease", "cease"]


def test_a_lapsed_breathing_space_is_recorded_as_ended(make_person, demo, db):
    from datetime import date

    from portal.contact.operations import end_lapsed_holds

    oliver = make_person()
    oliver.sign_in("DEMO-3001", "1978-01-23")
    start = datetime.now(LONDON).date() - timedelta(days=10)
    oliver.submit(oliver.get("/contact-preferences/"),
                  {"breathing-kind": "standard", "breathing-start": start.isoformat()},
                  action="/contact-preferences/breathing-space")
    hold = db.scalar(select(ContactHold))
    assert hold.ended_at is None
    day_61 = datetime.combine(start + timedelta(days=61), datetime.min.time(), LONDON)

    assert db.run(end_lapsed_holds, day_61 - timedelta(seconds=1)) == 0
    assert db.run(end_lapsed_holds, day_61 + timedelta(hours=1)) == 1

    hold = db.scalar(select(ContactHold))
    assert hold.ended_at == day_61
    ended = db.scalars(select(CaseEvent).where(CaseEvent.kind == "contact.hold_ended"))
    assert len(ended) == 1 and ended[0].actor_id == "hold-expiry"
    assert db.scalar(select(OutboxMessage).where(
        OutboxMessage.topic == "contact.hold.ended")).account_ref == "TCS-3001"
    assert isinstance(start, date)


def store_policy(db, policy: dict) -> None:
    """The demo agency's stored policy map, written as a database edit would (not the CLI)."""
    def run():
        agency = db.database.session.scalar(
            select(Agency).where(Agency.name == "Demo Collections"))
        agency.contact_policy = policy

    db.run(run)


def test_a_chinese_opt_out_is_law_that_no_policy_switch_lifts(app, make_person, demo, db):
    """Issue 12: China's opt-out (and stop, and attorney) reused the switchable
    policy.channel-opt-out; it is GB/T 45251-2025's cn.contact-request now."""
    wang = make_person()
    wang.sign_in("DEMO-2001", "1990-09-02")
    wang.submit(wang.get("/contact-preferences/"), {"blocked_channels": "sms"},
                action="/contact-preferences/")
    beijing_noon = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).replace(
        hour=12, minute=0)
    assert blocked_by(decide(db, "JRF-2001", "sms", "+8613800138000", beijing_noon)) == [
        "cn.contact-request"]

    runner = app.test_cli_runner()
    off = runner.invoke(args=["agency", "set-policy", "policy.channel-opt-out", "off",
                              "--agency", "Demo Collections"])
    assert off.exit_code == 0, off.output
    assert blocked_by(decide(db, "JRF-2001", "sms", "+8613800138000", beijing_noon)) == [
        "cn.contact-request"]
    shown = runner.invoke(args=["agency", "policy", "--agency", "Demo Collections"]).output
    assert "policy.channel-opt-out off" in " ".join(shown.split())

    for law in ("us.cease-communication", "cn.contact-request"):
        refused = runner.invoke(args=["agency", "set-policy", law, "off",
                                      "--agency", "Demo Collections"])
        assert refused.exit_code != 0


def test_a_stored_policy_naming_the_law_is_ignored_in_both_paths_and_reported(
        app, client, make_person, demo, db):
    """Issue 12: only the command line refused the law; a map stored by other means switched it
    off. Now both decision paths ignore it, and `doctor` and `agency policy` report it."""
    wang = make_person()
    wang.sign_in("DEMO-2001", "1990-09-02")
    wang.submit(wang.get("/contact-preferences/"), {"blocked_channels": "sms"},
                action="/contact-preferences/")
    at = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).replace(
        hour=12, minute=0, second=0, microsecond=0).isoformat()
    night = (datetime.now(NY) + timedelta(days=1)).replace(
        hour=6, minute=0, second=0, microsecond=0).isoformat()  # 06:00 in New York
    items = [{"account_ref": "JRF-2001", "channel": "sms", "destination": "+8613800138000",
              "at": at},
             {"account_ref": "NWB-1001", "channel": "call", "destination": "+12135550147",
              "at": night}]
    headers = {"Authorization": "Bearer demo-dialer-key"}

    def both():
        single = [client.post("/api/v1/contact-decisions", json=item, headers=headers)
                  .get_json() for item in items]
        many = client.post("/api/v1/contact-decisions/bulk", json=items,
                           headers=headers).get_json()
        return single, many

    store_policy(db, {"us.inconvenient-hours": False, "cn.contact-request": False,
                      "policy.channel-opt-out": False})
    single, many = both()
    assert single == many
    assert [answer["allowed"] for answer in single] == [False, False]
    assert [[r["rule"] for r in answer["reasons"] if r["effect"] == "block"]
            for answer in single] == [["cn.contact-request"], ["us.inconvenient-hours"]]

    runner = app.test_cli_runner()
    doctor = runner.invoke(args=["doctor"]).output
    assert ("WARNING [law-in-policy] agency 'Demo Collections': its stored contact policy names "
            "cn.contact-request, us.inconvenient-hours") in " ".join(doctor.split())
    shown = " ".join(runner.invoke(args=["agency", "policy", "--agency",
                                         "Demo Collections"]).output.split())
    assert "WARNING: the stored policy names us.inconvenient-hours" in shown


def test_the_portals_own_emails_go_only_where_the_borrower_has_not_opted_out(db, demo):
    """contact.email_address, which receipts, plan emails and dispute confirmations share."""
    from portal.accounts.models import Borrower, ContactKind, ContactPoint
    from portal.contact.models import ContactPreferences
    from portal.crypto import lookup_digest
    from portal.extensions import db as database

    def email(value: str, label: str) -> ContactPoint:
        return ContactPoint(kind="email", label=label, value=value,
                            value_digest=lookup_digest(value, "contact_point.email"),
                            country="US", time_zones=["America/New_York"])

    def run():
        session = database.session
        b = session.scalar(select(Borrower).where(Borrower.reference == "DEMO-1001"))
        for p in [p for p in b.contact_points if p.kind == ContactKind.EMAIL]:
            session.delete(p)
        session.flush()
        session.expire(b)
        first, second = email("one@example.com", "home"), email("two@example.com", "work")
        b.contact_points.extend([first, second])
        session.flush()
        seen = [service.email_address(b)]
        prefs = session.get(ContactPreferences, b.id)
        if prefs is None:
            prefs = ContactPreferences(borrower_id=b.id, data={},
                                       updated_at=datetime.now(ZoneInfo("UTC")))
            session.add(prefs)
        for data in ({"opted_out_points": [first.id]}, {"opted_out_channels": ["email"]}):
            prefs.data = data
            session.flush()
            seen.append(service.email_address(b))
        return seen

    assert db.run(run) == ["one@example.com", "two@example.com", None]
