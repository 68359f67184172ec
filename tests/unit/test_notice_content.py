"""The first letters' content model (portal/notices): what each notice states, from the
account, its itemization and the agency, checked with tables."""

from __future__ import annotations

from datetime import date

import pytest

from portal.accounts.itemization import Posting, itemize
from portal.money import Money
from portal.notices import wording
from portal.notices.content import Party, first_letter, masked

AGENCY = Party("Demo Collections", ("100 Main Street, Suite 400", "Springfield, IL 62701"))
ALEX = Party("Alex Rivera", ("350 W 31st St", "Apt 4B", "New York, NY 10001", "UNITED STATES"))


def usd(minor: int) -> Money:
    return Money(minor, "USD")


def notice(postings=(), sent_on=date(2026, 12, 1), language="en", country="US",
           currency="USD", number="4000123412341234"):
    return first_letter(
        country=country, collector=AGENCY, consumer=ALEX, reference="NWB-1001",
        creditor="Northwind Bank", account_number=number, product="Credit card",
        itemization_date=date(2026, 5, 15), itemization=itemize(list(postings), currency),
        sent_on=sent_on, portal_url="https://portal.example", language=language)


def rows_of(section) -> list[tuple[str, str]]:
    (rows,) = [b.rows for b in section.blocks if b.kind == "table"]
    return list(rows)


@pytest.mark.parametrize(("postings", "expected"), [
    # Only the itemization-date amount: nothing added, nothing taken off.
    ([Posting("itemization", usd(225000))],
     ["$2,250.00", "", "+ $0.00", "+ $0.00", "- $0.00", "$2,250.00"]),
    # NWB-1001 of the demo: interest and fees since the itemization date.
    ([Posting("itemization", usd(225000)), Posting("interest", usd(19519)),
      Posting("fee", usd(3500))],
     ["$2,250.00", "", "+ $195.19", "+ $35.00", "- $0.00", "$2,480.19"]),
    # Payments and credits together on their line, a reversed payment back out of it.
    ([Posting("itemization", usd(90000)), Posting("payment", usd(-7000)),
      Posting("credit", usd(-1000)), Posting("payment", usd(-500)),
      Posting("reversal", usd(500), reverses_kind="payment")],
     ["$900.00", "", "+ $0.00", "+ $0.00", "- $80.00", "$820.00"]),
    # A fee reversed is a smaller fees line.
    ([Posting("itemization", usd(10000)), Posting("fee", usd(1500)),
      Posting("reversal", usd(-1000), reverses_kind="fee")],
     ["$100.00", "", "+ $0.00", "+ $5.00", "- $0.00", "$105.00"]),
])
def test_the_itemization_table_sums_to_the_current_amount(postings, expected):
    (english,) = wording.sections(notice(postings))
    rows = rows_of(english)
    assert [amount for _, amount in rows] == expected
    assert rows[0][0] == "As of May 15, 2026, you owed:"
    assert rows[-1][0] == "Total amount of the debt now:"


@pytest.mark.parametrize(("sent_on", "respond_by"), [
    # Tuesday: receipt the next Tuesday (5 business days), then 30 days.
    (date(2026, 12, 1), date(2027, 1, 7)),
    # Over Christmas: 25 December is no business day (New Year's Day 2027 is a Friday, so
    # 31 December is one).
    (date(2026, 12, 23), date(2027, 1, 30)),
    # Friday before Thanksgiving week: Thanksgiving (26 November) is not a business day.
    (date(2026, 11, 20), date(2026, 12, 30)),
    # Sent on a Saturday: counting starts on Monday.
    (date(2026, 6, 6), date(2026, 7, 12)),
])
def test_the_validation_period_ends_30_days_after_assumed_receipt(sent_on, respond_by):
    letter = notice([Posting("itemization", usd(100))], sent_on=sent_on)
    assert (letter.sent_on, letter.respond_by) == (sent_on, respond_by)
    text = wording.as_text(wording.sections(letter))
    by = f"{respond_by:%B} {respond_by.day}, {respond_by.year}"
    assert f"Call or write to us by {by}, to dispute" in text
    assert f"If you write to us by {by}, we must stop collection" in text
    assert f"If you write by {by}, we must stop collection until" in text


@pytest.mark.parametrize(("language", "country", "titles"), [
    ("en", "US", ["Validation notice"]),
    ("es", "US", ["Validation notice", "Aviso de validación"]),  # English first, then B-2
    ("zh", "US", ["Validation notice"]),
    ("es", "GB", ["Your Northwind Bank account is now with Demo Collections"]),
    ("en", "CN", ["关于您在Northwind Bank账户的催收告知函", "About your Northwind Bank account"]),
])
def test_the_languages_of_each_letter(language, country, titles):
    letter = notice([Posting("itemization", usd(100))], language=language, country=country,
                    currency="USD")
    assert [s.title for s in wording.sections(letter)] == titles
    assert wording.subject(letter) == " / ".join(titles)


def test_the_spanish_notice_carries_the_b2_content_with_spanish_dates_and_amounts():
    letter = notice([Posting("itemization", usd(41055))], language="es")
    english, spanish = wording.sections(letter)
    text = wording.as_text((spanish,))
    assert spanish.language == "es"
    assert "Demo Collections es un cobrador de deudas." in text
    assert "Al 15 de mayo de 2026, usted debía:\t$410.55" in text
    assert "antes del 7 de enero de 2027" in text
    assert "Quiero disputar la deuda porque creo que:" in text
    assert "[ ] Esta no es mi deuda.\n[ ] La cantidad es incorrecta." in text
    assert "www.cfpb.gov/debt-collection" in text
    # The English notice offers the Spanish form (1006.34(d)(3)(vi)) whatever the language.
    assert wording.SPANISH_OFFER in wording.as_text((english,))


def test_the_english_notice_states_every_item_of_model_form_b1():
    text = wording.as_text(wording.sections(notice([Posting("itemization", usd(100))])))
    for part in (
        "Demo Collections is a debt collector. We are trying to collect a debt that you owe to "
        "Northwind Bank.",
        "You had a credit card from Northwind Bank with account number ****1234.",
        "Reference: NWB-1001",
        "You were charged this amount in interest:",
        "You were charged this amount in fees:",
        "You paid or were credited this amount toward the debt:",
        "How can you dispute the debt?",
        "We accept disputes electronically at https://portal.example",
        "name and address of the original creditor",
        "Go to www.cfpb.gov/debt-collection to learn more about your rights under federal law.",
        "# How do you want to respond?",
        "[ ] This is not my debt.\n[ ] The amount is wrong.\n[ ] Other",
        "[ ] I want you to send me the name and address of the original creditor.",
        "[ ] Quiero este formulario en español.",
        "Mail this form to: Demo Collections, 100 Main Street, Suite 400, Springfield, IL 62701",
    ):
        assert part in text, part
    assert "4000123412341234" not in text


@pytest.mark.parametrize(("number", "shown"), [
    ("4000123412341234", "****1234"), ("LL-99887766", "****7766"), ("123", "****"),
    ("1234", "****")])
def test_account_numbers_are_masked_to_their_last_four(number, shown):
    assert masked(number) == shown


def test_the_uk_letter_names_the_agency_the_creditor_free_advice_and_the_ombudsman():
    letter = notice([Posting("itemization", Money(110000, "GBP")),
                     Posting("fee", Money(5000, "GBP"))], country="GB", currency="GBP")
    text = wording.as_text(wording.sections(letter))
    assert "we act on its behalf, and it still owns the debt" in text
    assert "Northwind Bank has asked us to collect this debt for it" in text
    assert "Owed now\t£1,150.00" in text
    for advice in ("MoneyHelper", "StepChange", "National Debtline", "Citizens Advice",
                   "Financial Ombudsman Service"):
        assert advice in text
    assert letter.kind == "first_letter_gb" and not letter.spanish


def test_the_china_letter_states_the_mandate_and_how_to_complain_in_chinese():
    letter = notice([Posting("itemization", Money(1200000, "CNY")),
                     Posting("interest", Money(60000, "CNY"))], country="CN", currency="CNY")
    chinese, english = wording.sections(letter)
    text = wording.as_text((chinese,))
    assert "已书面委托我们" in text and "委托范围" in text
    assert "当前欠款\t¥12,600.00" in text
    assert "投诉" in text and "12378" in text
    assert "instructed us in writing" in wording.as_text((english,))


def test_a_country_without_a_first_letter_is_refused():
    with pytest.raises(ValueError, match="no first letter"):
        notice(country="FR")


@pytest.mark.parametrize(("language", "country", "currency", "sentences"), [
    ("en", "US", "USD", ["To see this account online, go to https://portal.example and sign in "
                         "with the reference DEMO-1001 and your date of birth."]),
    ("es", "US", "USD", ["To see this account online, go to https://portal.example and sign in "
                         "with the reference DEMO-1001 and your date of birth.",
                         "Para ver esta cuenta en línea, visite https://portal.example e inicie "
                         "sesión con la referencia DEMO-1001 y su fecha de nacimiento."]),
    ("en", "GB", "GBP", ["Sign in there with the reference DEMO-1001 and your date of birth."]),
    ("zh", "CN", "CNY", ["登录网上门户时，请使用参考编号 DEMO-1001 和您的出生日期。",
                         "To see this account online, go to https://portal.example and sign in "
                         "with the reference DEMO-1001 and your date of birth."]),
])
def test_each_letter_tells_the_borrower_how_to_sign_in_when_it_has_their_reference(
        language, country, currency, sentences):
    """A newly placed borrower learns their sign-in reference from the first letter, in each
    of its languages; without one to give, the letter says nothing of it."""
    def texts(letter):
        return [b.text for s in wording.sections(letter) for b in s.blocks if b.kind == "text"]

    given = notice(language=language, country=country, currency=currency)
    letter = first_letter(
        country=country, collector=AGENCY, consumer=ALEX, reference="NWB-1001",
        creditor="Northwind Bank", account_number="4000123412341234", product="Credit card",
        itemization_date=date(2026, 5, 15), itemization=itemize([], currency),
        sent_on=date(2026, 12, 1), portal_url="https://portal.example", language=language,
        sign_in_reference="DEMO-1001")
    assert [t for t in texts(letter) if "DEMO-1001" in t] == sentences
    assert not [t for t in texts(given) if "sign in" in t.lower() or "登录" in t]
