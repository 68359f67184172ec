"""/dev/messages: what the portal would have sent, newest first. Registered in demo mode only."""

from flask import Blueprint, render_template

from portal.messaging.service import recent
from portal.web.access import public

bp = Blueprint("dev_messages", __name__)


@bp.get("/dev/messages")
@public
def messages():
    return render_template("messaging/dev_messages.html", messages=recent())
