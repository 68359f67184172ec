"""Texts through Twilio's Messages API with the official `twilio` package; the only module that
talks to Twilio's REST API."""

from __future__ import annotations

import logging

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from portal.messaging.envelope import Envelope, Permanent, Sent, Transient
from portal.messaging.sms import rules

#: twilio's request log names URLs and headers; ours stays at warnings (no numbers in logs).
_quiet = logging.getLogger("portal.messaging.twilio_http")
_quiet.setLevel(logging.WARNING)

STATUS_PATH = "/hooks/sms/twilio/status"


class TwilioAdapter:
    """One Twilio account: a sender number (or a messaging service) and where reports go."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, *, sender: str | None,
                 status_callback: str | None, api_base: str | None = None,
                 timeout: float = 10.0):
        self.sender = sender
        self.status_callback = status_callback
        self.client = Client(account_sid, auth_token,
                             http_client=TwilioHttpClient(timeout=timeout, logger=_quiet))
        if api_base:
            # The Api domain's base URL is an attribute (twilio/base/domain.py): pointing it
            # elsewhere sends every Messages call there, signed the same way.
            self.client.api.base_url = api_base.rstrip("/")

    def send(self, envelope: Envelope) -> Sent:
        sender = envelope.sender or self.sender
        if not sender:
            raise Permanent("no-sender", "no SMS sender configured for this agency")
        origin = ({"messaging_service_sid": sender} if sender.startswith("MG")
                  else {"from_": sender})
        try:
            message = self.client.messages.create(
                to=envelope.to, body=envelope.text, status_callback=self.status_callback,
                **origin)
        except TwilioRestException as exc:
            raise rules.api_failure(exc.status, exc.code, _said(exc.msg)) from None
        except requests.RequestException as exc:
            raise Transient(f"twilio unreachable: {type(exc).__name__}") from None
        except TwilioException as exc:  # an answer not in Twilio's error form
            raise rules.api_failure(getattr(exc, "status", None), getattr(exc, "code", None),
                                    type(exc).__name__) from None
        return Sent(self.name, message.sid)


def _said(message: str | None) -> str | None:
    """Twilio's own words, without the SDK's "Unable to create record: " prefix."""
    if not message:
        return None
    return message.split(": ", 1)[1] if message.startswith("Unable to") else message
