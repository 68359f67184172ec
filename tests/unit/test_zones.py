"""Time zones of contact points: every zone the borrower may be in."""

import pytest

from portal.accounts import zones


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+12135550147", ["America/Los_Angeles"]),  # Alex's Los Angeles mobile
        ("+16175550199", ["America/New_York"]),
        ("+8613800138000", ["Asia/Shanghai"]),
        # UK mobiles: four zones, all on the same clock.
        ("+447911123456", ["Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey",
                           "Europe/London"]),
    ],
)
def test_phone_zones(number, expected):
    assert zones.for_phone(number) == expected


@pytest.mark.parametrize(
    ("country", "region", "expected"),
    [
        ("US", "NY", ["America/New_York"]),
        ("US", "tx", ["America/Chicago", "America/Denver"]),  # El Paso is on Mountain time
        ("GB", None, ["Europe/London"]),
        ("CN", "BJ", ["Asia/Shanghai"]),
    ],
)
def test_address_zones(country, region, expected):
    assert zones.for_address(country, region) == expected


@pytest.mark.parametrize(("country", "region"), [("US", "ZZ"), ("FR", None)])
def test_unknown_places_are_refused_not_guessed(country, region):
    with pytest.raises(zones.UnknownZone):
        zones.for_address(country, region)


def test_invalid_number_is_refused():
    # The Ofcom drama range is not a real number.
    with pytest.raises(zones.UnknownZone):
        zones.for_phone("+447700900123")


def test_normalise_phone():
    assert zones.normalise_phone("+1 (213) 555-0147") == "+12135550147"
    assert zones.normalise_phone("07911 123456", "GB") == "+447911123456"
