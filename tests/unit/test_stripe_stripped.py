"""What of a Stripe event is kept: ids, amounts and statuses, never the cardholder (issue 12)."""

from __future__ import annotations

import copy

import pytest

from portal.payments.stripped import stripped

PERSON = {"name": "Robin Q", "email": "robin@example.net", "phone": "+12135550199",
          "address": {"line1": "77 Billing Lane", "postal_code": "91101"}}


@pytest.mark.parametrize(("given", "kept"), [
    # the charge of an intent: billing details go, the card keeps brand and last four
    ({"id": "ch_1", "amount": 5000, "currency": "usd", "status": "succeeded",
      "balance_transaction": "txn_1", "billing_details": PERSON,
      "payment_method_details": {"type": "card", "card": {
          "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030,
          "fingerprint": "fp", "checks": {"address_line1_check": "pass"}}}},
     {"id": "ch_1", "amount": 5000, "currency": "usd", "status": "succeeded",
      "balance_transaction": "txn_1",
      "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}}}),
    # an expanded PaymentMethod inside a payment error
    ({"last_payment_error": {"message": "Your card was declined.", "payment_method": {
        "id": "pm_1", "object": "payment_method", "billing_details": PERSON,
        "card": {"brand": "visa", "last4": "0002", "country": "US"}}}},
     {"last_payment_error": {"message": "Your card was declined.", "payment_method": {
         "id": "pm_1", "object": "payment_method", "card": {"brand": "visa", "last4": "0002"}}}}),
    # shipping, receipt email, a description
    ({"id": "pi_1", "shipping": PERSON, "receipt_email": "robin@example.net",
      "description": "for Robin", "metadata": {"payment_id": "u-1"}},
     {"id": "pi_1", "metadata": {"payment_id": "u-1"}}),
    # a legacy card source: its owner fields go
    ({"source": {"id": "card_1", "object": "card", "brand": "Visa", "last4": "4242",
                 "name": "Robin Q", "address_line1": "77 Billing Lane", "address_zip": "91101"}},
     {"source": {"id": "card_1", "object": "card", "brand": "Visa", "last4": "4242"}}),
    # lists of charges (older API versions)
    ({"charges": {"data": [{"id": "ch_2", "billing_details": PERSON}]}},
     {"charges": {"data": [{"id": "ch_2"}]}}),
    # nothing personal: unchanged
    ({"id": "du_1", "charge": "ch_1", "amount": 100, "reason": "fraudulent"},
     {"id": "du_1", "charge": "ch_1", "amount": 100, "reason": "fraudulent"}),
])
def test_stripped(given, kept):
    before = copy.deepcopy(given)
    assert stripped(given) == kept
    assert given == before  # the event as verified is left alone
