"""Sending the outgoing queue: a few due messages leased at a time, each sent and recorded in a
transaction of its own.

1. lease a batch: `SELECT ... FOR UPDATE SKIP LOCKED` (urgent ones first), and in the same short
   transaction ask the contact rules again for them all (`screen`: one that a rule now stops is
   held until it allows, or cancelled; one whose contact point turned undeliverable fails), then
   push each one still going's `next_try_at` a lease ahead and count the try: no other worker
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
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formataddr, parseaddr

from flask import current_app
from sqlalchemy import Engine, select, text, update

from portal.agency.models import Agency
from portal.extensions import db
from portal.messaging import screen
from portal.messaging.channels import adapter_for
from portal.messaging.envelope import Envelope, Permanent, Sent, Transient
from portal.messaging.models import OutgoingMessage, OutgoingStatus
from portal.messaging.settle import fail_for_good, retry_or_fail
from portal.operations import operation

log = logging.getLogger("portal.messaging")

#: How long a leased message is this worker's alone (MESSAGE_LEASE_SECONDS overrides it); it
#: sends within half of it.
LEASE = timedelta(seconds=60)
#: Messages leased at once: few enough that an urgent one arriving meanwhile waits a moment
#: (a tenth of a second or so), enough that the batch's reads of the contact rules are shared.
LEASE_BATCH = 100
#: This transaction's commit does not wait for the disk (see `_sent`).
QUICK_COMMIT = text("SET LOCAL synchronous_commit = off")


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


def lease_length() -> timedelta:
    """The lease this deployment configured (MESSAGE_LEASE_SECONDS), else LEASE."""
    seconds = current_app.config.get("MESSAGE_LEASE_SECONDS")
    return timedelta(seconds=float(seconds)) if seconds else LEASE


class Senders:
    """Each agency's identity on each channel, read and written out once per batch."""

    def __init__(self, mail_from: str):
        self.mail_from = mail_from
        self._address = parseaddr(mail_from)[1]
        self._agencies: dict[int, dict[str, str]] = {}

    def _agency(self, agency_id: int) -> dict[str, str]:
        if agency_id not in self._agencies:
            agency = db.session.get(Agency, agency_id)
            self._agencies[agency_id] = {
                "email": formataddr((agency.name, agency.email_from or self._address)),
                "sms": agency.sms_sender or "", "letter": agency.postal_address or ""}
        return self._agencies[agency_id]

    def of(self, message: OutgoingMessage) -> str:
        if message.agency_id is None:
            return self.mail_from if message.channel == "email" else ""
        return self._agency(message.agency_id)[message.channel]


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
def lease(senders: Senders, limit: int = LEASE_BATCH,
          clock: Callable[[], datetime] | None = None) -> list[Leased]:
    """Up to `limit` due messages, urgent first, leased to this worker (module docstring), as of
    `clock()` (the rules' time; default now)."""
    now = clock() if clock is not None else datetime.now(UTC)
    # A lease a crash of the database forgets costs nothing: the messages are simply due.
    db.session.execute(QUICK_COMMIT)
    messages = _due(now, True, limit)
    if len(messages) < limit:
        messages += _due(now, False, limit - len(messages))
    verdicts = screen.verdicts(messages, now)
    leased = [Leased(envelope_of(m, senders.of(m)), m.tries + 1) for m in messages
              if screen.apply(m, verdicts[m.id], now)]
    if leased:
        # One statement for the batch (the ORM would write each row on its own).
        db.session.execute(
            update(OutgoingMessage)
            .where(OutgoingMessage.id.in_([item.envelope.id for item in leased]))
            .values(tries=OutgoingMessage.tries + 1, next_try_at=now + lease_length())
            .execution_options(synchronize_session=False))
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


#: One statement, one round trip, for every Sent waiting: plain SQL in the driver's own form
#: (the ORM's bulk update costs more than the database does here); the CTE turns
#: synchronous_commit off for this statement's transaction alone.
SENT = (
    "WITH quick AS (SELECT set_config('synchronous_commit', 'off', true))"
    " UPDATE outgoing_message m SET status = 'sent', provider = s.provider,"
    " provider_ref = s.ref, sent_at = now(), error = NULL, error_code = NULL"
    " FROM quick, unnest(%(ids)s::bigint[], %(providers)s::text[], %(refs)s::text[])"
    " AS s(id, provider, ref) WHERE m.id = s.id")


def _params(sents: list[tuple[int, Sent]]) -> dict:
    return {"ids": [i for i, _ in sents], "providers": [s.provider for _, s in sents],
            "refs": [s.provider_ref for _, s in sents]}


@operation
def _sent_in_session(message_id: int, sent: Sent) -> None:
    db.session.connection().exec_driver_sql(SENT, _params([(message_id, sent)]))


class Behind:
    """Sents recorded on a thread of its own, over its own autocommit connection, while the
    worker hands the next message to the provider: the database's round trip no longer adds to
    each message's time. What is waiting when the thread comes round is recorded in one
    statement. An error there is raised in the worker at its next record, or at the end."""

    def __init__(self, connection):
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(connection,), daemon=True,
                                        name="outgoing-sent-recorder")
        self._thread.start()

    def record(self, message_id: int, sent: Sent) -> Result:
        if self._error is not None:
            raise self._error
        self._waiting.put((message_id, sent))
        return Result(message_id, OutgoingStatus.SENT)

    def _run(self, connection) -> None:
        try:
            with connection.cursor() as cursor:
                while True:
                    sents, done = [self._waiting.get()], False
                    while not self._waiting.empty():
                        sents.append(self._waiting.get())
                    if sents[-1] is None:
                        sents.pop()
                        done = True
                    if sents:
                        cursor.execute(SENT, _params(sents))
                    if done:
                        return
        except BaseException as error:  # noqa: BLE001 - raised in the worker's thread instead
            self._error = error

    def close(self) -> None:
        """Wait until every Sent handed over is committed (or raise why not)."""
        self._waiting.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


@contextmanager
def recorder() -> Iterator[Callable[[int, Sent], Result]]:
    """How a batch records each Sent: committed on its own, without waiting for the disk
    (synchronous_commit off, that transaction only). A worker that dies loses nothing by it;
    only a crash of the database server itself could forget the last fraction of a second of
    Sents, and those messages go again after their lease, with the same Message-ID.

    On the app's own engine, `Behind` the sending, on a connection kept for the run in
    autocommit; inside a caller's connection (a test's transaction), as an operation of the
    session, at once. The same statement either way. Waiting for the disk, and the database's
    round trips, were most of the worker's time per message (README, "Speed")."""
    bind = db.session.get_bind()
    if isinstance(bind, Engine):
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            behind = Behind(connection.connection.driver_connection)
            try:
                yield behind.record
            finally:
                behind.close()
    else:
        def record(message_id: int, sent: Sent) -> Result:
            _sent_in_session(message_id, sent)
            return Result(message_id, OutgoingStatus.SENT)

        yield record


def try_one(item: Leased, record: Callable[[int, Sent], Result]) -> Result:
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
        result = record(envelope.id, sent)
    level = logging.INFO if result.status == OutgoingStatus.SENT else logging.WARNING
    log.log(level, "outgoing message %s (%s, %s) try %s: %s %s", envelope.id, envelope.channel,
            envelope.kind, item.tries, result.status, result.error or "")
    return result


def send_due(*, limit: int = 500, should_stop=lambda: False,
             clock: Callable[[], datetime] | None = None) -> list[Result]:
    """Send up to `limit` due messages, each committed on its own; then close kept connections.
    `clock`: what time it is for the contact rules (a test's chosen hour; default now).

    On the app's own engine the next batch is leased (and judged by the rules) on a thread of
    its own while this one is sent (`Ahead`); inside a caller's connection, one after another."""
    senders = Senders(current_app.config["MAIL_FROM"])
    results: list[Result] = []
    try:
        with recorder() as record, ahead(senders, clock) as next_batch:
            half = lease_length().total_seconds() / 2
            leased_at = time.monotonic()
            batch = next_batch(min(LEASE_BATCH, limit), None)()
            while batch:
                # Send within the lease, with room to spare; what is left goes back at once.
                until = leased_at + half
                left = limit - len(results) - len(batch)
                # Judged now for the next round: leased while this batch is sent.
                following = min(LEASE_BATCH, left) if left > 0 and not should_stop() else 0
                leased_at = time.monotonic()
                pending = next_batch(following, batch)
                for n, item in enumerate(batch):
                    if should_stop() or time.monotonic() > until:
                        hand_back([i.envelope.id for i in batch[n:]])
                        break
                    results.append(try_one(item, record))
                batch = pending()
                if batch and (should_stop() or len(results) >= limit):
                    hand_back([i.envelope.id for i in batch])
                    break
    finally:
        close_adapters()
    return results


@contextmanager
def ahead(senders: Senders, clock: Callable[[], datetime] | None):
    """`next_batch(count, current)`: a function that gives the leased batch of `count` when
    called (none for 0). On the app's own engine the lease runs on a thread with an app context
    (and so a session and a transaction) of its own, started at once, so the rules judge the
    next batch while `current` is sent; a caller's connection (a test's transaction) leases it
    at once in its own session, as before."""
    if not isinstance(db.session.get_bind(), Engine):
        def at_once(count: int, _current):
            leased = lease(senders, count, clock) if count else []
            return lambda: leased
        yield at_once
        return
    app = current_app._get_current_object()

    def in_context(count: int) -> list[Leased]:
        with app.app_context():
            return lease(senders, count, clock)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outgoing-lease") as pool:
        def started(count: int, _current):
            if not count:
                return list
            return pool.submit(in_context, count).result
        yield started


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
