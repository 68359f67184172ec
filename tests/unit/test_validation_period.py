"""Validation period: receipt assumed 5 business days after sending, then 30 days."""

from datetime import date

import pytest

from portal.accounts.validation import assumed_receipt, federal_holidays, in_period, period_end


@pytest.mark.parametrize(
    ("sent", "receipt", "end"),
    [
        # Monday 2 Nov 2026: Tue-Fri + Mon, but Wed 11 Nov (Veterans Day) is not counted.
        (date(2026, 11, 2), date(2026, 11, 9), date(2026, 12, 9)),
        # Friday 20 Nov 2026: Mon 23, Tue 24, Wed 25, (Thanksgiving 26 skipped), Fri 27, Mon 30.
        (date(2026, 11, 20), date(2026, 11, 30), date(2026, 12, 30)),
        # Sent on a Saturday: the weekend does not count.
        (date(2026, 11, 28), date(2026, 12, 4), date(2027, 1, 3)),
        # Christmas (Fri 25 Dec 2026) is skipped: Thu 24, Mon 28, Tue 29, Wed 30, Thu 31.
        (date(2026, 12, 23), date(2026, 12, 31), date(2027, 1, 30)),
    ],
)
def test_period_end(sent, receipt, end):
    assert assumed_receipt(sent) == receipt
    assert period_end(sent) == end


@pytest.mark.parametrize(
    ("year", "holiday"),
    [
        (2026, date(2026, 7, 3)),  # Independence Day (Saturday) observed Friday
        (2026, date(2026, 11, 26)),  # Thanksgiving
        (2027, date(2027, 12, 24)),  # Christmas (Saturday) observed Friday
        (2027, date(2027, 12, 31)),  # New Year's Day 2028 (Saturday) observed Friday
        (2026, date(2026, 6, 19)),  # Juneteenth
        (2026, date(2026, 1, 19)),  # Martin Luther King Jr. Day
        (2026, date(2026, 5, 25)),  # Memorial Day
    ],
)
def test_federal_holidays(year, holiday):
    assert holiday in federal_holidays(year)


def test_in_period_is_inclusive_of_the_last_day():
    sent = date(2026, 11, 2)
    assert in_period(sent, date(2026, 12, 9))
    assert not in_period(sent, date(2026, 12, 10))
    assert not in_period(None, date(2026, 12, 1))
