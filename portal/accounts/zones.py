"""Which time zones a borrower may be in when reached at a contact point. Pure.

A US state that spans two zones gives both, so a contact window judged in "every zone the
borrower may be in" stays lawful wherever in the state they are.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import timezone as phone_timezone

E, C, M, P = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
US_STATES: dict[str, tuple[str, ...]] = {
    "AL": (C,), "AK": ("America/Anchorage", "America/Adak"), "AZ": ("America/Phoenix", M),
    "AR": (C,), "CA": (P,), "CO": (M,), "CT": (E,), "DE": (E,), "DC": (E,),
    "FL": (E, C), "GA": (E,), "HI": ("Pacific/Honolulu",), "ID": (M, P), "IL": (C,),
    "IN": ("America/Indiana/Indianapolis", C), "IA": (C,), "KS": (C, M), "KY": (E, C),
    "LA": (C,), "ME": (E,), "MD": (E,), "MA": (E,), "MI": ("America/Detroit", C), "MN": (C,),
    "MS": (C,), "MO": (C,), "MT": (M,), "NE": (C, M), "NV": (P, M), "NH": (E,), "NJ": (E,),
    "NM": (M,), "NY": (E,), "NC": (E,), "ND": (C, M), "OH": (E,), "OK": (C,), "OR": (P, M),
    "PA": (E,), "RI": (E,), "SC": (E,), "SD": (C, M), "TN": (C, E), "TX": (C, M), "UT": (M,),
    "VT": (E,), "VA": (E,), "WA": (P,), "WV": (E,), "WI": (C,), "WY": (M,),
    "PR": ("America/Puerto_Rico",), "GU": ("Pacific/Guam",), "VI": ("America/St_Thomas",),
}
COUNTRIES: dict[str, tuple[str, ...]] = {
    "GB": ("Europe/London",),
    "CN": ("Asia/Shanghai",),
}
#: Every zone of every state and territory above (Hawaii, Alaska with the Aleutians, Puerto Rico,
#: Guam, the US Virgin Islands): where a US borrower with no known location may be (12 CFR
#: 1006.6(b)(1)(i) and its commentary: a time convenient in every one of them, never UTC).
US_EVERYWHERE: tuple[str, ...] = tuple(sorted({z for zones in US_STATES.values() for z in zones}))


def jurisdiction(address) -> tuple[str, str | None]:
    """(country, US state) whose rules apply, from the mailing address (None: the US, no state)."""
    if address is None:
        return "US", None
    return address.country, address.region if address.country == "US" else None


def everywhere(country: str) -> tuple[str, ...]:
    """Every zone a borrower of this country may be in when nothing tells us where they are."""
    if country == "US":
        return US_EVERYWHERE
    return COUNTRIES.get(country, ())


class UnknownZone(ValueError):
    """We cannot tell where this contact point is; the caller must not guess."""


def for_address(country: str, region: str | None) -> list[str]:
    if country == "US":
        zones = US_STATES.get((region or "").upper())
        if zones is None:
            raise UnknownZone(f"unknown US state {region!r}")
        return list(zones)
    if country in COUNTRIES:
        return list(COUNTRIES[country])
    raise UnknownZone(f"no time zone table for country {country!r}")


def for_phone(e164: str) -> list[str]:
    """Zones of the number's area code; every zone of its country if the code does not tell."""
    number = phonenumbers.parse(e164, None)
    if not phonenumbers.is_valid_number(number):
        raise UnknownZone("not a valid phone number")
    return for_number(number)


def for_number(number: phonenumbers.PhoneNumber) -> list[str]:
    """`for_phone` of a number already parsed and found valid (parsing and validating are most
    of the cost, and a placement file's numbers are checked already)."""
    zones = [z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    if not zones:
        raise UnknownZone("no time zone for this number")
    return sorted(zones)


def normalise_phone(text: str, region: str | None = None) -> str:
    """E.164 form of a phone number typed in any common format."""
    number = phonenumbers.parse(text, region)
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_and_zones(text: str, region: str | None = None) -> tuple[str, list[str]]:
    """E.164 form and `for_phone`'s zones of a number typed in any common format, parsed and
    validated once (ValueError if not valid; UnknownZone if no zone)."""
    number = phonenumbers.parse(text, region)
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            for_number(number))
