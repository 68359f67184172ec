"""Regulation F itemization: itemization-date amount + interest + fees − payments = balance."""

import pytest

from portal.accounts.itemization import Posting, itemize
from portal.money import Money


def usd(minor):
    return Money(minor, "USD")


@pytest.mark.parametrize(
    ("postings", "expected"),
    [
        # NWB-1001 of the demo: nothing paid yet.
        ([Posting("itemization", usd(225000)), Posting("interest", usd(19519)),
          Posting("fee", usd(3500))],
         (225000, 19519, 3500, 0, 248019)),
        # LUM-1001: a payment since the itemization date.
        ([Posting("itemization", usd(90000)), Posting("payment", usd(-7000))],
         (90000, 0, 0, 7000, 83000)),
        # A payment reversed (bounced) goes back into the payments line, not into fees.
        ([Posting("itemization", usd(10000)), Posting("payment", usd(-2500)),
          Posting("reversal", usd(2500), reverses_kind="payment")],
         (10000, 0, 0, 0, 10000)),
        # A fee reversed is a smaller fees line.
        ([Posting("itemization", usd(10000)), Posting("fee", usd(1500)),
          Posting("reversal", usd(-1500), reverses_kind="fee"), Posting("credit", usd(-500))],
         (10000, 0, 0, 500, 9500)),
        ([], (0, 0, 0, 0, 0)),
    ],
)
def test_itemize(postings, expected):
    result = itemize(postings, "USD")
    assert (
        result.on_itemization_date.minor,
        result.interest.minor,
        result.fees.minor,
        result.payments_and_credits.minor,
        result.current_balance.minor,
    ) == expected
    # The lines always add up to the balance.
    assert (result.on_itemization_date + result.interest + result.fees
            - result.payments_and_credits) == result.current_balance


def test_a_reversal_must_say_what_it_reverses():
    with pytest.raises(ValueError):
        itemize([Posting("reversal", usd(100))], "USD")
