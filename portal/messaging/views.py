"""/dev/messages: what the portal would have sent, newest first. Registered in demo mode only."""

from flask import Blueprint, render_template

from portal.identity.rules import mask_email, mask_phone
from portal.messaging.service import recent
from portal.web.access import public

bp = Blueprint("dev_messages", __name__)


@bp.get("/dev/messages")
@public
def messages():
    return render_template("messaging/dev_messages.html", messages=recent(), masked=_masked)


def _masked(channel: str, destination: str) -> str:
    """Even here, an address is shown only as much as a borrower recognises it by."""
    return mask_email(destination) if channel == "email" else mask_phone(destination)
