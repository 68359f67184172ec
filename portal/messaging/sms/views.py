"""The SMS providers' calls to us: delivery reports and replies, each checked by its signature
(Twilio's X-Twilio-Signature, the gateway's Portal-Signature) before anything is read or
changed. CSRF-exempt like Stripe's webhook: a provider has no session; its signature is the
proof."""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from portal.extensions import csrf, limiter
from portal.messaging.settle import settle
from portal.messaging.sms import rules
from portal.messaging.sms.inbound import text_received
from portal.outbox.signing import HEADER, verify
from portal.web.access import public

log = logging.getLogger("portal.messaging")
bp = Blueprint("sms_hooks", __name__, url_prefix="/hooks/sms")
#: A provider's burst of reports is large but bounded; junk from one address is cut off.
HOOK_LIMIT = "600 per minute"


def _refused(provider: str) -> tuple[Response, int]:
    log.warning("sms %s hook refused: bad signature", provider)
    return jsonify(error="invalid signature"), 403


def _twilio_signed() -> bool:
    """Twilio signs the URL it called plus the form's fields: behind a proxy the public URL
    is PUBLIC_BASE_URL's, not the one this process sees."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    signature = request.headers.get("X-Twilio-Signature")
    if not token or not signature:
        return False
    base = current_app.config.get("PUBLIC_BASE_URL")
    url = (base.rstrip("/") + request.full_path.rstrip("?")) if base else request.url
    return RequestValidator(token).validate(url, request.form.to_dict(flat=True), signature)


def _gateway_body() -> bytes | None:
    """The gateway's body when its signature holds, else None."""
    secret = current_app.config.get("SMS_GATEWAY_SECRET")
    body = request.get_data(cache=True)
    if not secret or not verify(request.headers.get(HEADER, ""), secret, body):
        return None
    return body


def _settle(provider: str, reference, status, error_code) -> tuple[Response, int]:
    if not isinstance(reference, str) or not reference or not isinstance(status, str):
        return jsonify(error="not a delivery report"), 400
    report = rules.delivery_outcome(status, str(error_code) if error_code else None)
    if report is None:
        return jsonify(settled=False), 200  # queued, sent...: a step on the way
    outcome, code, reason = report
    message = settle(provider, reference, outcome, error_code=code, reason=reason)
    if message is None:
        log.info("sms %s report about a message not ours", provider)
        return jsonify(error="unknown message"), 404
    return jsonify(settled=message.settled_at is not None), 200


@bp.post("/twilio/status")
@limiter.limit(HOOK_LIMIT)
@public
@csrf.exempt
def twilio_status():
    if not _twilio_signed():
        return _refused("twilio")
    form = request.form
    return _settle("twilio", form.get("MessageSid"), form.get("MessageStatus"),
                   form.get("ErrorCode"))


@bp.post("/twilio/inbound")
@limiter.limit(HOOK_LIMIT)
@public
@csrf.exempt
def twilio_inbound():
    if not _twilio_signed():
        return _refused("twilio")
    number, text = request.form.get("From"), request.form.get("Body")
    if not number or text is None:
        return jsonify(error="not a message"), 400
    reply = text_received(number, text, "twilio", current_app.config)
    answer = MessagingResponse()
    if reply:
        answer.message(reply)
    return Response(str(answer), 200, mimetype="text/xml")


@bp.post("/gateway/status")
@limiter.limit(HOOK_LIMIT)
@public
@csrf.exempt
def gateway_status():
    body = _gateway_body()
    if body is None:
        return _refused("gateway")
    report = _json(body)
    if report is None:
        return jsonify(error="not a delivery report"), 400
    return _settle("gateway", report.get("id"), report.get("status"), report.get("error_code"))


@bp.post("/gateway/inbound")
@limiter.limit(HOOK_LIMIT)
@public
@csrf.exempt
def gateway_inbound():
    body = _gateway_body()
    if body is None:
        return _refused("gateway")
    message = _json(body)
    number = message.get("from") if message else None
    text = message.get("text") if message else None
    if not isinstance(number, str) or not number or not isinstance(text, str):
        return jsonify(error="not a message"), 400
    return jsonify(reply=text_received(number, text, "gateway", current_app.config)), 200


def _json(body: bytes) -> dict | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
