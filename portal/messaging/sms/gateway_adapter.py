"""Texts through a generic HTTP gateway: a JSON POST signed like our webhooks (outbox/signing),
answered with the gateway's own id. The second adapter, so the seam is not Twilio's shape."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from portal.messaging.envelope import Envelope, Permanent, Sent, Transient
from portal.messaging.sms.rules import without_numbers
from portal.outbox.signing import HEADER, sign

STATUS_PATH = "/hooks/sms/gateway/status"


class GatewayAdapter:
    """POST {id, to, from, text} to the gateway's URL; it answers {"id": its reference}."""

    name = "gateway"

    def __init__(self, url: str, secret: str, *, sender: str | None,
                 status_callback: str | None = None, timeout: float = 10.0):
        self.url, self.secret, self.sender = url, secret, sender
        self.status_callback, self.timeout = status_callback, timeout

    def send(self, envelope: Envelope) -> Sent:
        body = json.dumps({"id": str(envelope.id), "to": envelope.to,
                           "from": envelope.sender or self.sender, "text": envelope.text,
                           "status_callback": self.status_callback}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json",
            HEADER: sign(self.secret, int(time.time()), body),
            # The message's id, so a gateway that deduplicates never sends a retry twice.
            "Idempotency-Key": f"outgoing-{envelope.id}",
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = json.loads(response.read(64 * 1024) or b"{}")
        except urllib.error.HTTPError as exc:
            reason = _reason(exc)
            if exc.code == 429 or exc.code >= 500:
                raise Transient(f"gateway HTTP {exc.code}: {reason}"[:300]) from None
            raise Permanent(str(exc.code), reason) from None
        except (OSError, ValueError) as exc:  # refused, timed out, reset; or not JSON
            raise Transient(f"gateway unreachable: {type(exc).__name__}") from None
        reference = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(reference, str) or not reference:
            raise Transient("gateway answered without an id")
        return Sent(self.name, reference[:100])


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        said = json.loads(error.read(8 * 1024) or b"{}")
    except ValueError:
        said = {}
    text = said.get("error") if isinstance(said, dict) else None
    return without_numbers(str(text or error.reason or f"HTTP {error.code}"))[:300]
