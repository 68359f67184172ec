"""Sending a sign-in code: identity issues it, notify sends it, in one transaction.

Identity sits a floor below messaging and so never sends anything itself; this operation, a
floor up, does both steps, so a code that could not be sent is never left issued.
"""

from __future__ import annotations

from flask_babel import gettext as _

from portal.identity import service as identity
from portal.identity.models import OneTimeCode
from portal.messaging import messages
from portal.messaging.notify import notify
from portal.operations import Refused, operation


class CodeNotSent(Refused):
    """The code could not go to the chosen destination; nothing was issued."""

    def __init__(self):
        super().__init__(_("We could not send your code just now. Try again in a few minutes, "
                           "or choose another way to get it."), status=503)


@operation
def send_code(borrower_id: int, contact_point_id: int, source: str | None) -> OneTimeCode:
    """Step 2 of signing in: a fresh code to the contact point the borrower picked."""
    issued = identity.issue_code(borrower_id, contact_point_id, source)
    outcome = notify(issued.borrower, messages.sign_in_code(issued.code),
                     channel=issued.channel, destination=issued.destination)
    if not outcome.sent:
        raise CodeNotSent()
    return issued.otp
