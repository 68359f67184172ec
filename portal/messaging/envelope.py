"""What a delivery adapter is handed and what it answers: the seam between the outgoing queue and
SMTP, an SMS provider or a print vendor. Pure, so adapters and the queue agree exactly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

#: The channels a message can leave by.
CHANNELS = ("email", "sms", "letter")


@dataclass(frozen=True)
class Envelope:
    """One message ready to leave: rendered, addressed, and named by its outgoing id."""

    #: The outgoing message's id: the idempotency key an adapter passes to its provider, so a
    #: retry after a crash never sends twice where the provider honours it.
    id: int
    channel: str
    #: Email address, E.164 number, or the postal address's lines joined by newlines.
    to: str
    #: The agency's identity on this channel: "Name <address>", a sender number or id, or the
    #: return address of a letter.
    sender: str
    subject: str
    text: str
    #: The HTML alternative of an email; None for texts and letters.
    html: str | None
    #: The language the words are in (en, es, zh_Hans).
    language: str
    kind: str
    #: Where the borrower opts out of messages like this one (collection: 12 CFR 1006.6(e));
    #: email carries it as List-Unsubscribe. None when the message needs none (a sign-in code).
    unsubscribe: str | None = None


@dataclass(frozen=True)
class Sent:
    """The provider took the message: its name, and its own id for later delivery reports."""

    provider: str
    provider_ref: str | None = None


class Permanent(Exception):  # noqa: N818 - a failure's kind, named as the queue speaks of it
    """The provider refused for good (a bounce, an invalid number, a carrier's refusal): never
    retried; the destination is marked and staff see why."""

    def __init__(self, code: str, reason: str):
        super().__init__(code)
        self.code = code
        self.reason = reason


class Transient(Exception):  # noqa: N818
    """It may work later (a timeout, a 5xx, a rate limit): retried with backoff."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Adapter(Protocol):
    """A way out for one channel. `send` blocks until the provider answered."""

    name: str

    def send(self, envelope: Envelope) -> Sent: ...
