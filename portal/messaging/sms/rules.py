"""What a text provider's answers and a borrower's replies mean: pure, so each row is tested in a
table (keywords carriers expect; Twilio's error codes; delivery statuses)."""

from __future__ import annotations

import re

from portal.messaging.envelope import Permanent, Transient

#: Replies that opt the number out (the whole message, trimmed, any case): the carriers' list
#: (CTIA), with the Chinese and Spanish words borrowers use.
OPT_OUT = frozenset({"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT",
                     "CANCEL", "退订", "BAJA"})
#: Replies that opt it back in.
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
#: Replies asking who is writing.
HELP = frozenset({"HELP", "INFO"})

#: Twilio error codes that never succeed on a retry, with what they mean for staff.
PERMANENT_CODES = {
    "21211": "invalid 'To' phone number",
    "21614": "'To' number is not a mobile number that can receive texts",
    "21610": "the recipient has replied STOP to this sender",
    "30003": "unreachable destination handset",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "carrier filtered the message",
    "30460": "carrier refused: third-party debt collection is not allowed on toll-free numbers",
    "30943": "carrier refused: third-party debt collection is not allowed on 10DLC numbers",
}
#: Delivery statuses of a status callback, as the outcome `settle` takes (others are steps on
#: the way and settle nothing).
DELIVERY_OUTCOMES = {
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed_permanent",
    "failed": "failed_permanent",
}


#: A phone number inside a provider's words (Twilio names the number it refused).
_NUMBER = re.compile(r"[+(]?\d[\d ().-]{5,}\d")


def without_numbers(words: str) -> str:
    """A provider's words fit to keep in plain text and logs: no phone number in them."""
    return _NUMBER.sub("[number]", words)


def keyword(text: str | None) -> str | None:
    """"stop", "start" or "help" when the whole reply is such a keyword, else None."""
    word = (text or "").strip().upper()
    if word in OPT_OUT:
        return "stop"
    if word in OPT_IN:
        return "start"
    if word in HELP:
        return "help"
    return None


def api_failure(status: int | None, code: int | str | None,
                message: str | None) -> Permanent | Transient:
    """Twilio's refusal of a send, as the queue acts on it: a rate limit or a server error may
    pass; a known permanent code or any other 4xx will not, and says why in Twilio's words."""
    code = str(code) if code is not None else None
    reason = without_numbers(message or PERMANENT_CODES.get(code or "") or f"HTTP {status}")[:300]
    if code in PERMANENT_CODES:
        return Permanent(code, reason)
    if status is None or status == 429 or status >= 500:
        return Transient(f"twilio {code or status}: {reason}"[:300])
    return Permanent(code or str(status), reason)


def delivery_outcome(status: str | None, error_code: str | None) -> tuple[str, str | None,
                                                                           str | None] | None:
    """(outcome, error code, reason) of a delivery report, or None when it settles nothing."""
    outcome = DELIVERY_OUTCOMES.get((status or "").strip().lower())
    if outcome is None:
        return None
    if outcome == "delivered":
        return outcome, None, None
    code = (error_code or "").strip() or None
    return outcome, code, PERMANENT_CODES.get(code or "", f"provider error {code}" if code
                                              else "not delivered")
