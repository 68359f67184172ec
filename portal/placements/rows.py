"""Reading one row of a placement file: every field checked and normalised, every problem named.

Pure (no Flask, no database), so the rules are tested with tables: a row either becomes a
`Placement` or gives the problems of its line, field by field, with why (never the value, which
may be personal data).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

import phonenumbers
from babel.numbers import list_currencies

from portal.accounts import zones
from portal.money import Money, MoneyError

#: The header of CONTRACT.md ("Placement files"), in its order.
CONTRACT_FIELDS = (
    "creditor_account_id", "first_name", "last_name", "date_of_birth", "national_id_last4",
    "address_line1", "address_line2", "city", "region", "postal_code", "country", "phone",
    "email", "language", "currency", "principal", "interest", "fees", "itemization_date",
    "charge_off_date", "last_payment_date", "validation_notice_sent_at",
)
#: Optional columns beyond the contract: known facts that stop collection at once.
EXTRA_FIELDS = ("bankruptcy", "deceased")
FIELDS = CONTRACT_FIELDS + EXTRA_FIELDS
#: Columns a file must have (the others may be left out, or empty).
REQUIRED_COLUMNS = ("creditor_account_id", "first_name", "last_name", "date_of_birth",
                    "address_line1", "city", "postal_code", "country", "currency", "principal",
                    "itemization_date")
LANGUAGES = ("en", "es", "zh")
#: Countries whose contact rules and time zones the portal knows (zones.py).
SERVED_COUNTRIES = frozenset({"US", *zones.COUNTRIES})
ISO_COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)
CURRENCIES = frozenset(list_currencies())

_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[A-Za-z]{2,}")
_REGION = re.compile(r"[A-Z0-9]{1,3}")
_LAST4 = re.compile(r"[0-9]{4}")
_YES = {"y", "yes", "true", "1"}
_NO = {"", "n", "no", "false", "0"}
MAX_TEXT = 100
MAX_ACCOUNT_ID = 64


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field of one line (line 1 is the header)."""

    line: int
    field: str
    message: str


@dataclass(frozen=True)
class Placement:
    """One row as it will be placed: normalised text, amounts in minor units, ISO dates."""

    line: int
    creditor_account_id: str
    first_name: str
    last_name: str
    date_of_birth: str
    national_id_last4: str | None
    address_line1: str
    address_line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    phone: str | None
    email: str | None
    language: str
    currency: str
    principal: int
    interest: int
    fees: int
    itemization_date: str
    charge_off_date: str | None
    last_payment_date: str | None
    validation_notice_sent_at: str | None
    #: None: not known; else the date it was known from (or the import's day for a plain "y").
    bankruptcy: str | None
    deceased: str | None

    @property
    def total(self) -> int:
        return self.principal + self.interest + self.fees

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Placement:
        return cls(**data)


# --- the header ----------------------------------------------------------------------------------


def apply_map(header: list[str], columns: dict[str, str]) -> list[str]:
    """The header in our field names: each of the lender's names the map knows is renamed (to ""
    when the map says to ignore that column)."""
    known = {k.strip().lower(): v for k, v in columns.items()}
    return [known.get(name.strip().lower(), name.strip()) for name in header]


def header_problems(header: list[str]) -> list[Problem]:
    """Unknown, repeated and missing columns (all on line 1)."""
    problems = []
    seen = set()
    for name in header:
        if name == "":
            continue  # a column the creditor's map ignores
        if name not in FIELDS:
            problems.append(Problem(1, name, "unknown column (map it, or map it to nothing)"))
        elif name in seen:
            problems.append(Problem(1, name, "column appears twice"))
        seen.add(name)
    problems += [Problem(1, name, "required column missing") for name in REQUIRED_COLUMNS
                 if name not in seen]
    return problems


# --- one row -------------------------------------------------------------------------------------


class _Row:
    """Collects a row's problems while its fields are read."""

    def __init__(self, raw: dict[str, str], line: int):
        self.raw = {k: (v or "").strip() for k, v in raw.items() if k}
        self.line = line
        self.problems: list[Problem] = []

    def bad(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.line, field, message))

    def text(self, field: str, required: bool = False, limit: int = MAX_TEXT) -> str | None:
        value = self.raw.get(field, "")
        if not value:
            if required:
                self.bad(field, "required")
            return None
        if len(value) > limit:
            self.bad(field, f"longer than {limit} characters")
            return None
        if any(ord(c) < 32 for c in value):
            self.bad(field, "contains control characters")
            return None
        return value

    def day(self, field: str, today: date,
            required: bool = False) -> str | None:
        value = self.text(field, required)
        if value is None:
            return None
        if not _DATE.fullmatch(value):
            self.bad(field, "not a date in the form YYYY-MM-DD")
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.bad(field, "not a calendar date")
            return None
        if parsed > today:
            self.bad(field, "in the future")
            return None
        if parsed.year < 1900:
            self.bad(field, "before 1900")
            return None
        return parsed.isoformat()

    def amount(self, field: str, currency: str | None, required: bool = False) -> int:
        value = self.text(field, required)
        if value is None:
            return 0
        if not _AMOUNT.fullmatch(value):
            self.bad(field, "not an amount (digits, and a point before the decimals; no sign, "
                            "no thousands separator)")
            return 0
        if currency is None:
            return 0  # the currency's own problem is reported
        try:
            return Money.parse(value, currency).minor
        except MoneyError:
            self.bad(field, f"more decimals than {currency} has")
            return 0

    def fact(self, field: str, today: date) -> str | None:
        """y/n, or the date it is known from."""
        value = self.raw.get(field, "").lower()
        if value in _NO:
            return None
        if value in _YES:
            return today.isoformat()
        return self.day(field, today) if _DATE.fullmatch(value) else self._not_a_fact(field)

    def _not_a_fact(self, field: str) -> None:
        self.bad(field, "not y, n or a date in the form YYYY-MM-DD")
        return None


def read_row(raw: dict[str, str], line: int, today: date) -> tuple[Placement | None, list[Problem]]:
    """A row of the file (our field names) as a Placement, or the problems of its line."""
    row = _Row(raw, line)
    account_id = row.text("creditor_account_id", required=True, limit=MAX_ACCOUNT_ID)
    first = row.text("first_name", required=True)
    last = row.text("last_name", required=True)
    born = row.day("date_of_birth", today, required=True)
    last4 = row.text("national_id_last4")
    if last4 is not None and not _LAST4.fullmatch(last4):
        row.bad("national_id_last4", "not four digits")
    line1 = row.text("address_line1", required=True)
    line2 = row.text("address_line2")
    city = row.text("city", required=True)
    postal = row.text("postal_code", required=True, limit=20)

    country = (row.text("country", required=True) or "").upper() or None
    if country is not None:
        if country not in ISO_COUNTRIES:
            row.bad("country", "not an ISO 3166 two-letter country code")
            country = None
        elif country not in SERVED_COUNTRIES:
            row.bad("country", "a country whose contact rules the portal does not know "
                               f"(it serves {', '.join(sorted(SERVED_COUNTRIES))})")
            country = None

    region = (row.text("region", limit=3) or "").upper() or None
    if country == "US":
        if region is None:
            row.bad("region", "required for a US address (the state's two letters)")
        elif region not in zones.US_STATES:
            row.bad("region", "not a US state or territory code")
    elif region is not None and not _REGION.fullmatch(region):
        row.bad("region", "not a region code (up to three letters or digits)")

    phone = row.text("phone", limit=40)
    if phone is not None and country is not None:
        phone = _phone(row, phone, country)

    email = row.text("email", limit=254)
    if email is not None:
        if _EMAIL.fullmatch(email):
            email = email.lower()
        else:
            row.bad("email", "not an email address")

    language = (row.text("language") or "en").lower()
    if language not in LANGUAGES:
        row.bad("language", f"not one of {', '.join(LANGUAGES)}")

    currency = (row.text("currency", required=True) or "").upper() or None
    if currency is not None and currency not in CURRENCIES:
        row.bad("currency", "not an ISO 4217 currency code")
        currency = None
    principal = row.amount("principal", currency, required=True)
    interest = row.amount("interest", currency)
    fees = row.amount("fees", currency)

    itemized = row.day("itemization_date", today, required=True)
    charged_off = row.day("charge_off_date", today)
    last_paid = row.day("last_payment_date", today)
    notice = _instant(row, "validation_notice_sent_at", today)
    bankruptcy = row.fact("bankruptcy", today)
    deceased = row.fact("deceased", today)

    if row.problems:
        return None, row.problems
    return Placement(
        line=line, creditor_account_id=account_id, first_name=first, last_name=last,
        date_of_birth=born, national_id_last4=last4, address_line1=line1, address_line2=line2,
        city=city, region=region, postal_code=postal, country=country, phone=phone, email=email,
        language=language, currency=currency, principal=principal, interest=interest, fees=fees,
        itemization_date=itemized, charge_off_date=charged_off, last_payment_date=last_paid,
        validation_notice_sent_at=notice, bankruptcy=bankruptcy, deceased=deceased,
    ), []


def _phone(row: _Row, text: str, country: str) -> str | None:
    """E.164, read as the row's country writes its numbers (or in international form)."""
    try:
        number = phonenumbers.parse(text, country)
    except phonenumbers.NumberParseException:
        row.bad("phone", "not a phone number")
        return None
    if not phonenumbers.is_valid_number(number):
        row.bad("phone", f"not a valid phone number in {country} or in international form")
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    try:
        zones.for_number(number)
    except zones.UnknownZone:
        row.bad("phone", "a number whose time zone cannot be told")
        return None
    return e164


def _instant(row: _Row, field: str, today: date) -> str | None:
    """A date or an ISO date-time (UTC unless it says its offset), as UTC ISO text."""
    value = row.text(field)
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        row.bad(field, "not a date or date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+00:00)")
        return None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if at.date() > today:
        row.bad(field, "in the future")
        return None
    return at.isoformat()


# --- a whole file --------------------------------------------------------------------------------


def duplicate_problems(placements: list[Placement]) -> list[Problem]:
    """The same creditor account twice in one file: which row wins is not ours to guess."""
    first_seen: dict[str, int] = {}
    problems = []
    for p in placements:
        earlier = first_seen.setdefault(p.creditor_account_id, p.line)
        if earlier != p.line:
            problems.append(Problem(p.line, "creditor_account_id",
                                    f"the same account as line {earlier}"))
    return problems
