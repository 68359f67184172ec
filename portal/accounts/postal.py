"""A postal address as the lines a letter's window shows, in the order the country's post reads
them: pure, so the letter, the print vendor and the tests agree."""

from __future__ import annotations

from babel import Locale

#: Countries whose post reads the town before the postcode on one line ("City, ST 12345").
_TOWN_FIRST = {"US", "CA", "AU"}
#: Countries whose post wants the town and the postcode on lines of their own.
_TOWN_THEN_POSTCODE_LINE = {"GB", "IE"}


def lines(name: str, line1: str, line2: str | None, city: str | None, region: str | None,
          postal_code: str | None, country: str) -> tuple[str, ...]:
    """The addressee and the address, one line each, the country's English name last (in
    capitals, as the Universal Postal Union asks, so the vendor can post it abroad)."""
    town = " ".join(x for x in (city, region) if x)
    if country in _TOWN_FIRST:
        town_and_state = ", ".join(x for x in (city, region) if x)
        locality = [" ".join(x for x in (town_and_state, postal_code) if x)]
    elif country in _TOWN_THEN_POSTCODE_LINE:
        locality = [x for x in (city, region, postal_code) if x]
    else:
        locality = [" ".join(x for x in (postal_code, town) if x)]
    country_name = Locale("en").territories.get(country, country).upper()
    every = (name, line1, line2, *locality, country_name)
    return tuple(x.strip() for x in every if x and x.strip())


#: Where the post's paper is US Letter, not A4 (by the country line `lines` writes).
_LETTER_PAPER = {Locale("en").territories[c].upper() for c in ("US", "CA", "MX", "PH")}


def paper(address_lines: list[str] | tuple[str, ...]) -> str:
    """The paper size of the addressee's country ("Letter" or "A4"), from its last line."""
    return "Letter" if address_lines and address_lines[-1] in _LETTER_PAPER else "A4"
