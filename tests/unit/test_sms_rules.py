"""The meaning of a text provider's answers and of a borrower's replies, as tables."""

from __future__ import annotations

import pytest

from portal.messaging.envelope import Permanent, Transient
from portal.messaging.sms import rules


@pytest.mark.parametrize(("text", "expected"), [
    ("STOP", "stop"), ("stop", "stop"), ("  Stop \n", "stop"), ("UNSUBSCRIBE", "stop"),
    ("end", "stop"), ("Quit", "stop"), ("STOPALL", "stop"), ("revoke", "stop"),
    ("OptOut", "stop"), ("cancel", "stop"), ("退订", "stop"), (" 退订 ", "stop"), ("baja", "stop"),
    ("START", "start"), ("yes", "start"), ("Unstop", "start"),
    ("HELP", "help"), ("info", "help"),
    # The whole message is the keyword: anything else is a conversation, for staff.
    ("please stop", None), ("STOP!", None), ("stop texting me", None), ("", None), (None, None),
    ("S T O P", None), ("starting", None),
])
def test_a_reply_is_a_keyword_only_when_it_is_the_whole_message(text, expected):
    assert rules.keyword(text) == expected


@pytest.mark.parametrize(("status", "code", "message", "kind", "expected_code"), [
    (400, 21211, "The 'To' number is not a valid phone number.", Permanent, "21211"),
    (400, 21614, "'To' number is not a valid mobile number", Permanent, "21614"),
    # Carriers refuse third-party debt collection on 10DLC and toll-free senders: never retried.
    (400, 30943, None, Permanent, "30943"),
    (400, 30460, None, Permanent, "30460"),
    (403, 20003, "Permission Denied", Permanent, "20003"),
    (400, None, None, Permanent, "400"),
    (429, 20429, "Too Many Requests", Transient, None),
    (500, 20500, "Internal Server Error", Transient, None),
    (503, None, None, Transient, None),
    (None, None, None, Transient, None),
])
def test_twilio_refusals_are_permanent_and_passing_troubles_transient(status, code, message,
                                                                      kind, expected_code):
    failure = rules.api_failure(status, code, message)
    assert type(failure) is kind
    if kind is Permanent:
        assert failure.code == expected_code
        # The refusal says why, in Twilio's words or ours for the known codes.
        assert failure.reason == (message or rules.PERMANENT_CODES.get(expected_code)
                                  or f"HTTP {status}")


def test_a_carrier_refusal_names_debt_collection():
    assert "debt collection" in rules.api_failure(400, 30943, None).reason
    assert "10DLC" in rules.api_failure(400, 30943, None).reason
    assert "toll-free" in rules.api_failure(400, 30460, None).reason


@pytest.mark.parametrize(("status", "error_code", "expected"), [
    ("delivered", None, ("delivered", None, None)),
    ("read", None, ("delivered", None, None)),
    ("undelivered", "30943", ("failed_permanent", "30943",
                              rules.PERMANENT_CODES["30943"])),
    ("failed", "30460", ("failed_permanent", "30460", rules.PERMANENT_CODES["30460"])),
    ("failed", "30999", ("failed_permanent", "30999", "provider error 30999")),
    ("undelivered", None, ("failed_permanent", None, "not delivered")),
    ("queued", None, None), ("sent", None, None), ("sending", None, None), ("accepted", None, None),
    ("", None, None), (None, None, None), ("DELIVERED", None, ("delivered", None, None)),
])
def test_delivery_statuses_settle_only_when_final(status, error_code, expected):
    assert rules.delivery_outcome(status, error_code) == expected


@pytest.mark.parametrize(("words", "kept"), [
    ("The 'To' number +15005550001 is not a valid phone number.",
     "The 'To' number [number] is not a valid phone number."),
    ("Number (213) 555-0147 is blocked", "Number [number] is blocked"),
    ("Error 21211, see https://www.twilio.com/docs/errors/21211",
     "Error 21211, see https://www.twilio.com/docs/errors/21211"),
    ("Too Many Requests", "Too Many Requests"),
])
def test_a_providers_words_are_kept_without_phone_numbers(words, kept):
    """The reason is stored in plain text and shown to staff: it never carries the number."""
    assert rules.without_numbers(words) == kept
    refused = rules.api_failure(400, 21211, words)
    assert refused.reason == kept
