"""Sending the outgoing queue: a few due messages leased at a time, each sent and recorded in a
transaction of its own.

1. lease a batch: `SELECT ... FOR UPDATE SKIP LOCKED` (urgent ones first), and in the same short
   transaction push each one's `next_try_at` a lease ahead and count the try: no other worker
   takes them while this one sends, and one that dies lets them fall due again when the lease
   ends;
2. hand each Envelope (named by the message's id, the adapter's idempotency key: the email's
   Message-ID) to its channel's adapter, over the adapter's kept connection;
3. commit what happened, that message alone: Sent (status, provider, reference), Transient (due
   again after a wait; given up after MAX_TRIES) or Permanent (failed for good at once, the
   contact point marked). What the batch could not send in time is handed back at once.

A message is sent once: only a worker dying between the provider's answer and that commit sends
it again, after the lease, with the same Message-ID for the receiving side to drop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formataddr, parseaddr

from flask import current_app
from sqlalchemy import select, update

from portal.agency.models import Agency
from portal.extensions import db
from portal.messaging.channels import adapter_for
from portal.messaging.envelope import Envelope, Permanent, Sent, Transient
from portal.messaging.models import OutgoingMessage, OutgoingStatus
from portal.messaging.settle import fail_for_good, retry_or_fail
from portal.operations import operation

log = logging.getLogger("portal.messaging")

#: How long a leased message is this worker's alone; it sends within half of it.
LEASE = timedelta(seconds=60)
#: Messages leased at once: few, so an urgent one that arrives meanwhile waits little.
LEASE_BATCH = 20


@dataclass(frozen=True)
class Result:
    """What one try of one message came to (no content, no address: it is logged)."""

    message_id: int
    status: str
    error: str | None = None


def _due(now: datetime, urgent: bool, limit: int) -> list[OutgoingMessage]:
    """Due messages of one urgency no other worker holds, locked, oldest due first (an index
    scan of ix_outgoing_due, never a sort of the backlog)."""
    return list(db.session.scalars(
        select(OutgoingMessage)
        .where(OutgoingMessage.status == OutgoingStatus.QUEUED,
               OutgoingMessage.urgent.is_(urgent), OutgoingMessage.next_try_at <= now)
        .order_by(OutgoingMessage.next_try_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)))


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


@dataclass(frozen=True)
class Leased:
    envelope: Envelope
    tries: int


@operation
def lease(senders: Senders, limit: int = LEASE_BATCH) -> list[Leased]:
    """Up to `limit` due messages, urgent first, leased to this worker (module docstring)."""
    now = datetime.now(UTC)
    messages = _due(now, True, limit)
    if len(messages) < limit:
        messages += _due(now, False, limit - len(messages))
    leased = []
    for message in messages:
        message.tries += 1
        message.next_try_at = now + LEASE
        leased.append(Leased(envelope_of(message, senders.of(message)), message.tries))
    return leased


@operation
def hand_back(ids: list[int]) -> None:
    """Leased messages not tried after all: due again now, the try not counted."""
    db.session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.id.in_(ids), OutgoingMessage.status == OutgoingStatus.QUEUED)
        .values(next_try_at=datetime.now(UTC), tries=OutgoingMessage.tries - 1))


@operation
def _failed(message_id: int, failure: Exception) -> Result:
    """Record a failed try (rare: the ORM and the case record), in its own transaction."""
    now = datetime.now(UTC)
    message = db.session.get(OutgoingMessage, message_id, with_for_update=True)
    if isinstance(failure, Permanent):
        fail_for_good(message, failure.code, failure.reason, now)
    elif isinstance(failure, Transient):
        retry_or_fail(message, failure.reason, now)
    else:
        retry_or_fail(message, type(failure).__name__, now)
    return Result(message.id, message.status, message.error)


@operation
def _sent(message_id: int, sent: Sent) -> Result:
    """Record a Sent: one statement, its own transaction."""
    db.session.execute(
        update(OutgoingMessage).where(OutgoingMessage.id == message_id).values(
            status=OutgoingStatus.SENT, provider=sent.provider, provider_ref=sent.provider_ref,
            sent_at=datetime.now(UTC), error=None, error_code=None))
    return Result(message_id, OutgoingStatus.SENT)


def try_one(item: Leased) -> Result:
    """Send one leased message and commit what happened."""
    envelope = item.envelope
    adapter = adapter_for(envelope.channel, current_app._get_current_object())
    try:
        if adapter is None:
            raise Transient(f"no {envelope.channel} adapter configured")
        sent = adapter.send(envelope)
    except (Permanent, Transient) as failure:
        result = _failed(envelope.id, failure)
    except Exception as failure:  # noqa: BLE001 - an adapter's bug is retried, never a lost message
        log.exception("outgoing message %s: the %s adapter failed", envelope.id, envelope.channel)
        result = _failed(envelope.id, failure)
    else:
        result = _sent(envelope.id, sent)
    level = logging.INFO if result.status == OutgoingStatus.SENT else logging.WARNING
    log.log(level, "outgoing message %s (%s, %s) try %s: %s %s", envelope.id, envelope.channel,
            envelope.kind, item.tries, result.status, result.error or "")
    return result


def send_due(*, limit: int = 500, should_stop=lambda: False) -> list[Result]:
    """Send up to `limit` due messages, each committed on its own; then close kept connections."""
    senders = Senders(current_app.config["MAIL_FROM"])
    results: list[Result] = []
    try:
        while len(results) < limit and not should_stop():
            batch = lease(senders, min(LEASE_BATCH, limit - len(results)))
            if not batch:
                break
            # Send within the lease, with room to spare; what is left goes back at once.
            until = time.monotonic() + LEASE.total_seconds() / 2
            for n, item in enumerate(batch):
                if should_stop() or time.monotonic() > until:
                    hand_back([i.envelope.id for i in batch[n:]])
                    break
                results.append(try_one(item))
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
