"""The partner JSON API, driven over HTTP with real keys: the COMPLIANCE.md example through the API,
attempts flagged as violations, and every kind of bad input answered with a precise problem."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal.api import service
from portal.api.models import Agency, ApiKey, Partner
from portal.api.schemas import API_CHANNELS
from portal.cases.models import CaseEvent
from portal.contact.models import ContactAttempt
from portal.contact.snapshot import OUTCOMES

NEW_YORK = ZoneInfo("America/New_York")
KEY = "demo-dialer-key"
ALEX_MOBILE = "+1 213 555 0147"
PROBLEM = "application/problem+json"


def _auth(key: str | None = KEY) -> dict:
    return {"Authorization": f"Bearer {key}"} if key else {}


def _post(client, path: str, body, key: str | None = KEY, **kwargs):
    return client.post(f"/api/v1{path}", json=body, headers=_auth(key), **kwargs)


def _ny(day, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), NEW_YORK).isoformat()


def _tomorrow():
    return datetime.now(NEW_YORK).date() + timedelta(days=1)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status and body["code"] == code, body
    assert body["type"] and body["title"] and body["detail"], body
    return body


def _pointers(body: dict) -> set[str]:
    return {e["pointer"] for e in body.get("errors", [])}


@pytest.fixture
def other_key(db, demo):
    """A key of another agency, which has no accounts of its own."""
    return db.run(service.issue_key, "Other Collections", "Other dialer")[1]


# --- COMPLIANCE.md: New York address, Los Angeles mobile ----------------------------------------


def test_call_at_0830_new_york_is_blocked_and_at_1105_allowed(client, demo):
    day = _tomorrow()
    early = _post(client, "/contact-decisions", {
        "account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
        "at": _ny(day, 8, 30)})
    assert early.status_code == 200, early.json
    assert early.json["allowed"] is False
    blocks = [r for r in early.json["reasons"] if r["effect"] == "block"]
    assert [r["rule"] for r in blocks] == ["us.inconvenient-hours"]
    assert blocks[0]["citation"] == "12 CFR 1006.6(b)(1)(i)" and blocks[0]["message"]
    # 08:00 in Los Angeles is 11:00 in New York.
    assert _utc(early.json["next_allowed_at"]) == _utc(_ny(day, 11, 0))
    assert early.json["next_allowed_at"].endswith("Z")  # UTC, with its offset

    later = _post(client, "/contact-decisions", {
        "account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
        "at": _ny(day, 11, 5)})
    assert later.status_code == 200
    assert later.json["allowed"] is True and later.json["next_allowed_at"] is None
    # Inside the validation period: allowed, but limited (nothing may overshadow the notice).
    assert [(r["rule"], r["effect"]) for r in later.json["reasons"]] == [
        ("us.validation-period", "limit")]


def test_phone_numbers_in_any_international_format_mean_the_same_number(client, demo):
    day = _tomorrow()
    answers = {
        text: _post(client, "/contact-decisions", {
            "account_ref": "NWB-1001", "channel": "sms", "destination": text,
            "at": _ny(day, 8, 30)}).json
        for text in (ALEX_MOBILE, "+12135550147", "+1 (213) 555-0147")
    }
    assert len({str(a) for a in answers.values()}) == 1
    assert next(iter(answers.values()))["allowed"] is False


def test_decision_without_at_is_for_now(client, demo):
    before = datetime.now(UTC)
    answer = _post(client, "/contact-decisions", {"account_ref": "NWB-1001",
                                                  "channel": "letter"})
    assert answer.status_code == 200
    assert before <= _utc(answer.json["at"]) <= datetime.now(UTC)


# --- account read -------------------------------------------------------------------------------


def test_account_read(client, demo):
    answer = client.get("/api/v1/accounts/NWB-1001", headers=_auth())
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json == {
        "account_ref": "NWB-1001",
        "status": "open",
        "currency": "USD",
        "balance": {"minor": 248019, "currency": "USD", "formatted": "2480.19"},
        "holds": [],
        "preferences": {"language": "en", "opted_out_channels": [],
                        "opted_out_destinations": [], "inconvenient": [],
                        "workplace_prohibited": False},
    }
    cny = client.get("/api/v1/accounts/JRF-2001", headers=_auth()).json
    assert cny["balance"] == {"minor": 1260000, "currency": "CNY", "formatted": "12600.00"}
    assert cny["preferences"]["language"] == "zh"


def test_account_read_shows_holds_and_preferences(client, demo, db):
    from portal.accounts.models import Borrower
    from portal.cases.service import Actor
    from portal.contact import operations

    def opt_out_of_sms_and_cease():
        borrower = db.database.session.scalar(
            select(Borrower).where(Borrower.reference == "DEMO-1001"))
        mobile = next(p for p in borrower.contact_points if p.kind == "phone")
        actor = Actor("borrower", str(borrower.id))
        operations.change_preferences(borrower.id, {
            "opted_out_channels": ["sms"], "opted_out_points": [mobile.id],
            "inconvenient": [{"start": "12:00", "end": "13:00", "channels": ["call"]}],
            "workplace_prohibited": True}, None, actor)
        operations.request_cease(borrower.id, actor)

    db.run(opt_out_of_sms_and_cease)
    answer = client.get("/api/v1/accounts/NWB-1001", headers=_auth()).json
    assert [h["rule"] for h in answer["holds"]] == ["us.cease-communication"]
    assert answer["holds"][0]["until"] is None and answer["holds"][0]["since"]
    assert answer["preferences"] == {
        "language": "en", "opted_out_channels": ["sms"],
        "opted_out_destinations": ["+12135550147"],
        "inconvenient": [{"start": "12:00", "end": "13:00", "channels": ["call"]}],
        "workplace_prohibited": True,
    }
    decision = _post(client, "/contact-decisions", {"account_ref": "NWB-1001",
                                                    "channel": "letter"}).json
    assert decision["allowed"] is False
    assert "us.cease-communication" in [r["rule"] for r in decision["reasons"]]


# --- attempts -----------------------------------------------------------------------------------


def test_attempt_the_rules_forbade_is_recorded_and_flagged(client, demo, db):
    yesterday = datetime.now(NEW_YORK).date() - timedelta(days=1)
    answer = _post(client, "/contact-attempts", {
        "account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
        "at": _ny(yesterday, 23, 0), "outcome": "no_answer"})
    assert answer.status_code == 201, answer.json
    assert answer.json["violation"] is True
    assert "us.inconvenient-hours" in answer.json["rules"]

    row = db.scalar(select(ContactAttempt).where(ContactAttempt.id == answer.json["id"]))
    assert row.violation is True and row.outcome == "no_answer"
    assert row.destination == "+12135550147" and row.reported_by == "key:demo-dialer"
    event = db.scalar(select(CaseEvent).where(CaseEvent.kind == "contact.attempt_recorded")
                      .order_by(CaseEvent.id.desc()))
    assert (event.actor_type, event.actor_id) == ("partner", "key:demo-dialer")
    assert event.data["violation"] is True and event.data["attempt"] == row.id


def test_lawful_attempt_is_recorded_without_a_flag_and_counts_for_later_decisions(client,
                                                                                   demo):
    day = datetime.now(NEW_YORK).date() - timedelta(days=1)
    answer = _post(client, "/contact-attempts", {
        "account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
        "at": _ny(day, 12, 0), "outcome": "conversation"})
    assert answer.status_code == 201
    assert answer.json["violation"] is False and answer.json["rules"] == []
    # A conversation pauses calls for 7 days (the conversation day counting as day 1).
    next_call = _post(client, "/contact-decisions", {
        "account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
        "at": _ny(day + timedelta(days=1), 12, 0)}).json
    assert next_call["allowed"] is False
    assert "us.call-after-conversation" in [r["rule"] for r in next_call["reasons"]]


def test_attempt_in_the_future_is_refused(client, demo, db):
    count = db.scalar(select(func.count()).select_from(ContactAttempt))
    answer = _post(client, "/contact-attempts", {
        "account_ref": "NWB-1001", "channel": "letter", "outcome": "delivered",
        "at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()})
    assert _pointers(_problem(answer, 422, "invalid_request")) == {"#/at"}
    assert db.scalar(select(func.count()).select_from(ContactAttempt)) == count


# --- bad input: a precise problem, never a 500 --------------------------------------------------

GOOD = {"account_ref": "NWB-1001", "channel": "call", "destination": ALEX_MOBILE,
        "at": "2026-03-02T11:05:00-05:00"}


@pytest.mark.parametrize(("change", "pointers"), [
    ({"channel": "fax"}, {"#/channel"}),
    ({"channel": "third_party"}, {"#/channel"}),
    ({"channel": None}, {"#/channel"}),
    ({"at": "tomorrow at noon"}, {"#/at"}),
    ({"at": "2026-03-02T11:05:00"}, {"#/at"}),  # no offset: ambiguous
    ({"at": "2026-02-30T11:05:00Z"}, {"#/at"}),
    ({"at": 1772467500}, {"#/at"}),  # a Unix time is not ISO 8601
    ({"at": "9999-12-31T23:59:59Z"}, {"#/at"}),
    ({"destination": "call me maybe"}, {"#/destination"}),
    ({"destination": "213 555 0147"}, {"#/destination"}),  # no country code
    ({"destination": "+1 000"}, {"#/destination"}),
    ({"destination": None}, {"#/destination"}),  # a call needs a number
    ({"account_ref": ""}, {"#/account_ref"}),
    ({"account_ref": 1001}, {"#/account_ref"}),
    ({"account_ref": "NWB\x001001"}, {"#/account_ref"}),
    ({"account_ref": "N" * 65}, {"#/account_ref"}),
    ({"chanel": "call"}, {"#/chanel"}),
    ({"channel": "email", "destination": "not-an-email"}, {"#/destination"}),
])
def test_invalid_fields_are_422_with_a_pointer_to_each(client, demo, change, pointers):
    body = {**GOOD, **change}
    answer = _post(client, "/contact-decisions", body)
    problem = _problem(answer, 422, "invalid_request")
    assert _pointers(problem) == pointers
    assert all(e["detail"] for e in problem["errors"])
    assert "0147" not in answer.get_data(as_text=True)  # input is not echoed back


@pytest.mark.parametrize(("change", "pointers"), [
    ({"outcome": "hung_up"}, {"#/outcome"}),
    ({"outcome": None}, {"#/outcome"}),
    ({"channel": "pigeon", "outcome": "hung_up"}, {"#/channel", "#/outcome"}),
])
def test_invalid_attempts_are_422_and_nothing_is_recorded(client, demo, db, change, pointers):
    body = {**GOOD, "at": "2026-01-05T12:00:00-05:00", "outcome": "no_answer", **change}
    body = {k: v for k, v in body.items() if v is not None or k != "outcome"}
    answer = _post(client, "/contact-attempts", body)
    assert _pointers(_problem(answer, 422, "invalid_request")) == pointers
    assert db.scalar(select(func.count()).select_from(ContactAttempt)) == 0


def test_outcomes_and_channels_of_the_contract_are_accepted(client, demo):
    assert set(API_CHANNELS) == {"call", "sms", "email", "letter", "visit"}
    for outcome in OUTCOMES:
        answer = _post(client, "/contact-attempts", {
            "account_ref": "LUM-1001", "channel": "email", "destination": "Alex@Example.com",
            "at": "2026-01-05T12:00:00-05:00", "outcome": outcome})
        assert answer.status_code == 201, (outcome, answer.json)


def test_unknown_account_is_404(client, demo, db):
    for method, path, body in [
        ("GET", "/api/v1/accounts/NWB-0000", None),
        ("POST", "/api/v1/contact-decisions", {**GOOD, "account_ref": "NWB-0000"}),
        ("POST", "/api/v1/contact-attempts", {**GOOD, "account_ref": "NWB-0000",
                                              "at": "2026-01-05T12:00:00Z",
                                              "outcome": "busy"}),
    ]:
        answer = client.open(path, method=method, json=body, headers=_auth())
        problem = _problem(answer, 404, "account_not_found")
        assert "NWB-0000" in problem["detail"]
    assert db.scalar(select(func.count()).select_from(ContactAttempt)) == 0


def test_another_agencys_key_gets_404_not_403(client, demo, db, other_key):
    for method, path, body in [
        ("GET", "/api/v1/accounts/NWB-1001", None),
        ("POST", "/api/v1/contact-decisions", GOOD),
        ("POST", "/api/v1/contact-attempts", {**GOOD, "at": "2026-01-05T12:00:00Z",
                                              "outcome": "busy"}),
    ]:
        answer = client.open(path, method=method, json=body, headers=_auth(other_key))
        _problem(answer, 404, "account_not_found")
        assert "Rivera" not in answer.get_data(as_text=True)
    assert db.scalar(select(func.count()).select_from(ContactAttempt)) == 0


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic ZGVtbzpkZW1v", "Bearer not-the-key",
    "Bearer demo-dialer-key-and-more", "Bearer " + "x" * 5000, "demo-dialer-key",
])
def test_missing_or_invalid_key_is_401(client, demo, header):
    headers = {"Authorization": header} if header is not None else {}
    answer = client.get("/api/v1/accounts/NWB-1001", headers=headers)
    _problem(answer, 401, "unauthorized")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Rivera" not in answer.get_data(as_text=True)


def test_bearer_scheme_is_case_insensitive(client, demo):
    answer = client.get("/api/v1/accounts/NWB-1001", headers={"Authorization": f"bearer {KEY}"})
    assert answer.status_code == 200


def test_revoked_key_is_401_from_the_moment_it_is_revoked(client, demo, db):
    public_id, key = db.run(service.issue_key, "Demo Collections", "Demo dialer")
    assert client.get("/api/v1/accounts/NWB-1001", headers=_auth(key)).status_code == 200
    db.run(service.revoke_key, public_id)
    answer = client.get("/api/v1/accounts/NWB-1001", headers=_auth(key))
    _problem(answer, 401, "key_revoked")
    answer = _post(client, "/contact-decisions", GOOD, key=key)
    _problem(answer, 401, "key_revoked")


@pytest.mark.parametrize(("content_type", "data", "status", "code"), [
    ("application/json", b"{not json", 400, "invalid_json"),
    ("application/json", b"", 400, "invalid_json"),
    ("application/json", b"\xff\xfe\x00", 400, "invalid_json"),
    ("application/json", b"[" * 100_000 + b"]" * 100_000, 400, "invalid_json"),
    ("application/json", b"[1, 2]", 422, "invalid_request"),
    ("application/json", b'"NWB-1001"', 422, "invalid_request"),
    ("application/json", b'{"account_ref": "NWB-1001", "channel": "call", '
                         b'"destination": "+1\\u0000213"}', 422, "invalid_request"),
    ("text/plain", b'{"account_ref": "NWB-1001"}', 415, "unsupported_media_type"),
    ("application/x-www-form-urlencoded", b"account_ref=NWB-1001", 415,
     "unsupported_media_type"),
    (None, b"", 415, "unsupported_media_type"),
])
def test_bodies_that_are_not_a_json_object(client, demo, content_type, data, status, code):
    headers = _auth()
    if content_type:
        headers["Content-Type"] = content_type
    answer = client.post("/api/v1/contact-decisions", data=data, headers=headers)
    _problem(answer, status, code)


def test_body_over_the_limit_is_413(client, demo):
    data = b'{"account_ref": "' + b"N" * (2 * 1024 * 1024) + b'"}'
    answer = client.post("/api/v1/contact-decisions", data=data,
                         headers={**_auth(), "Content-Type": "application/json"})
    _problem(answer, 413, "payload_too_large")


def test_routing_errors_under_api_are_problems_and_elsewhere_pages(client, demo):
    _problem(client.get("/api/v1/contact-decisions", headers=_auth()), 405,
             "method_not_allowed")
    assert "POST" in client.get("/api/v1/contact-decisions").headers["Allow"]
    _problem(client.get("/api/v1/nothing-here", headers=_auth()), 404, "not_found")
    _problem(client.get("/api/v2/accounts/NWB-1001"), 404, "not_found")
    _problem(client.delete("/api/v1/accounts/NWB-1001", headers=_auth()), 405,
             "method_not_allowed")
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "We could not find that page." in page.get_data(as_text=True)


def test_nul_in_the_path_is_a_problem_not_a_page(client, demo):
    answer = client.get("/api/v1/accounts/NWB%001001", headers=_auth())
    assert answer.status_code in (400, 404) and answer.mimetype == PROBLEM


def test_an_unexpected_error_is_a_500_problem(client, demo, monkeypatch):
    import portal.contact.service as contact

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away: alex@example.com")

    monkeypatch.setattr(contact, "decide", broken)
    answer = _post(client, "/contact-decisions", GOOD)
    body = _problem(answer, 500, "internal_error")
    assert "alex" not in str(body)


def test_no_csrf_token_is_needed_and_no_cookie_is_set(client, demo):
    answer = _post(client, "/contact-decisions", GOOD)
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


# --- rate limits, per key ------------------------------------------------------------------------


def test_rate_limit_is_per_key_and_answers_429_problems(app, client, demo, db, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    _, first = db.run(service.issue_key, "Demo Collections", "Rate test one")
    _, second = db.run(service.issue_key, "Demo Collections", "Rate test two")
    for _ in range(3):
        assert client.get("/api/v1/accounts/NWB-1001", headers=_auth(first)).status_code == 200
    answer = client.get("/api/v1/accounts/NWB-1001", headers=_auth(first))
    _problem(answer, 429, "rate_limited")
    assert int(answer.headers["Retry-After"]) > 0
    # Another key, from the same address, is not held back by the first one's use.
    assert client.get("/api/v1/accounts/NWB-1001", headers=_auth(second)).status_code == 200


# --- keys ----------------------------------------------------------------------------------------


def test_keys_are_stored_only_as_digests(db, demo):
    public_id, key = db.run(service.issue_key, "Demo Collections", "Demo dialer")
    assert re.fullmatch(r"k[0-9a-f]{10}\.[A-Za-z0-9_-]{40,}", key)
    assert key.startswith(public_id + ".")
    rows = db.scalars(select(ApiKey))
    for row in rows:
        assert key.encode() not in row.digest and len(row.digest) == 32
    stored = {r.public_id: r.digest for r in rows}
    assert stored[public_id] == hashlib.sha256(key.encode()).digest()
    assert stored["demo-dialer"] == hashlib.sha256(KEY.encode()).digest()


def test_demo_seed_is_idempotent_and_gives_each_dialer_its_agencys_creditors(db, demo):
    from portal.accounts.models import Creditor
    from portal.demo.cli import seed

    db.run(seed)
    agencies = {a.name: a.id for a in db.scalars(select(Agency))}
    assert sorted(agencies) == ["Demo Collections", "Harbor Recovery"]
    assert sorted(p.name for p in db.scalars(select(Partner))) == ["Demo dialer",
                                                                   "Harbor dialer"]
    assert db.scalar(select(func.count()).select_from(ApiKey)) == 2
    by_code = {c.code: c.agency_id for c in db.scalars(select(Creditor))}
    assert by_code == {"NWB": agencies["Demo Collections"], "LUM": agencies["Demo Collections"],
                       "JRF": agencies["Demo Collections"], "TCS": agencies["Demo Collections"],
                       "BRC": agencies["Harbor Recovery"]}


def test_keys_from_the_command_line(app, client, demo):
    runner = app.test_cli_runner()
    issued = runner.invoke(args=["api", "issue-key", "--agency", "Demo Collections",
                                 "--partner", "CLI dialer"])
    assert issued.exit_code == 0, issued.output
    public_id = re.search(r"key id (\S+)", issued.output).group(1)
    key = re.search(r"key\s+(\S+\.\S+)", issued.output).group(1)
    assert client.get("/api/v1/accounts/NWB-1001", headers=_auth(key)).status_code == 200
    revoked = runner.invoke(args=["api", "revoke-key", public_id])
    assert revoked.exit_code == 0, revoked.output
    _problem(client.get("/api/v1/accounts/NWB-1001", headers=_auth(key)), 401, "key_revoked")
    unknown = runner.invoke(args=["api", "revoke-key", "k-none"])
    assert unknown.exit_code != 0 and "no API key" in unknown.output


# --- the OpenAPI document ------------------------------------------------------------------------


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_document_lists_every_route_and_resolves(app, client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    doc = answer.json
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in doc["paths"].items()
                  for method in item}
    routes = {
        (re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method)
        for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routes
    schemas = doc["components"]["schemas"]
    for ref in set(_refs(doc)):
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in schemas, ref
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        **doc["components"]["securitySchemes"]["apiKey"], "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"apiKey": []}]
    assert doc["paths"]["/openapi.json"]["get"]["security"] == []
    # The schemas are the ones that validate requests.
    request = schemas["DecisionRequest"]
    assert request["properties"]["channel"]["enum"] == list(API_CHANNELS)
    assert schemas["AttemptRequest"]["properties"]["outcome"]["enum"] == list(OUTCOMES)
    assert request["additionalProperties"] is False
    assert set(request["required"]) == {"account_ref", "channel"}
    assert schemas["BulkDecisionRequest"]["maxItems"] == 10_000
    assert {"type", "title", "status", "detail", "code"} <= set(
        schemas["Problem"]["properties"])
    for path, item in doc["paths"].items():
        for operation in item.values():
            for status, described in operation["responses"].items():
                if int(status) >= 400:
                    assert "application/problem+json" in described["content"], (path, status)
