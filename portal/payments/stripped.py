"""What we keep of a Stripe event: its ids, amounts and statuses, never the cardholder. Pure.

Stripe's objects carry the cardholder's name, email, phone and address (`billing_details`,
`shipping`, an expanded PaymentMethod, a card's owner fields) and card details beyond what a
receipt shows. Reconciliation and the inbox need none of them, so they are dropped before an
event is stored; of a card, only its brand and last four digits are kept (receipts show them).
"""

from __future__ import annotations

#: Keys whose values describe a person, dropped wherever they appear.
PERSONAL_KEYS = frozenset({
    "billing_details", "shipping", "customer_details", "receipt_email", "email", "name",
    "phone", "address", "description", "owner", "verified_address", "verified_email",
    "verified_name", "verified_phone",
})
#: Of a card (a PaymentMethod's, a charge's `payment_method_details`, a legacy source) keep only
#: what a receipt shows and what names the network.
CARD_KEYS = frozenset({"brand", "last4", "funding", "network", "object", "id"})


def _is_card(key: str | None, value: dict) -> bool:
    return key == "card" or value.get("object") == "card"


def stripped(value, key: str | None = None):
    """`value` (an event, or any part of one) without personal data; the input is not changed."""
    if isinstance(value, dict):
        if _is_card(key, value):
            return {k: v for k, v in value.items() if k in CARD_KEYS}
        return {k: stripped(v, k) for k, v in value.items()
                if k not in PERSONAL_KEYS and not k.startswith("address_")}
    if isinstance(value, list):
        return [stripped(v, key) for v in value]
    return value
