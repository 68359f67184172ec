"""How a placement row shows in the console's preview: names as they are, personal data masked
(pure; the same masks as the case page)."""

from __future__ import annotations

from portal.identity.rules import mask_email, mask_phone

#: Fields shown as written: the columns staff need to recognise a row by.
SHOWN = frozenset({
    "creditor_account_id", "first_name", "last_name", "city", "region", "postal_code",
    "country", "language", "currency", "principal", "interest", "fees", "itemization_date",
    "charge_off_date", "last_payment_date", "validation_notice_sent_at",
})
HIDDEN = "••••"


def masked(field: str, value: str | None) -> str:
    """The value of one field as the preview shows it."""
    value = (value or "").strip()
    if not value or field in SHOWN:
        return value
    if field == "email":
        return mask_email(value) if "@" in value else HIDDEN
    if field == "phone":
        return mask_phone(value)
    if field == "date_of_birth":
        return "••••-••-••"
    if field in ("address_line1", "address_line2"):
        return value[:1] + "•••"
    return HIDDEN  # national id digits, and any column we do not know
