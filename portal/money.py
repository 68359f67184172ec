"""Money as integer minor units with an ISO currency: never a float, never mixed currencies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision


class MoneyError(ValueError):
    """An amount that cannot be represented exactly in its currency."""


@lru_cache(maxsize=512)
def minor_digits(currency: str) -> int:
    """Decimal places of the currency's minor unit (USD 2, JPY 0); remembered, as Babel looks
    it up in its global data on every call (50 µs, five times a letter)."""
    return get_currency_precision(currency)


@dataclass(frozen=True, order=False)
class Money:
    """An exact amount: `minor` units of `currency` (cents, pence, fen)."""

    minor: int
    currency: str

    def __post_init__(self):
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError("amount must be an integer number of minor units")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise MoneyError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Read a decimal string in the major unit ("2480.19"), refusing sub-minor precision."""
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation as exc:
            raise MoneyError(f"not an amount: {text!r}") from exc
        # No amount has 25 digits; an exponent like 1e999999 would overflow the arithmetic.
        if not value.is_finite() or abs(value.adjusted()) > 24:
            raise MoneyError(f"not an amount: {text!r}")
        scaled = value.scaleb(minor_digits(currency))
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{text!r} has more decimals than {currency} allows")
        return cls(int(scaled), currency)

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_digits(self.currency))

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError("can only combine Money with Money")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def format(self, locale: str) -> str:
        """Localised display, e.g. $2,480.19 / 2.480,19 US$ / US$2,480.19."""
        return _formatted(self.minor, self.currency, locale)

    def __str__(self) -> str:
        return f"{self.currency} {self.decimal}"


_DIGITS = frozenset("0123456789")


@lru_cache(maxsize=8192)
def _formatted(minor: int, currency: str, locale: str) -> str:
    """Babel's format_currency, remembered: it re-reads the locale's pattern on every call
    (0.3 ms), and an account page writes the same few amounts a dozen times (bench/web.py).
    Amounts of the same sign and number of digits differ only in their digits, so Babel formats
    one of each shape and the digits are put in its places (a placement chunk's letters write a
    thousand different amounts)."""
    places = minor_digits(currency)
    digits = str(abs(minor)).rjust(places + 1, "0")  # at least one digit before the point
    shape = _shape(len(digits) - places, places, minor < 0, currency, locale)
    if shape is None:
        return format_currency(Money(minor, currency).decimal, currency, locale=locale)
    return shape.format(*digits)


@lru_cache(maxsize=1024)
def _shape(whole: int, places: int, negative: bool, currency: str, locale: str) -> str | None:
    """Babel's format of an amount of `whole` digits before the point, with a `{}` for each
    digit; None when its output does not show exactly those digits in order (a locale with other
    numerals, a symbol with a digit): then Babel formats every amount itself."""
    sample = Decimal(f"{'-' if negative else ''}{'1' * whole}.{'1' * places}")
    text = format_currency(sample, currency, locale=locale)
    shown = [ch for ch in text if ch in _DIGITS]
    if shown != ["1"] * (whole + places):
        return None
    return "".join("{}" if ch in _DIGITS else ch.replace("{", "{{").replace("}", "}}")
                   for ch in text)


def total(amounts, currency: str) -> Money:
    """Sum amounts of one currency; an empty sum is zero in that currency."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
