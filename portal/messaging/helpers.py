"""Messages to someone helping a borrower: not the borrower, so not a contact with them (no
contact attempt, no rules about contacting the borrower), written in the borrower's language."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.contact.rulebook import Purpose
from portal.identity.helper_sign_in import issue_helper_code
from portal.identity.helpers import HelperGrant
from portal.messaging import messages
from portal.messaging import service as delivery
from portal.messaging.messages import Message
from portal.messaging.render import render
from portal.operations import Refused, operation
from portal.web.i18n import LANGUAGES


def tell_helper(grant: HelperGrant, message: Message, *, to: str | None = None) -> None:
    """Queue `message` to the helper's email in the caller's transaction (in demo mode, captured
    at /dev/messages)."""
    borrower = grant.borrower
    locale = LANGUAGES.get(borrower.preferred_language, "en")
    with force_locale(locale):
        words = render(message.words(locale), message.purpose, "email",
                       current_app.config["PUBLIC_URL"])
    delivery.send(channel="email", destination=to or grant.email, subject=words.subject,
                  body=words.text, html=words.html, language=locale, kind=message.kind,
                  borrower_id=borrower.id, urgent=message.purpose == Purpose.ACCESS,
                  purpose=message.purpose)


@operation
def send_helper_code(email: str) -> int:
    """A sign-in code to a helper's email, if that email holds any access (the same answer
    either way); the code row's id, for the next step."""
    issued = issue_helper_code(email)
    if issued.grant is not None:
        try:
            tell_helper(issued.grant, messages.sign_in_code(issued.code), to=issued.email)
        except delivery.DeliveryUnavailable as unavailable:
            raise Refused(_("We could not send your code just now. Try again in a few "
                            "minutes."), status=503) from unavailable
    return issued.code_id
