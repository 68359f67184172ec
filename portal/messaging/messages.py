"""Every message the portal writes to a borrower: one function each, saying what it says.

A function takes the facts its message needs and returns a Message: its kind (kept with the
captured copy), its purpose (what the contact rules judge) and its words. `notify` renders the
words in the borrower's own language: `words(locale)` runs inside that locale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from flask_babel import gettext as _

from portal.contact.rulebook import Purpose
from portal.money import Money


@dataclass(frozen=True)
class Words:
    subject: str
    body: str


@dataclass(frozen=True)
class Message:
    """One message to one borrower, ready to be rendered in their language."""

    kind: str
    purpose: Purpose
    words: Callable[[str], Words]


def _long(on: date, locale: str) -> str:
    return format_date(on, "long", locale=locale)


def sign_in_code(code: str) -> Message:
    def words(locale: str) -> Words:
        return Words(_("Your sign-in code"),
                     _("Your sign-in code is %(code)s. It expires in 10 minutes. "
                       "If you did not ask for it, ignore this message.", code=code))

    return Message("sign_in_code", Purpose.ACCESS, words)


def payment_receipt(number: str, lines: Callable[[str], list[tuple[str, str]]]) -> Message:
    """The receipt's facts come as the labelled lines the receipt page and PDF show too."""

    def words(locale: str) -> Words:
        body = "\n".join(f"{label}: {value}" for label, value in lines(locale))
        body += "\n\n" + _("We never charge a fee for paying online.")
        return Words(_("Your payment receipt %(number)s", number=number), body)

    return Message("payment_receipt", Purpose.REQUESTED, words)


def plan_reminder(plan: str, amount: Money, due_on: date, autopay: bool) -> Message:
    def words(locale: str) -> Words:
        owed, due = amount.format(locale), _long(due_on, locale)
        subject = _("Your plan payment of %(amount)s is due on %(due)s", amount=owed, due=due)
        if autopay:
            return Words(subject, _(
                "We will charge %(amount)s to your saved card on %(due)s for plan %(plan)s. To "
                "change the date or cancel autopay, open your plan in the portal.",
                amount=owed, due=due, plan=plan))
        return Words(subject, _(
            "Please pay %(amount)s by %(due)s for plan %(plan)s: open your plan in the portal "
            "and choose Pay the next installment.", amount=owed, due=due, plan=plan))

    return Message("plan_reminder", Purpose.COLLECTION, words)


def installment_failed(plan: str, amount: Money, due_on: date, retry_on: date) -> Message:
    def words(locale: str) -> Words:
        owed = amount.format(locale)
        return Words(
            _("Your plan payment of %(amount)s did not go through", amount=owed),
            _("We could not take %(amount)s from your card for plan %(plan)s (due %(due)s). We "
              "will try again on %(retry)s. You can also pay it yourself in the portal, or "
              "change the card.", amount=owed, plan=plan, due=_long(due_on, locale),
              retry=_long(retry_on, locale)))

    return Message("plan_installment_failed", Purpose.COLLECTION, words)


def plan_broken(plan: str, amount: Money, due_on: date, grace_days: int) -> Message:
    def words(locale: str) -> Words:
        return Words(
            _("Your payment plan %(plan)s has ended", plan=plan),
            _("The payment of %(amount)s due on %(due)s for plan %(plan)s was not made within "
              "%(days)d days, so the plan has ended. You can propose a new plan in the portal at "
              "any time.", amount=amount.format(locale), due=_long(due_on, locale), plan=plan,
              days=grace_days))

    return Message("plan_broken", Purpose.COLLECTION, words)


def recalled_plans_cancelled(account_ref: str, creditor: str, plans: list[str],
                             contact: str) -> Message:
    """A recall ended the borrower's plans: our efforts end (the one message the recall hold
    lets through), no more payments are taken, and whom to contact now."""

    def words(locale: str) -> Words:
        return Words(
            _("Your account %(account)s has been returned to %(creditor)s",
              account=account_ref, creditor=creditor),
            "\n\n".join((
                _("%(creditor)s has taken account %(account)s back from us. We no longer "
                  "collect it and will not contact you to collect it.", creditor=creditor,
                  account=account_ref),
                _("Your payment plan %(plans)s is cancelled: we will not take any more payments "
                  "for it, including by autopay.", plans=", ".join(plans)),
                _("For anything about this account, contact %(creditor)s: %(contact)s",
                  creditor=creditor, contact=contact),
            )))

    return Message("recalled_plans_cancelled", Purpose.EFFORTS_ENDING, words)


def dispute_received(number: str, account_ref: str) -> Message:
    def words(locale: str) -> Words:
        return Words(
            _("We received your dispute %(number)s", number=number),
            _("We received your dispute %(number)s about account %(account)s. Sign in to the "
              "portal to follow it.", number=number, account=account_ref))

    return Message("dispute_received", Purpose.REQUESTED, words)


def dispute_verification(number: str) -> Message:
    def words(locale: str) -> Words:
        return Words(
            _("Verification for your dispute %(number)s", number=number),
            _("We have sent verification of the debt for your dispute %(number)s. Sign in to "
              "the portal to read it.", number=number))

    return Message("dispute_verification", Purpose.REQUESTED, words)


def dispute_original_creditor(number: str) -> Message:
    def words(locale: str) -> Words:
        return Words(
            _("The original creditor for your dispute %(number)s", number=number),
            _("We have sent the name and address of the original creditor you asked for in "
              "your dispute %(number)s. Sign in to the portal to read them.", number=number))

    return Message("dispute_original_creditor", Purpose.REQUESTED, words)


def staff_message(subject: str, body: str) -> Message:
    """Words a staff member wrote on the case, sent as written: the agency's own step to collect,
    so every rule that stops collection stops it."""

    def words(locale: str) -> Words:
        return Words(subject, body)

    return Message("staff_message", Purpose.COLLECTION, words)


# --- letters: sent by post through a print vendor (notify with channel="letter") ----------------


def dispute_verification_letter(number: str, account_ref: str, creditor: str) -> Message:
    """Verification by mail (12 CFR 1006.38(d)(2)): the letter staff chose instead of the portal."""

    def words(locale: str) -> Words:
        return Words(
            _("Verification of the debt you disputed (%(number)s)", number=number),
            "\n\n".join((
                _("You disputed account %(account)s, placed with us by %(creditor)s, in your "
                  "dispute %(number)s.", account=account_ref, creditor=creditor, number=number),
                _("We have verified the debt with the creditor. The verification document is "
                  "kept with your dispute: sign in to the portal to read it, or write to us at "
                  "the address above for a paper copy."),
                _("If you still believe you do not owe this debt, you may tell us in the portal "
                  "or by writing to us."),
            )))

    return Message("dispute_verification_letter", Purpose.REQUESTED, words)


def dispute_original_creditor_letter(number: str, account_ref: str, details: str) -> Message:
    """The original creditor's name and address by mail (12 CFR 1006.38(c)), as staff gave them."""

    def words(locale: str) -> Words:
        return Words(
            _("The original creditor for your dispute %(number)s", number=number),
            "\n\n".join((
                _("In your dispute %(number)s about account %(account)s you asked for the name "
                  "and address of the original creditor. They are:", number=number,
                  account=account_ref),
                details,
                _("You can also read them in the portal, with your dispute."),
            )))

    return Message("dispute_original_creditor_letter", Purpose.REQUESTED, words)


def notice(kind: str, purpose: Purpose, subject: str, body: str) -> Message:
    """A notice whose words the law fixes in each of its languages (the validation notice and
    its translation, the UK and China first letters): the same whatever the borrower's locale,
    written by portal/notices, laid out by kind (letters.BODIES)."""

    def words(locale: str) -> Words:
        return Words(subject, body)

    return Message(kind, purpose, words)


def helper_invited(borrower_name: str, until: date) -> Message:
    """To the helper a borrower named: who asked, until when, and how to sign in."""

    def words(locale: str) -> Words:
        return Words(_("%(name)s asked you to help with their accounts", name=borrower_name),
                     _("%(name)s gave you access to their accounts with us until %(until)s. "
                       "To sign in, open the portal's page for helpers and enter this email "
                       "address: we will send you a one-time code.", name=borrower_name,
                       until=_long(until, locale)))

    return Message("helper_invited", Purpose.REQUESTED, words)


def correction_answered(corrected: bool) -> Message:
    """The answer to the borrower's own request for a correction of their data."""

    def words(locale: str) -> Words:
        return Words(_("We answered your request for a correction"),
                     _("We corrected the data you asked about. Sign in to see it.") if corrected
                     else _("We looked at your request for a correction and did not change the "
                            "data. Sign in to read why."))

    return Message("correction_answered", Purpose.REQUESTED, words)
