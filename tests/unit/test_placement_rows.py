"""The rules of one placement row, as tables: what is read, and what is refused and why."""

from __future__ import annotations

from datetime import date

import pytest

from portal.placements import rows

TODAY = date(2026, 5, 1)
GOOD = {
    "creditor_account_id": "ACC-1", "first_name": "Ana", "last_name": "Diaz",
    "date_of_birth": "1980-02-29", "national_id_last4": "1234", "address_line1": "1 Main St",
    "address_line2": "", "city": "Austin", "region": "TX", "postal_code": "73301",
    "country": "US", "phone": "(512) 555-0142", "email": "Ana@Example.com", "language": "es",
    "currency": "USD", "principal": "1200.50", "interest": "10", "fees": "0.05",
    "itemization_date": "2025-01-31", "charge_off_date": "", "last_payment_date": "2024-12-01",
    "validation_notice_sent_at": "",
}


def read(**changes):
    return rows.read_row({**GOOD, **changes}, 7, TODAY)


def test_a_good_row_is_read_and_normalised():
    placement, problems = read()
    assert problems == []
    assert placement.line == 7
    assert placement.phone == "+15125550142"
    assert placement.email == "ana@example.com"
    assert (placement.principal, placement.interest, placement.fees) == (120050, 1000, 5)
    assert placement.total == 121055
    assert placement.bankruptcy is None and placement.deceased is None


@pytest.mark.parametrize(("currency", "amount", "minor"), [
    ("USD", "12.34", 1234), ("USD", "12", 1200), ("USD", "0.1", 10),
    ("JPY", "1500", 1500), ("BHD", "1.234", 1234), ("GBP", "0", 0),
    ("EUR", "123456789012.99", 12345678901299),
])
def test_amounts_are_exact_in_the_currencys_minor_unit(currency, amount, minor):
    placement, problems = read(currency=currency, principal=amount, fees="")
    assert problems == []
    assert placement.principal == minor


@pytest.mark.parametrize(("changes", "field", "why"), [
    ({"principal": "12.345"}, "principal", "more decimals than USD"),
    ({"currency": "JPY", "principal": "15.5", "fees": "3"}, "principal",
     "more decimals than JPY"),
    ({"principal": "-5"}, "principal", "not an amount"),
    ({"principal": "1,200.00"}, "principal", "not an amount"),
    ({"principal": "1e3"}, "principal", "not an amount"),
    ({"principal": ""}, "principal", "required"),
    ({"currency": "USX"}, "currency", "ISO 4217"),
    ({"currency": ""}, "currency", "required"),
    ({"date_of_birth": "31/01/1980"}, "date_of_birth", "YYYY-MM-DD"),
    ({"date_of_birth": "1981-02-29"}, "date_of_birth", "calendar date"),
    ({"itemization_date": "2026-05-02"}, "itemization_date", "future"),
    ({"country": "XX"}, "country", "ISO 3166"),
    ({"country": "FR"}, "country", "does not know"),
    ({"region": "ZZ"}, "region", "US state"),
    ({"region": ""}, "region", "required for a US address"),
    ({"phone": "555-0142"}, "phone", "valid phone number"),
    ({"phone": "call me"}, "phone", "phone number"),
    ({"email": "ana@"}, "email", "email address"),
    ({"language": "fr"}, "language", "en, es, zh"),
    ({"national_id_last4": "12a4"}, "national_id_last4", "four digits"),
    ({"first_name": ""}, "first_name", "required"),
    ({"first_name": "x" * 101}, "first_name", "longer than"),
    ({"validation_notice_sent_at": "yesterday"}, "validation_notice_sent_at", "date-time"),
    ({"deceased": "maybe"}, "deceased", "not y, n or a date"),
    ({"bankruptcy": "2030-01-01"}, "bankruptcy", "future"),
])
def test_a_bad_field_is_named_with_why(changes, field, why):
    placement, problems = read(**changes)
    assert placement is None
    assert [(p.line, p.field) for p in problems] == [(7, field)]
    assert why in problems[0].message


@pytest.mark.parametrize(("country", "region", "phone", "e164"), [
    ("GB", "", "07911 123456", "+447911123456"),
    ("CN", "BJ", "138 0013 8000", "+8613800138000"),
    ("US", "NY", "+1 213 555 0147", "+12135550147"),
])
def test_phones_are_read_as_the_rows_country_writes_them(country, region, phone, e164):
    placement, problems = read(country=country, region=region, phone=phone)
    assert problems == []
    assert placement.phone == e164


@pytest.mark.parametrize(("value", "read_as"), [
    ("", None), ("n", None), ("No", None), ("y", "2026-05-01"), ("YES", "2026-05-01"),
    ("2024-03-01", "2024-03-01"),
])
def test_bankruptcy_and_deceased_are_yes_no_or_a_date(value, read_as):
    placement, problems = read(bankruptcy=value, deceased=value)
    assert problems == []
    assert placement.bankruptcy == read_as and placement.deceased == read_as


def test_a_row_says_every_problem_not_only_the_first():
    _, problems = read(email="x", currency="ZZZ", language="de")
    assert sorted(p.field for p in problems) == ["currency", "email", "language"]


def test_a_problem_never_repeats_the_value():
    _, problems = read(national_id_last4="98x7")
    assert "98x7" not in problems[0].message


@pytest.mark.parametrize(("header", "problems"), [
    (list(rows.CONTRACT_FIELDS), []),
    (list(rows.FIELDS), []),
    (["creditor_account_id", "first_name"],
     [(1, f) for f in rows.REQUIRED_COLUMNS if f not in ("creditor_account_id", "first_name")]),
    ([*rows.CONTRACT_FIELDS, "shoe_size"], [(1, "shoe_size")]),
    ([*rows.CONTRACT_FIELDS, "city"], [(1, "city")]),
    ([*rows.CONTRACT_FIELDS, ""], []),
])
def test_the_header(header, problems):
    assert [(p.line, p.field) for p in rows.header_problems(header)] == problems


def test_a_lenders_header_is_mapped_to_ours_ignoring_case_and_spaces():
    mapped = rows.apply_map([" Acct No ", "Surname", "notes", "city"],
                            {"acct no": "creditor_account_id", "SURNAME": "last_name",
                             "Notes": ""})
    assert mapped == ["creditor_account_id", "last_name", "", "city"]


def test_the_same_account_twice_in_a_file_names_the_later_line():
    a, _ = read()
    b, _ = rows.read_row(GOOD, 9, TODAY)
    problems = rows.duplicate_problems([a, b])
    assert [(p.line, p.field, p.message) for p in problems] == [
        (9, "creditor_account_id", "the same account as line 7")]
