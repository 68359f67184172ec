"""The compliance review's contact rules (issue 12) end to end: through the partner API (single,
bulk JSON, bulk CSV, attempts) and through the bulk scrub, which must answer what one decision
answers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Account, ContactPoint
from portal.accounts.placement import Address, Person, ensure_borrower
from portal.contact import bulk, rules
from portal.contact.models import ContactAttempt
from portal.crypto import lookup_digest
from tests.test_contact_bulk import both_ways, write

NY = ZoneInfo("America/New_York")
AUTH = {"Authorization": "Bearer demo-dialer-key"}
PROBLEM = "application/problem+json"
ALEX_MOBILE = "+12135550147"
WORK_EMAIL = "alex@employer.example"


def post(client, path: str, body):
    return client.post(f"/api/v1{path}", json=body, headers=AUTH)


def problem(response, code: str, status: int = 422) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    assert response.json["code"] == code, response.json
    return response.json


def blocked(answer: dict) -> list[str]:
    return [r["rule"] for r in answer["reasons"] if r["effect"] == "block"]


def ny(day, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), NY).isoformat()


def recent_day(days_ago: int):
    return datetime.now(NY).date() - timedelta(days=days_ago)


def attempts(db) -> int:
    return db.scalar(select(func.count()).select_from(ContactAttempt))


# --- 6. attempts carry a direction and say whether they connected -------------------------------


def test_attempts_take_a_direction_and_omitting_it_means_outbound(client, demo, db):
    body = {"account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
            "at": ny(recent_day(1), 12), "outcome": "busy"}
    answer = post(client, "/contact-attempts", body)
    assert answer.status_code == 201, answer.json
    row = db.scalar(select(ContactAttempt).where(ContactAttempt.id == answer.json["id"]))
    assert (row.direction, row.with_consent, row.outcome) == ("outbound", False, "busy")

    count = attempts(db)
    for change, pointer in [({"direction": "sideways"}, "#/direction"),
                            ({"with_consent": "perhaps"}, "#/with_consent"),
                            ({"outcome": "hung_up"}, "#/outcome")]:
        refused = problem(post(client, "/contact-attempts", {**body, **change}),
                          "invalid_request")
        assert {e["pointer"] for e in refused["errors"]} == {pointer}
    assert attempts(db) == count

    openapi = client.get("/api/v1/openapi.json").json
    fields = openapi["components"]["schemas"]["AttemptRequest"]["properties"]
    assert fields["direction"]["enum"] == ["outbound", "inbound"]
    assert fields["direction"]["default"] == "outbound"
    assert "not_in_service" in fields["outcome"]["enum"]


def test_an_inbound_conversation_pauses_calls_and_is_never_flagged(client, demo, db):
    late = post(client, "/contact-attempts", {
        "account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
        "at": ny(recent_day(1), 23), "outcome": "conversation", "direction": "inbound"})
    assert late.status_code == 201, late.json
    assert late.json["violation"] is False  # the borrower called us at 23:00
    following = {"account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
                 "at": ny(recent_day(0), 14)}
    single = post(client, "/contact-decisions", following).json
    many = post(client, "/contact-decisions/bulk", [following]).json
    assert single == many[0]
    assert blocked(single) == ["us.call-after-conversation"]


def test_calls_not_connected_or_consented_do_not_count_toward_seven_in_seven(client, demo,
                                                                           db):
    def record(days_ago, **how):
        answer = post(client, "/contact-attempts", {
            "account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
            "at": ny(recent_day(days_ago), 12), "outcome": "no_answer", **how})
        assert answer.status_code == 201, answer.json

    for days_ago in range(1, 7):
        record(days_ago)
    record(1, outcome="busy")
    record(2, outcome="not_in_service")
    record(3, with_consent=True)
    record(4, direction="inbound")
    ask = {"account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
           "at": ny(recent_day(0), 14)}
    single = post(client, "/contact-decisions", ask).json
    assert single == post(client, "/contact-decisions/bulk", [ask]).json[0]
    assert single["allowed"] is True, single
    record(5)  # a seventh connected call of ours
    single = post(client, "/contact-decisions", ask).json
    assert single == post(client, "/contact-decisions/bulk", [ask]).json[0]
    assert blocked(single) == ["us.call-frequency"]


# --- 7. before any rule pack: a precise refusal, never a 500 ------------------------------------


@pytest.mark.parametrize(("reference", "at", "earliest"), [
    ("NWB-1001", "2021-11-29T12:00:00-05:00", "2021-11-30T00:00:00-05:00"),
    ("JRF-2001", "2025-02-27T23:59:00+08:00", "2025-02-28T00:00:00+08:00"),
])
def test_an_instant_before_any_rule_pack_is_refused_precisely(client, demo, db, reference, at,
                                                              earliest):
    ask = {"account_ref": reference, "channel": "letter", "at": at}
    refused = problem(post(client, "/contact-decisions", ask), "no_rule_pack")
    assert earliest in refused["detail"]
    later = {**ask, "at": earliest}
    answers = post(client, "/contact-decisions/bulk", [ask, later]).json
    assert answers[0] == refused
    assert answers[1]["allowed"] in (True, False) and "reasons" in answers[1]

    upload = f"account_ref,channel,destination,at\n{reference},letter,,{at}\n"
    streamed = client.post("/api/v1/contact-decisions/bulk", data=upload.encode(),
                           headers={**AUTH, "Content-Type": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(streamed.get_data(as_text=True))))
    assert [r["error_code"] for r in rows] == ["no_rule_pack", ""]
    assert rows[-1]["line"] == "end"

    count = attempts(db)
    problem(post(client, "/contact-attempts", {**ask, "outcome": "delivered"}), "no_rule_pack")
    assert attempts(db) == count


# --- 3. an employer's email address -------------------------------------------------------------


def test_no_email_to_an_employer_address_unless_the_borrower_cleared_it(client, demo, db):
    def add_point(consented: bool):
        account = db.database.session.scalar(
            select(Account).where(Account.reference == "NWB-1001"))
        point = db.database.session.scalar(select(ContactPoint).where(
            ContactPoint.value_digest == lookup_digest(WORK_EMAIL, "contact_point.email")))
        if point is None:
            point = ContactPoint(
                borrower_id=account.borrower_id, kind="email", label="work", value=WORK_EMAIL,
                value_digest=lookup_digest(WORK_EMAIL, "contact_point.email"), country="US",
                time_zones=[], employer_provided=True)
            db.database.session.add(point)
        point.employer_email_consent = consented

    ask = {"account_ref": "NWB-1001", "channel": "email", "destination": WORK_EMAIL,
           "at": ny(recent_day(-1), 14)}
    db.run(add_point, False)
    single = post(client, "/contact-decisions", ask).json
    assert single == post(client, "/contact-decisions/bulk", [ask]).json[0]
    assert blocked(single) == ["us.workplace-email"]
    assert single["reasons"][0]["citation"].startswith("12 CFR 1006.22(f)(3)")
    db.run(add_point, True)
    single = post(client, "/contact-decisions", ask).json
    assert single == post(client, "/contact-decisions/bulk", [ask]).json[0]
    assert single["allowed"] is True


# --- the bulk scrub, account by account: no location, visits, calls ------------------------------

AT = datetime(2026, 3, 10, 14, tzinfo=UTC)  # 10:00 in New York, 04:00 in Honolulu


def state(points, attempts=(), sent=None, at=AT) -> dict:
    return {"at": at, "points": list(points), "sent": sent, "holds": [], "preferences": None,
            "attempts": list(attempts), "asks": []}


EMAIL_ONLY = [("email", "personal", "pat@example.com", None, None, [], False)]
MA_HOME = [("address", "home", "1 Main St", "US", "MA", ["America/New_York"], False),
           ("phone", "mobile", "+16175550199", None, None, ["America/New_York"], False)]
NY_HOME = [("address", "home", "1 Main St", "US", "NY", ["America/New_York"], False),
           ("phone", "mobile", "+12125550100", None, None, ["America/New_York"], False)]


@pytest.mark.parametrize(("points", "attempts", "asks", "blocks"), [
    # No known location: every US zone, in both paths (item 4).
    (EMAIL_ONLY, [], [("email", "pat@example.com", AT), ("letter", None, AT),
                      ("email", "pat@example.com", AT.replace(hour=22, minute=30))],
     [["us.inconvenient-hours"], [], []]),
    # Massachusetts: one household visit in 30 days, a visit with no one contacted excepted.
    (MA_HOME, [("visit", None, AT - timedelta(days=10), "conversation")],
     [("visit", None, AT), ("visit", None, AT + timedelta(days=21))],
     [["us-ma.visit-frequency"], []]),
    (MA_HOME, [("visit", None, AT - timedelta(days=2), "no_answer"),
               ("visit", None, AT - timedelta(days=3), "conversation", "inbound", False)],
     [("visit", None, AT)], [[]]),
    # Seven calls, one not connected, one consented, one the borrower's: no 7-in-7.
    (NY_HOME,
     [("call", "+12125550100", AT - timedelta(days=d, hours=1), "no_answer", *how)
      for d, how in enumerate([(), (), (), (), ("outbound", True), ("inbound", False)])]
     + [("call", "+12125550100", AT - timedelta(hours=2), "busy")],
     [("call", "+12125550100", AT)], [[]]),
])
def test_the_bulk_scrub_decides_the_new_rules_as_one_decision_does(db, points, attempts, asks,
                                                                   blocks):
    account_id = db.run(write, state(points, attempts))
    for full_read in (False, True):
        got, want = db.run(both_ways, account_id, asks, False, full_read)
        assert got == want
        assert [[r.rule for r in d.reasons if r.effect == "block"] for d in got] == blocks


def test_the_bulk_scrub_refuses_an_instant_before_any_pack_as_one_decision_does(db):
    account_id = db.run(write, state(MA_HOME))
    before = datetime(2021, 6, 1, 16, tzinfo=UTC)
    asks = [("call", "+16175550199", before), ("call", "+16175550199", AT)]
    answers = db.run(bulk.decide_many, [bulk.Ask(account_id, *ask) for ask in asks])
    assert isinstance(answers[0], rules.NoRulePack) and answers[0].jurisdiction == "US"
    assert isinstance(answers[1], rules.Decision)


def test_a_placed_work_email_is_known_to_be_the_employers(db):
    """A creditor's placement names the employer's addresses; the rules then keep email off them."""
    def place():
        borrower = ensure_borrower(Person(
            "REVIEW-1", "Pat", "Doe", "Pat Doe", date(1980, 1, 1),
            Address("1 Main St", "Albany", "NY", "12207", "US"),
            emails=["pat@example.com"], work_emails=["Pat@Employer.example"]))
        return [(p.kind, p.label, p.value, p.employer_provided, p.employer_email_consent)
                for p in borrower.contact_points if p.kind == "email"]

    assert db.run(place) == [("email", "personal", "pat@example.com", False, False),
                             ("email", "work", "pat@employer.example", True, False)]
