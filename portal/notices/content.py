"""What a first letter says, as facts: one pure model that the PDF letter, the email and the
borrower's account page all render, so the borrower reads the same notice everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from portal.accounts import validation
from portal.accounts.itemization import Itemization

#: The letter each creditor country gets first (the message kind, kept with the letter).
KINDS = {"US": "validation_notice", "GB": "first_letter_gb", "CN": "first_letter_cn"}


@dataclass(frozen=True)
class Party:
    """A name and the mailing address's lines, in the order the post reads them."""

    name: str
    address: tuple[str, ...]


@dataclass(frozen=True)
class FirstLetter:
    """The facts of a first letter: the 12 CFR 1006.34(c) validation information for the US,
    and the subset the UK and China letters state."""

    kind: str
    collector: Party
    consumer: Party
    #: The agency's reference, which the borrower signs in and writes to us with.
    reference: str
    #: The creditor on the itemization date (1006.34(c)(2)(ii)) and the one owed now.
    creditor_on_itemization_date: str
    current_creditor: str
    #: The creditor's account number, masked to its last four (1006.34(c)(2)(iii)).
    account_number: str
    product: str
    itemization_date: date
    itemization: Itemization
    #: When the notice is sent, and the last day of the validation period it opens.
    sent_on: date
    respond_by: date
    #: Where the borrower disputes, asks for the original creditor, pays, online.
    portal_url: str
    #: The borrower reads Spanish: the B-2 translation follows the English notice.
    spanish: bool = False
    #: The borrower's own sign-in reference (with their date of birth, at `portal_url`): how a
    #: newly placed borrower learns it; empty where none is given.
    sign_in_reference: str = ""


def masked(number: str) -> str:
    """An account number as the notice prints it: its last four, the rest hidden."""
    return "****" + number[-4:] if len(number) > 4 else "****"


def first_letter(*, country: str, collector: Party, consumer: Party, reference: str,
                 creditor: str, account_number: str, product: str, itemization_date: date,
                 itemization: Itemization, sent_on: date, portal_url: str,
                 language: str = "en", original_creditor: str | None = None,
                 sign_in_reference: str = "") -> FirstLetter:
    """The first letter for an account of a creditor in `country` (US, GB or CN), sent on
    `sent_on`: the validation period ends as 1006.34(b)(5) counts it from that day."""
    if country not in KINDS:
        raise ValueError(f"no first letter for creditor country {country!r}")
    return FirstLetter(
        kind=KINDS[country], collector=collector, consumer=consumer, reference=reference,
        creditor_on_itemization_date=original_creditor or creditor, current_creditor=creditor,
        account_number=masked(account_number), product=product,
        itemization_date=itemization_date, itemization=itemization, sent_on=sent_on,
        respond_by=validation.period_end(sent_on), portal_url=portal_url,
        spanish=country == "US" and language == "es", sign_in_reference=sign_in_reference)
