"""Texts through a provider, for real: the adapters against local servers answering as Twilio's
and the gateway's APIs do, the signed delivery reports settling a message, and the keywords a
borrower texts back (STOP, START, HELP) acting on the record in one transaction."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from portal.accounts.models import Account, Borrower, ContactPoint
from portal.cases.models import CaseEvent
from portal.cases.service import Actor
from portal.contact import service as contact
from portal.contact.models import ContactAttempt
from portal.contact.operations import attempt_made
from portal.contact.rulebook import Purpose
from portal.messaging import channels
from portal.messaging.envelope import Envelope, Permanent, Sent, Transient
from portal.messaging.models import OutgoingMessage, OutgoingStatus
from portal.messaging.outgoing import send_due
from portal.messaging.sms import adapter_from_config, sender_for
from portal.messaging.sms.gateway_adapter import GatewayAdapter
from portal.messaging.sms.twilio_adapter import TwilioAdapter
from portal.outbox.signing import HEADER, sign
from tests.fixtures.client import dob as _dob
from tests.fixtures.sms_providers import ACCOUNT_SID, AUTH_TOKEN, GATEWAY_SECRET, HANG

ALEX = "+12135550147"  # DEMO-1001's mobile (CONTRACT.md)
SENDER = "+15005550006"
PUBLIC = "https://portal.example"


def _twilio_config(fake, **more) -> dict:
    return {"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM": SENDER,
            "TWILIO_API_BASE": fake.url, "PUBLIC_BASE_URL": PUBLIC, "SMS_TIMEOUT": 5, **more}


def _gateway_config(fake) -> dict:
    return {"SMS_PROVIDER": "gateway", "SMS_GATEWAY_URL": fake.url,
            "SMS_GATEWAY_SECRET": GATEWAY_SECRET, "SMS_GATEWAY_FROM": "DEMOCOLL",
            "PUBLIC_BASE_URL": PUBLIC}


def _envelope(to: str = ALEX, sender: str = "", message_id: int = 41) -> Envelope:
    return Envelope(id=message_id, channel="sms", to=to, sender=sender, subject="",
                    text="Your sign-in code is 123456.", html=None, language="en",
                    kind="sign_in_code")


# --- the adapters, against the providers' APIs ----------------------------------------------


def test_twilio_sends_through_the_configured_base_url_with_a_status_callback(fake_twilio):
    adapter = adapter_from_config(_twilio_config(fake_twilio))
    assert isinstance(adapter, TwilioAdapter)
    sent = adapter.send(_envelope())
    assert sent.provider == "twilio" and sent.provider_ref.startswith("SM")
    [asked] = fake_twilio.requests
    assert asked == {"To": ALEX, "From": SENDER, "Body": "Your sign-in code is 123456.",
                     "StatusCallback": f"{PUBLIC}/hooks/sms/twilio/status"}


def test_the_agency_sender_goes_first_and_a_messaging_service_is_one(fake_twilio):
    adapter = adapter_from_config(_twilio_config(fake_twilio))
    adapter.send(_envelope(sender="MG" + "f" * 32))
    assert fake_twilio.requests[-1]["MessagingServiceSid"] == "MG" + "f" * 32
    assert "From" not in fake_twilio.requests[-1]

    class Agency:
        sms_sender = "+15005550007"

    assert sender_for(Agency(), _twilio_config(fake_twilio)) == "+15005550007"
    assert sender_for(object(), _twilio_config(fake_twilio)) == SENDER


@pytest.mark.parametrize(("to", "code", "words"), [
    ("+15005550001", "21211", "is not a valid phone number"),
    ("+15005550009", "21614", "not a valid mobile number"),
    ("+15005550403", "20003", "Permission Denied"),
])
def test_twilio_refusals_are_permanent_with_twilios_code_and_words(fake_twilio, to, code, words):
    adapter = adapter_from_config(_twilio_config(fake_twilio))
    with pytest.raises(Permanent) as refused:
        adapter.send(_envelope(to=to))
    assert refused.value.code == code
    assert words in refused.value.reason
    assert not refused.value.reason.startswith("Unable to")
    assert to not in refused.value.reason  # kept in plain text and shown: never the number


@pytest.mark.parametrize("to", ["+15005550429", "+15005550500"])
def test_rate_limits_and_server_errors_are_transient(fake_twilio, to):
    with pytest.raises(Transient):
        adapter_from_config(_twilio_config(fake_twilio)).send(_envelope(to=to))


def test_a_provider_that_does_not_answer_in_time_is_transient(fake_twilio):
    adapter = adapter_from_config(_twilio_config(fake_twilio, SMS_TIMEOUT=0.3))
    started = time.monotonic()
    with pytest.raises(Transient, match="unreachable"):
        adapter.send(_envelope(to=HANG))
    assert time.monotonic() - started < 5


def test_a_provider_that_is_down_is_transient(fake_twilio):
    config = _twilio_config(fake_twilio, TWILIO_API_BASE="http://127.0.0.1:9")
    with pytest.raises(Transient):
        adapter_from_config(config).send(_envelope())


def test_the_gateway_gets_a_signed_body_and_answers_its_id(fake_gateway):
    adapter = adapter_from_config(_gateway_config(fake_gateway))
    assert isinstance(adapter, GatewayAdapter)
    sent = adapter.send(_envelope(message_id=77))
    assert sent == Sent("gateway", "gw-77-1")
    [asked] = fake_gateway.requests
    assert (asked["id"], asked["to"], asked["from"], asked["text"]) == (
        "77", ALEX, "DEMOCOLL", "Your sign-in code is 123456.")
    assert asked["status_callback"] == f"{PUBLIC}/hooks/sms/gateway/status"
    assert asked["_headers"]["Idempotency-Key"] == "outgoing-77"


def test_the_gateway_refusal_is_permanent_and_its_outage_transient(fake_gateway):
    adapter = adapter_from_config(_gateway_config(fake_gateway))
    with pytest.raises(Permanent) as refused:
        adapter.send(_envelope(to="+15005550001"))
    assert (refused.value.code, refused.value.reason) == ("422", "invalid destination number")
    with pytest.raises(Transient):
        adapter.send(_envelope(to="+15005550500"))
    wrong = GatewayAdapter(fake_gateway.url, "not-the-secret", sender="X")
    with pytest.raises(Permanent):  # the gateway refuses our signature: a setup fault, loud
        wrong.send(_envelope())


def test_the_provider_is_picked_by_configuration():
    assert adapter_from_config({}) is None
    with pytest.raises(RuntimeError, match="TWILIO_AUTH_TOKEN"):
        adapter_from_config({"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID})
    with pytest.raises(RuntimeError, match="twilio or gateway"):
        adapter_from_config({"SMS_PROVIDER": "pigeon"})


# --- delivery reports -----------------------------------------------------------------------


@pytest.fixture
def sms_config(app, monkeypatch, fake_twilio):
    for key, value in {**_twilio_config(fake_twilio), "SMS_GATEWAY_SECRET": GATEWAY_SECRET,
                       "SMS_HELP_PHONE": "+1 800 555 0100",
                       "SMS_HELP_WEBSITE": "https://demo-collections.example"}.items():
        monkeypatch.setitem(app.config, key, value)
    # The app's adapters are made once from its configuration: make them afresh from this one,
    # and again without it after the test.
    monkeypatch.delitem(app.extensions, channels.EXTENSION, raising=False)
    yield app.config
    app.extensions.pop(channels.EXTENSION, None)


def _twilio_post(client, path: str, params: dict, token: str = AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(PUBLIC + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def _gateway_post(client, path: str, payload, secret: str = GATEWAY_SECRET):
    body = json.dumps(payload).encode()
    return client.post(path, data=body, content_type="application/json",
                       headers={HEADER: sign(secret, int(time.time()), body)})


def _queued_text(db, provider: str, ref: str) -> tuple[int, int]:
    """A text on its way out, as the worker leaves it once the provider took it: its id and its
    contact attempt's id."""
    def make():
        session = db.database.session
        account = session.scalar(select(Account).where(Account.reference == "NWB-1001"))
        now = datetime.now(UTC)
        attempt = attempt_made(account, "sms", ALEX, now, "delivered",
                               Actor.system("messaging:plan_reminder"), Purpose.REQUESTED)
        point = next(p for p in account.borrower.contact_points if p.value == ALEX)
        message = OutgoingMessage(
            channel="sms", destination=ALEX, subject="", text="Your plan payment is due.",
            html=None, language="en", kind="plan_reminder", borrower_id=account.borrower_id,
            account_id=account.id, attempt_id=attempt.id, contact_point_id=point.id,
            status=OutgoingStatus.SENT, tries=1, next_try_at=now, provider=provider,
            provider_ref=ref, created_at=now, sent_at=now)
        session.add(message)
        session.flush()
        return message.id, attempt.id

    return db.run(make)


def _message(db, message_id: int) -> tuple:
    row = db.scalar(select(OutgoingMessage).where(OutgoingMessage.id == message_id))
    return row.status, row.error_code, row.error


def _attempt_outcome(db, attempt_id: int) -> str:
    return db.scalar(select(ContactAttempt.outcome).where(ContactAttempt.id == attempt_id))


STATUS = "/hooks/sms/twilio/status"
INBOUND = "/hooks/sms/twilio/inbound"


def test_a_signed_delivered_report_settles_the_text_once(db, client, sms_config):
    message_id, attempt_id = _queued_text(db, "twilio", "SM" + "1" * 32)
    report = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered",
              "AccountSid": ACCOUNT_SID, "To": ALEX, "From": SENDER}
    answer = _twilio_post(client, STATUS, report)
    assert (answer.status_code, answer.json) == (200, {"settled": True})
    assert _message(db, message_id) == (OutgoingStatus.DELIVERED, None, None)
    assert _attempt_outcome(db, attempt_id) == "delivered"
    again = _twilio_post(client, STATUS, {**report, "MessageStatus": "undelivered",
                                          "ErrorCode": "30005"})
    # Already settled: the late report changes nothing (the message stays delivered).
    assert again.status_code == 200
    assert _message(db, message_id) == (OutgoingStatus.DELIVERED, None, None)
    assert _attempt_outcome(db, attempt_id) == "delivered"


def test_a_carrier_refusal_is_surfaced_on_the_message_and_its_attempt(db, client, sms_config):
    message_id, attempt_id = _queued_text(db, "twilio", "SM" + "2" * 32)
    answer = _twilio_post(client, STATUS, {"MessageSid": "SM" + "2" * 32,
                                           "MessageStatus": "undelivered", "ErrorCode": "30943"})
    assert answer.status_code == 200
    status, code, reason = _message(db, message_id)
    assert (status, code) == (OutgoingStatus.FAILED, "30943")
    assert "debt collection" in reason and "10DLC" in reason
    assert _attempt_outcome(db, attempt_id) == "failed"


def test_a_step_on_the_way_settles_nothing(db, client, sms_config):
    message_id, _attempt = _queued_text(db, "twilio", "SM" + "3" * 32)
    answer = _twilio_post(client, STATUS, {"MessageSid": "SM" + "3" * 32,
                                           "MessageStatus": "sent"})
    assert (answer.status_code, answer.json) == (200, {"settled": False})
    assert _message(db, message_id)[0] == OutgoingStatus.SENT


@pytest.mark.parametrize("signature", ["bad", None, "other token", "other url"])
def test_a_report_not_signed_by_twilio_is_refused_and_changes_nothing(db, client, sms_config,
                                                                      signature):
    message_id, attempt_id = _queued_text(db, "twilio", "SM" + "4" * 32)
    report = {"MessageSid": "SM" + "4" * 32, "MessageStatus": "failed", "ErrorCode": "30003"}
    if signature == "other token":
        answer = _twilio_post(client, STATUS, report, token="someone-else")
    elif signature == "other url":
        forged = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC + INBOUND, report)
        answer = client.post(STATUS, data=report, headers={"X-Twilio-Signature": forged})
    else:
        headers = {"X-Twilio-Signature": signature} if signature else {}
        answer = client.post(STATUS, data=report, headers=headers)
    assert answer.status_code == 403
    assert _message(db, message_id) == (OutgoingStatus.SENT, None, None)
    assert _attempt_outcome(db, attempt_id) == "delivered"


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(db, client, sms_config,
                                                             monkeypatch):
    _queued_text(db, "twilio", "SM" + "5" * 32)
    report = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered"}
    # Signed for the URL this process sees, not the public one: refused.
    seen = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost" + STATUS, report)
    assert client.post(STATUS, data=report,
                       headers={"X-Twilio-Signature": seen}).status_code == 403
    monkeypatch.setitem(sms_config, "PUBLIC_BASE_URL", None)
    assert client.post(STATUS, data=report,
                       headers={"X-Twilio-Signature": seen}).status_code == 200


@pytest.mark.parametrize("report", [
    {}, {"MessageStatus": "delivered"}, {"MessageSid": "SMx"}, {"MessageSid": "", "x": "1"},
])
def test_a_signed_report_that_is_no_report_is_400(db, client, sms_config, report):
    assert _twilio_post(client, STATUS, report).status_code == 400


def test_a_report_about_a_message_not_ours_is_404(db, client, sms_config):
    answer = _twilio_post(client, STATUS, {"MessageSid": "SM" + "9" * 32,
                                           "MessageStatus": "delivered"})
    assert answer.status_code == 404


def test_the_gateway_report_is_checked_by_its_hmac(db, client, sms_config):
    message_id, attempt_id = _queued_text(db, "gateway", "gw-5-1")
    report = {"id": "gw-5-1", "status": "failed", "error_code": "invalid_number"}
    assert _gateway_post(client, "/hooks/sms/gateway/status", report,
                         secret="wrong").status_code == 403
    assert client.post("/hooks/sms/gateway/status", json=report).status_code == 403
    assert _message(db, message_id)[0] == OutgoingStatus.SENT
    answer = _gateway_post(client, "/hooks/sms/gateway/status", report)
    assert (answer.status_code, answer.json) == (200, {"settled": True})
    assert _message(db, message_id)[:2] == (OutgoingStatus.FAILED, "invalid_number")
    assert _attempt_outcome(db, attempt_id) == "failed"
    for junk in (["a list"], {"id": 5, "status": "delivered"}, "text"):
        assert _gateway_post(client, "/hooks/sms/gateway/status", junk).status_code == 400


# --- what the borrower texts back -------------------------------------------------------------


def _alex(db) -> Borrower:
    return db.scalar(select(Borrower).where(Borrower.reference == "DEMO-1001"))


def _opted_out_points(db) -> list[int]:
    return db.run(lambda: contact.preferences_of(_alex(db).id).get("opted_out_points", []))


def _alex_mobile(db) -> int:
    return db.scalar(select(ContactPoint.id).where(ContactPoint.borrower_id == _alex(db).id,
                                                   ContactPoint.kind == "phone"))


def _sms_blocked_by(db) -> set[str]:
    """The rules that stop a text to Alex's mobile about NWB-1001 now."""
    def decide():
        session = db.database.session
        account = session.scalar(select(Account).where(Account.reference == "NWB-1001"))
        decision = contact.decide(account, "sms", ALEX, datetime.now(UTC))
        return {r.rule for r in decision.reasons}

    return db.run(decide)


def _events(db, kind: str) -> int:
    return db.scalar(select(func.count(CaseEvent.id)).where(
        CaseEvent.kind == kind, CaseEvent.borrower_id == _alex(db).id))


def _reply(answer) -> str:
    assert answer.status_code == 200 and answer.mimetype == "text/xml"
    return answer.get_data(as_text=True)


def test_stop_opts_the_number_out_once_and_start_opts_it_back_in(db, client, sms_config):
    mobile = _alex_mobile(db)
    assert "us.channel-opt-out" not in _sms_blocked_by(db)
    before = _events(db, "preferences.changed")
    first = _reply(_twilio_post(client, INBOUND, {"From": ALEX, "To": SENDER, "Body": " Stop "}))
    assert "<Message>You will get no more texts from Demo Collections" in first
    assert _opted_out_points(db) == [mobile]
    assert _events(db, "preferences.changed") == before + 1
    assert "us.channel-opt-out" in _sms_blocked_by(db)
    # Already out: nothing recorded again, and no second confirmation.
    second = _reply(_twilio_post(client, INBOUND, {"From": ALEX, "To": SENDER, "Body": "QUIT"}))
    assert "<Message>" not in second
    assert _events(db, "preferences.changed") == before + 1
    back = _reply(_twilio_post(client, INBOUND, {"From": ALEX, "To": SENDER, "Body": "start"}))
    assert "<Message>You will get texts from Demo Collections at this number again" in back
    assert _opted_out_points(db) == []
    assert "us.channel-opt-out" not in _sms_blocked_by(db)


def test_help_says_who_is_writing_and_changes_nothing(db, client, sms_config):
    before = _events(db, "preferences.changed")
    answer = _reply(_twilio_post(client, INBOUND, {"From": ALEX, "To": SENDER, "Body": "HELP"}))
    assert "This is Demo Collections, a debt collector." in answer
    assert "+1 800 555 0100" in answer and "https://demo-collections.example" in answer
    assert _events(db, "preferences.changed") == before


def test_other_words_and_unknown_numbers_get_no_answer_and_leave_no_trace(db, client, sms_config,
                                                                         caplog):
    total = db.scalar(select(func.count(CaseEvent.id)))
    for params in ({"From": ALEX, "Body": "please stop calling my mother"},
                   {"From": "+12025550123", "Body": "STOP"},
                   {"From": "not a number", "Body": "STOP"}):
        assert "<Message>" not in _reply(_twilio_post(client, INBOUND, params))
    assert db.scalar(select(func.count(CaseEvent.id))) == total
    assert "2025550123" not in caplog.text and "2135550147" not in caplog.text


def test_an_unsigned_or_junk_inbound_text_is_refused(db, client, sms_config):
    assert client.post(INBOUND, data={"From": ALEX, "Body": "STOP"}).status_code == 403
    assert _opted_out_points(db) == []
    assert _twilio_post(client, INBOUND, {"Body": "STOP"}).status_code == 400
    assert _twilio_post(client, INBOUND, {"From": ALEX}).status_code == 400


def test_the_gateway_inbound_answers_json(db, client, sms_config):
    path = "/hooks/sms/gateway/inbound"
    assert _gateway_post(client, path, {"from": ALEX, "text": "STOP"},
                         secret="wrong").status_code == 403
    first = _gateway_post(client, path, {"from": ALEX, "to": "DEMOCOLL", "text": "stop"})
    assert first.status_code == 200 and "no more texts" in first.json["reply"]
    assert _opted_out_points(db) == [_alex_mobile(db)]
    assert _gateway_post(client, path, {"from": ALEX, "text": "STOP"}).json == {"reply": None}
    assert _gateway_post(client, path, {"text": "STOP"}).status_code == 400
    assert _gateway_post(client, path, [1]).status_code == 400


# --- the whole way, as an agency runs it ----------------------------------------------------


def test_a_borrower_gets_a_code_by_text_and_their_replies_are_honoured(db, person, app,
                                                                     sms_config, fake_twilio):
    """Sign-in code by text through the outgoing queue and Twilio (the fake API), delivered per
    Twilio's signed report; then STOP, STOP again, START."""
    page = person.submit(person.get("/sign-in"), {"reference": "DEMO-1001",
                                                  **_dob("1985-04-12")})
    text_choice = next(label for label in page.soup.select(".radio label")
                       if label.get_text().lower().startswith("text"))
    page = person.submit(page, {"destination": page.soup.find(id=text_choice["for"])["value"]})
    assert page.h1 == "Enter your code", page.text[:300]

    # The code is queued with the click and sent by the worker's step through the adapter.
    assert [r.status for r in db.run(send_due)] == ["sent"]
    [asked] = fake_twilio.requests
    assert (asked["To"], asked["From"]) == (ALEX, SENDER)
    assert asked["StatusCallback"] == f"{PUBLIC}/hooks/sms/twilio/status"
    sent = db.execute(select(OutgoingMessage.provider, OutgoingMessage.provider_ref)
                      .where(OutgoingMessage.channel == "sms")).one()
    assert sent.provider == "twilio" and sent.provider_ref
    code = next(word.rstrip(".") for word in asked["Body"].split()
                if word.rstrip(".").isdigit() and len(word.rstrip(".")) == 6)
    assert person.submit(page, {"code": code}).h1 == "Your accounts"

    report = {"MessageSid": sent.provider_ref, "MessageStatus": "delivered",
              "AccountSid": ACCOUNT_SID}
    assert _twilio_post(person.client, STATUS, report).json == {"settled": True}
    assert db.scalar(select(OutgoingMessage.status).where(
        OutgoingMessage.provider_ref == sent.provider_ref)) == OutgoingStatus.DELIVERED

    stop = {"From": ALEX, "To": SENDER, "Body": "STOP", "AccountSid": ACCOUNT_SID}
    assert "<Message>" in _reply(_twilio_post(person.client, INBOUND, stop))
    assert "us.channel-opt-out" in _sms_blocked_by(db)
    assert "<Message>" not in _reply(_twilio_post(person.client, INBOUND, stop))
    assert "<Message>" in _reply(_twilio_post(person.client, INBOUND, {**stop, "Body": "UNSTOP"}))
    assert "us.channel-opt-out" not in _sms_blocked_by(db)
