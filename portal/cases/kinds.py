"""Every way an account's case record can change: the one documented list of case-event kinds.

A reader who wants to know what can happen to an account reads this file. Later capabilities
(payments, plans, disputes, contact) add their kinds here, never ad hoc strings elsewhere.
"""

from enum import StrEnum


class EventKind(StrEnum):
    #: The account was placed with the agency (placement import or demo seed).
    ACCOUNT_PLACED = "account.placed"
    #: A ledger entry was posted (itemization, interest, fee, payment, credit, reversal).
    LEDGER_POSTED = "ledger.posted"
    #: The validation notice (Regulation F 1006.34) was sent.
    VALIDATION_NOTICE_SENT = "validation_notice.sent"
    #: A borrower asked for a one-time sign-in code (destination masked in the data).
    SIGN_IN_CODE_SENT = "borrower.sign_in_code_sent"
    #: A borrower finished signing in.
    SIGNED_IN = "borrower.signed_in"
    #: A borrower signed out.
    SIGNED_OUT = "borrower.signed_out"
    #: A borrower's session ended after 15 minutes without activity.
    SESSION_EXPIRED = "borrower.session_expired"
    #: A staff member opened a view that shows this borrower's personal data.
    STAFF_VIEWED = "staff.viewed_personal_data"


ACTOR_TYPES = ("borrower", "staff", "system", "partner")
