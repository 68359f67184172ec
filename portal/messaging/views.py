"""/dev/messages: what the portal would have sent, newest first, letters as the printed PDF.
Registered in demo mode only."""

from datetime import UTC, datetime

from flask import Blueprint, abort, make_response, render_template
from flask_babel import gettext as _

from portal.extensions import db
from portal.identity.rules import mask_email, mask_phone
from portal.messaging import letters
from portal.messaging.envelope import Envelope, Permanent
from portal.messaging.models import CapturedMessage
from portal.messaging.service import recent
from portal.web.access import public

bp = Blueprint("dev_messages", __name__)


@bp.get("/dev/messages")
@public
def messages():
    return render_template("messaging/dev_messages.html", messages=recent(), masked=_masked)


@bp.get("/dev/messages/<int:message_id>/letter.pdf")
@public
def letter(message_id: int):
    """The captured letter as the print vendor would print it (return address: the demo's)."""
    captured = db.session.get(CapturedMessage, message_id)
    if captured is None or captured.channel != "letter":
        abort(404)
    envelope = Envelope(id=captured.id, channel="letter", to=captured.destination,
                        sender="", subject=captured.subject, text=captured.body, html=None,
                        language="en", kind=captured.kind)
    try:
        document, _pages = letters.render(envelope, datetime.now(UTC).date())
    except Permanent:
        abort(404)
    response = make_response(document)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="letter-{captured.id}.pdf"'
    return response


def _masked(channel: str, destination: str) -> str:
    """Even here, an address is shown only as much as a borrower recognises it by."""
    if channel == "letter":
        return _("the postal address on file")
    return mask_email(destination) if channel == "email" else mask_phone(destination)
