"""Money: exact minor units, one currency at a time, formatted per locale."""

import pytest

from portal.money import Money, MoneyError, total


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("2480.19", "USD", 248019),
        ("0.1", "USD", 10),
        ("12600.00", "CNY", 1260000),
        ("1150", "GBP", 115000),
        ("500", "JPY", 500),
        (" 830.00 ", "USD", 83000),
        ("-70.00", "USD", -7000),
    ],
)
def test_parse_is_exact(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [("1.005", "USD"), ("1.5", "JPY"), ("abc", "USD"), ("NaN", "USD"), ("Infinity", "USD"),
     ("", "USD")],
)
def test_parse_refuses_what_it_cannot_hold_exactly(text, currency):
    with pytest.raises(MoneyError):
        Money.parse(text, currency)


def test_no_floats_and_no_mixing():
    with pytest.raises(MoneyError):
        Money(1.5, "USD")
    with pytest.raises(MoneyError):
        Money(100, "usd")
    with pytest.raises(MoneyError):
        Money(100, "USD") + Money(100, "GBP")


def test_arithmetic_and_total():
    assert Money(248019, "USD") - Money(7000, "USD") == Money(241019, "USD")
    assert total([Money(1, "USD"), Money(2, "USD")], "USD") == Money(3, "USD")
    assert total([], "CNY") == Money(0, "CNY")
    assert -Money(5, "GBP") == Money(-5, "GBP")


@pytest.mark.parametrize(
    ("money", "locale", "shown"),
    [
        (Money(248019, "USD"), "en", "$2,480.19"),
        (Money(248019, "USD"), "es", "2.480,19\xa0US$"),
        (Money(1260000, "CNY"), "zh_Hans_CN", "¥12,600.00"),
        (Money(115000, "GBP"), "en", "£1,150.00"),
    ],
)
def test_format_per_locale(money, locale, shown):
    assert money.format(locale) == shown


@pytest.mark.parametrize("locale", ["en", "es_US", "es", "zh_Hans_CN", "zh", "en_GB", "de",
                                    "ar_EG", "fa", "hi_IN"])
@pytest.mark.parametrize("currency", ["USD", "GBP", "CNY", "JPY", "EUR", "BHD", "INR"])
def test_remembered_format_is_babels_every_time(locale, currency):
    """Formats are remembered (an account page writes the same amounts many times), and amounts
    of one shape are written from Babel's format of that shape: asked twice, for amounts of every
    length and sign and differing by a unit, each is exactly Babel's own."""
    from babel.numbers import format_currency

    amounts = [0, 1, -1, 9, 10, 99, 100, 248019, 248020, 10**12, -10**12, 1234567890123]
    amounts += [sign * int("9876543210"[:n]) for n in range(1, 11) for sign in (1, -1)]
    for minor in amounts:
        money = Money(minor, currency)
        for _ in range(2):
            assert money.format(locale) == format_currency(money.decimal, currency, locale=locale)
