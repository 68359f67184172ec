"""Sending the outgoing queue: one due message at a time, each in its own transaction.

1. claim it with `SELECT ... FOR UPDATE SKIP LOCKED` (urgent ones first): any number of workers
   never hold the same message, and one that dies mid-send releases it with its connection;
2. hand its Envelope (named by the message's id, the adapter's idempotency key) to its channel's
   adapter;
3. commit what happened: Sent (status, provider, reference), or Transient (due again after a
   wait, given up after MAX_TRIES), or Permanent (failed for good at once, the contact point
   marked).

A message is sent once: its row stays locked until the Sent is committed. Only a worker dying
between the provider's answer and that commit sends it again, with the same Message-ID.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formataddr, parseaddr

from flask import current_app
from sqlalchemy import select

from portal.agency.models import Agency
from portal.extensions import db
from portal.messaging.channels import adapter_for
from portal.messaging.envelope import Envelope, Permanent, Transient
from portal.messaging.models import OutgoingMessage, OutgoingStatus
from portal.messaging.settle import fail_for_good, retry_or_fail
from portal.operations import operation

log = logging.getLogger("portal.messaging")


@dataclass(frozen=True)
class Result:
    """What one try of one message came to (no content, no address: it is logged)."""

    message_id: int
    status: str
    error: str | None = None


def _claim(now: datetime) -> OutgoingMessage | None:
    """The next due message no other worker holds, locked: urgent first, then the oldest due.
    Two index scans of ix_outgoing_due (one per urgency), never a sort of the backlog."""
    for urgent in (True, False):
        message = db.session.scalar(
            select(OutgoingMessage)
            .where(OutgoingMessage.status == OutgoingStatus.QUEUED,
                   OutgoingMessage.urgent.is_(urgent), OutgoingMessage.next_try_at <= now)
            .order_by(OutgoingMessage.next_try_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True))
        if message is not None:
            return message
    return None


class Senders:
    """Each agency's identity on each channel, read once per batch."""

    def __init__(self, mail_from: str):
        self.mail_from = mail_from
        self._agencies: dict[int, tuple[str, str | None, str | None, str | None]] = {}

    def _agency(self, agency_id: int):
        if agency_id not in self._agencies:
            agency = db.session.get(Agency, agency_id)
            self._agencies[agency_id] = (agency.name, agency.email_from, agency.sms_sender,
                                         agency.postal_address)
        return self._agencies[agency_id]

    def of(self, message: OutgoingMessage) -> str:
        if message.agency_id is None:
            return self.mail_from if message.channel == "email" else ""
        name, email_from, sms_sender, postal_address = self._agency(message.agency_id)
        if message.channel == "email":
            return formataddr((name, email_from or parseaddr(self.mail_from)[1]))
        return (sms_sender if message.channel == "sms" else postal_address) or ""


def envelope_of(message: OutgoingMessage, sender: str) -> Envelope:
    return Envelope(id=message.id, channel=message.channel, to=message.destination,
                    sender=sender, subject=message.subject, text=message.text, html=message.html,
                    language=message.language, kind=message.kind,
                    unsubscribe=message.unsubscribe)


@operation
def send_one(senders: Senders | None = None, now: datetime | None = None) -> Result | None:
    """Try the next due message once and commit what happened; None when nothing is due."""
    now = now or datetime.now(UTC)
    message = _claim(now)
    if message is None:
        return None
    senders = senders or Senders(current_app.config["MAIL_FROM"])
    adapter = adapter_for(message.channel, current_app._get_current_object())
    message.tries += 1
    try:
        if adapter is None:
            raise Transient(f"no {message.channel} adapter configured")
        sent = adapter.send(envelope_of(message, senders.of(message)))
    except Permanent as refused:
        fail_for_good(message, refused.code, refused.reason, now)
    except Transient as failure:
        retry_or_fail(message, failure.reason, now)
    except Exception as failure:  # noqa: BLE001 - an adapter's bug is retried, never a lost message
        log.exception("outgoing message %s: the %s adapter failed", message.id, message.channel)
        retry_or_fail(message, type(failure).__name__, now)
    else:
        message.status = OutgoingStatus.SENT
        message.provider, message.provider_ref = sent.provider, sent.provider_ref
        message.sent_at = now
        message.error = message.error_code = None
    result = Result(message.id, message.status, message.error)
    level = logging.INFO if result.status == OutgoingStatus.SENT else logging.WARNING
    log.log(level, "outgoing message %s (%s, %s) try %s: %s %s", message.id, message.channel,
            message.kind, message.tries, result.status, result.error or "")
    return result


def send_due(*, limit: int = 500, should_stop=lambda: False) -> list[Result]:
    """Send up to `limit` due messages, one transaction each; then close kept connections."""
    senders = Senders(current_app.config["MAIL_FROM"])
    results: list[Result] = []
    try:
        while len(results) < limit and not should_stop():
            result = send_one(senders)
            if result is None:
                break
            results.append(result)
    finally:
        close_adapters()
    return results


def close_adapters() -> None:
    """Let go of this thread's kept connections (SMTP), between batches."""
    for channel in ("email", "sms", "letter"):
        adapter = adapter_for(channel, current_app._get_current_object())
        close = getattr(adapter, "close", None)
        if close is not None:
            close()


def due_count(*, at_most: int, now: datetime | None = None) -> int:
    """How many messages are due, counting no further than `at_most`."""
    now = now or datetime.now(UTC)
    return len(db.session.scalars(
        select(OutgoingMessage.id)
        .where(OutgoingMessage.status == OutgoingStatus.QUEUED,
               OutgoingMessage.next_try_at <= now)
        .limit(at_most)).all())
