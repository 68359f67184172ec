"""Which hold a dispute starts, and how a dispute's status may move. Pure."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from portal.lifecycle import Lifecycle

#: The reasons as borrowers say them (the form's choices, in this order).
REASONS = ("not_mine", "identity_theft", "already_paid", "wrong_amount", "dont_recognise",
           "other")
#: Open longer than this and the queue flags it (Regulation F sets no deadline once collection
#: has stopped, but an answer a month on is what agencies hold themselves to).
OVERDUE_DAYS = 30


class DisputeStatus(StrEnum):
    #: Written down; collection paused where the rules say so.
    RECEIVED = "received"
    #: A member of staff is looking at it (documents may have been asked of the creditor).
    UNDER_REVIEW = "under_review"
    #: Verification (proof of the debt) was sent to the borrower: the dispute hold is lifted.
    VERIFICATION_SENT = "verification_sent"
    #: Decided: upheld (the account adjusted or closed) or not upheld (with the reason).
    RESOLVED = "resolved"
    #: The borrower withdrew it.
    WITHDRAWN = "withdrawn"


D = DisputeStatus
DISPUTE = Lifecycle("dispute", DisputeStatus, {
    D.RECEIVED: {D.UNDER_REVIEW, D.VERIFICATION_SENT, D.RESOLVED, D.WITHDRAWN},
    D.UNDER_REVIEW: {D.VERIFICATION_SENT, D.RESOLVED, D.WITHDRAWN},
    D.VERIFICATION_SENT: {D.RESOLVED, D.WITHDRAWN},
    D.RESOLVED: set(),
    D.WITHDRAWN: set(),
})
OPEN = frozenset({D.RECEIVED, D.UNDER_REVIEW, D.VERIFICATION_SENT})


def hold_rules(jurisdiction: str, reasons: frozenset[str] | set[str], within_validation: bool,
               outside_policy_on: bool = True) -> dict[str, str]:
    """The holds a new dispute starts: {'dispute': rule} lifted by verification, and
    {'identity-theft': rule} lifted only when the review concludes. Empty: no hold."""
    holds: dict[str, str] = {}
    if jurisdiction == "US":
        if within_validation:
            holds["dispute"] = "us.dispute-pending-verification"
        elif outside_policy_on:
            holds["dispute"] = "policy.dispute-outside-validation"
        if "identity_theft" in reasons:
            holds["identity-theft"] = "us.identity-theft"
    elif jurisdiction == "GB":
        holds["dispute"] = "uk.dispute"
    elif outside_policy_on:
        holds["dispute"] = "policy.dispute-outside-validation"
    return holds


def days_open(opened: date, today: date) -> int:
    return (today - opened).days


def overdue(opened: date, today: date) -> bool:
    return days_open(opened, today) > OVERDUE_DAYS
