"""The Stripe event inbox: the webhook endpoint keeps each verified event (its id is the primary
key, so a repeat is a no-op) and the worker applies them, once, oldest first, retrying failures
with backoff."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert

from portal.extensions import db
from portal.jobs.queue import defer_in_transaction
from portal.operations import operation, reading
from portal.payments.applying import (
    SYSTEM,
    UnknownPayment,
    apply_chargeback,
    apply_intent,
    apply_refund,
    can_succeed,
    succeed_many,
)
from portal.payments.gateway import (
    IntentResult,
    intent_result,
)
from portal.payments.models import PENDING, EventStatus, Payment, StripeEvent
from portal.payments.receipts import email_receipts
from portal.payments.stripped import stripped
from portal.payments.task_names import APPLY_EVENTS

log = logging.getLogger("portal.payments")


HANDLERS = {
    "payment_intent.succeeded": "intent",
    "payment_intent.payment_failed": "intent",
    "payment_intent.processing": "intent",
    "payment_intent.requires_action": "intent",
    "payment_intent.canceled": "intent",
    "charge.refunded": "refund",
    "charge.dispute.created": "chargeback",
}


def _text_or_none(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError("an id that is not text")
    return value


def _keys_of(handler: str, obj) -> tuple[str | None, str | None, str | None, IntentResult | None]:
    """What `_find` will look the event's payment up by: (PaymentIntent id, our public id,
    charge id), and the PaymentIntent itself for the intent events. Raises KeyError, TypeError or
    ValueError for an object of the wrong shape."""
    if not isinstance(obj, dict):
        raise TypeError("the event's object is not an object")
    if handler == "intent":
        result = intent_result(obj)
        return _text_or_none(result.id), _text_or_none(result.payment_id), None, result
    if handler == "refund":
        metadata = obj.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise TypeError("metadata that is not an object")
        return (_text_or_none(obj.get("payment_intent")), _text_or_none(metadata.get("payment_id")),
                _text_or_none(obj.get("id")), None)
    return _text_or_none(obj.get("payment_intent")), None, _text_or_none(obj.get("charge")), None


#: One statement for the endpoint: find the payment as `_find` does (PaymentIntent id, charge id,
#: or our id in the metadata while the payment has no other PaymentIntent; the PaymentIntent's own
#: payment first), without a lock; keep the event if it is ours and Stripe reports our amount (for
#: a PaymentIntent). Fixed text, so the driver prepares it once per connection.
_KEEP = text("""
WITH found AS (
    SELECT id, amount_minor, currency FROM payment
    WHERE payment_intent_id = CAST(:intent_id AS varchar)
       OR charge_id = CAST(:charge_id AS varchar)
       OR (public_id = CAST(:public_id AS uuid)
           AND (payment_intent_id IS NULL OR payment_intent_id = CAST(:intent_id AS varchar)))
    ORDER BY (payment_intent_id = CAST(:intent_id AS varchar)) IS NOT TRUE
    LIMIT 1
), kept AS (
    INSERT INTO stripe_event (id, type, payment_id, received_at, payload, attempts, status)
    SELECT CAST(:event_id AS varchar), CAST(:type AS varchar), found.id, clock_timestamp(),
           CAST(:payload AS jsonb), 0, 'received'
    FROM found
    WHERE CAST(:amount AS bigint) IS NULL
       OR (found.amount_minor = CAST(:amount AS bigint)
           AND found.currency = CAST(:currency AS varchar))
    ON CONFLICT (id) DO NOTHING
    RETURNING id
)
SELECT found.id, found.amount_minor, found.currency, (SELECT id FROM kept) AS kept
FROM found
""")


def _keep(event: dict, kind: str, handler: str) -> str:
    """Keep an event about one of our payments (`_KEEP`): 'queued' or 'duplicate'. Raises
    UnknownPayment."""
    intent_id, public_id, charge_id, result = _keys_of(handler, event["data"]["object"])
    try:
        key = str(uuid.UUID(public_id)) if public_id else None
    except ValueError:
        key = None
    if not (intent_id or charge_id or key):
        raise UnknownPayment(None)
    row = db.session.execute(_KEEP, {
        "intent_id": intent_id, "charge_id": charge_id, "public_id": key,
        "event_id": event["id"], "type": kind,
        # Kept without the cardholder (name, email, phone, address): applying needs none of it.
        "payload": json.dumps(stripped(event)),
        "amount": result.amount if result else None,
        "currency": result.currency if result else None,
    }).first()
    if row is None:
        raise UnknownPayment(intent_id or charge_id)
    if result is not None and (result.amount, result.currency) != (row.amount_minor,
                                                                    row.currency):
        log.error("payment %s: Stripe reports %s %s, we asked for %s %s", row.id,
                  result.amount, result.currency, row.amount_minor, row.currency)
        raise UnknownPayment(intent_id)
    return "queued" if row.kept is not None else "duplicate"


@operation
def receive_event(event: dict) -> str:
    """Keep one verified Stripe event for the worker: 'queued', 'duplicate' or 'ignored'.

    Cheap and quick, as Stripe asks of an endpoint: one statement checks that the event is about
    one of our payments (an indexed lookup) and keeps it (its id is the primary key: a repeat is
    a 'duplicate'); a kept one defers `payments.apply_events` in the same transaction, so a worker
    applies it (`apply_received`) as soon as it commits. The job's queueing lock lets one wait: a
    burst finds it waiting (procrastinate is asked, on the same connection) and adds none; an
    event committed just after that job had looked is applied by the next one, or by the sweep
    every 2 seconds.
    Raises UnknownPayment (nothing kept) for an event about a payment we do not know, so that
    Stripe's retry can still deliver it if it raced our own write; KeyError, TypeError or
    ValueError for one of the wrong shape."""
    event_id, kind = event["id"], event.get("type")
    if not event_id or len(event_id) > 100:
        raise ValueError("an event id we cannot keep")
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        inserted = db.session.execute(
            insert(StripeEvent).values(
                id=event_id, type=kind[:100] if isinstance(kind, str) else "",
                # Kept for its id only: an ignored event (customer.*, ...) may carry a
                # person's name and address, which we have no reason to store.
                received_at=datetime.now(UTC), payload={}, attempts=0,
                status=EventStatus.IGNORED)
            .on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id)
        ).scalar()
        return "ignored" if inserted is not None else "duplicate"
    try:
        outcome = _keep(event, kind, handler)
    except UnknownPayment:
        if db.session.get(StripeEvent, event_id) is not None:
            return "duplicate"  # kept already (its payment is not found now: it waits as failed)
        raise
    if outcome == "queued":
        defer_in_transaction(APPLY_EVENTS, queueing_lock=APPLY_EVENTS)
    return outcome


def event_time(event: dict) -> datetime:
    """When Stripe says the event happened (now, if it does not say)."""
    return datetime.fromtimestamp(int(event.get("created") or datetime.now(UTC).timestamp()), UTC)


def apply_event(event: dict, receipts: list[Payment] | None = None) -> Payment:
    """Apply one event of a handled type (in the caller's transaction); the payment it changed.
    `receipts`: collect a payment it posts, for the caller to email the receipt."""
    handler = HANDLERS[event["type"]]
    obj = event["data"]["object"]
    at = event_time(event)
    if handler == "intent":
        return apply_intent(intent_result(obj), SYSTEM, at, receipts)
    if handler == "refund":
        return apply_refund(obj, SYSTEM, at, receipts)
    return apply_chargeback(obj, SYSTEM, at, receipts)


#: A failed event is tried again after 30 s, then 1, 2, 4... minutes, at most hourly, and never
#: dropped: it stays `failed`, with its error's class, for as long as it does not apply.
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LAST_RETRY)


def _due(now: datetime):
    return and_(StripeEvent.status.in_([str(s) for s in PENDING]), or_(
        StripeEvent.status == EventStatus.RECEIVED, StripeEvent.next_attempt_at <= now))


#: At most this many events are applied in one transaction: one claim, one commit, and their
#: receipts judged and written together; each event's locks are held until the batch commits.
EVENTS_PER_TRANSACTION = 50


@operation
def _apply_batch(size: int, now: datetime | None) -> dict[str, int]:
    """Claim the oldest events due, at most `size` (skipping those other workers hold), and apply
    them in one transaction: the plain successes together (`_succeed_together`), every other one
    in a savepoint of its own: one that fails is undone alone, marked failed and retried later;
    the others stand. Applied in the order of their accounts (oldest first within one), so two
    workers' batches lock accounts in one order. Counts ('applied', 'failed'; none when nothing
    is due)."""
    claimed_at = now or datetime.now(UTC)
    rows = db.session.execute(
        select(StripeEvent, Payment.account_id)
        .outerjoin(Payment, Payment.id == StripeEvent.payment_id).where(_due(claimed_at))
        .order_by(StripeEvent.received_at, StripeEvent.id).limit(size)
        .with_for_update(of=StripeEvent, skip_locked=True)).all()
    counts: dict[str, int] = {}
    receipts: list[Payment] = []
    applied: list[tuple[StripeEvent, Payment]] = []
    rows = sorted(rows, key=lambda r: r[1] or 0)  # stable: oldest first within an account
    for row, _account in rows:
        row.attempts += 1
    quick = _succeed_together([row for row, _account in rows], receipts)
    applied.extend(quick)
    done_already = {id(row) for row, _payment in quick}
    for row, _account in rows:
        if id(row) in done_already:
            continue
        mine: list[Payment] = []
        try:
            with db.session.begin_nested():  # a failure undoes its own writes, not the others'
                payment = apply_event(row.payload, mine)
        except Exception as exc:  # noqa: BLE001 any error: kept as failed, retried later, never lost
            row.status, row.error = EventStatus.FAILED, type(exc).__name__[:100]
            row.next_attempt_at = claimed_at + retry_delay(row.attempts)
            log.warning("stripe event %s (%s): not applied (%s), attempt %d; again after %s",
                        row.id, row.type, row.error, row.attempts, row.next_attempt_at.isoformat())
            counts["failed"] = counts.get("failed", 0) + 1
            continue
        receipts.extend(mine)
        applied.append((row, payment))
    if receipts:
        email_receipts(receipts)
    done = now or datetime.now(UTC)  # applied as this transaction commits, receipts and all
    for row, payment in applied:
        row.status, row.error, row.next_attempt_at = EventStatus.APPLIED, None, None
        row.payment_id, row.applied_at = payment.id, done
    if applied:
        counts["applied"] = len(applied)
    return counts


def _succeed_together(rows: list[StripeEvent],
                      receipts: list[Payment]) -> list[tuple[StripeEvent, Payment]]:
    """The batch's plain successes (a pending payment of ours, Stripe's amount) applied together
    (`applying.succeed_many`), in a savepoint: if anything fails there, none of them is, and each
    goes its own way (`apply_event`, in a savepoint of its own). Locks the payments in one
    statement, in the order of their accounts. The events applied, with their payments."""
    wanted: dict[str, tuple[StripeEvent, IntentResult]] = {}
    for row in rows:
        if row.type != "payment_intent.succeeded":
            continue
        try:
            result = intent_result(row.payload["data"]["object"])
        except (KeyError, TypeError, ValueError):
            continue  # its own way: it fails there, kept as failed
        if result.id and result.id not in wanted:  # a repeat of one intent: its own way
            wanted[result.id] = (row, result)
    if not wanted:
        return []
    mine: list[Payment] = []
    try:
        with db.session.begin_nested():
            found = {p.payment_intent_id: p for p in db.session.scalars(
                select(Payment).where(Payment.payment_intent_id.in_(list(wanted)))
                .order_by(Payment.account_id, Payment.id).with_for_update())}
            chosen = [(row, found[intent], result) for intent, (row, result) in wanted.items()
                      if intent in found and can_succeed(found[intent], result)]
            chosen.sort(key=lambda c: c[1].account_id)  # stable: oldest first within
            succeed_many([(payment, result, event_time(row.payload))
                          for row, payment, result in chosen], SYSTEM, mine)
    except Exception as exc:  # noqa: BLE001 - each is applied on its own instead
        log.warning("stripe events: %d applied one by one (%s)", len(wanted), type(exc).__name__)
        return []
    receipts.extend(mine)
    return [(row, payment) for row, payment, _result in chosen]


def apply_received(limit: int = 100, *, now: datetime | None = None,
                   seconds: float | None = None, should_stop=None) -> dict[str, int]:
    """Apply the events the webhook kept, oldest first, in transactions of at most
    `EVENTS_PER_TRANSACTION` (`_apply_batch`), and the failed ones whose retry is due; at most
    `limit` (and about `seconds`). Several workers may run it at once. Returns the counts
    ('applied', 'failed'; 'more' when it stopped at its limit)."""
    counts: dict[str, int] = {}
    deadline = time.monotonic() + seconds if seconds is not None else None
    done = 0
    while done < limit:
        if (deadline is not None and time.monotonic() > deadline) or \
                (should_stop is not None and should_stop()):
            counts["more"] = 1
            return counts
        size = min(limit - done, EVENTS_PER_TRANSACTION)
        batch = _apply_batch(size, now)
        for outcome, n in batch.items():
            counts[outcome] = counts.get(outcome, 0) + n
        done += sum(batch.values())
        if sum(batch.values()) < size:
            return counts
    counts["more"] = 1
    return counts


def pending_events() -> dict[str, int]:
    """How many events wait to be applied ('received') or to be retried ('failed')."""
    with reading("pending_events"):
        rows = db.session.execute(select(StripeEvent.status, func.count()).where(
            StripeEvent.status.in_([str(s) for s in PENDING])).group_by(StripeEvent.status)).all()
    return {str(status): int(count) for status, count in rows}


@operation
def retry_failed_now() -> int:
    """Make every failed event due at once (by hand, after fixing what made it fail)."""
    return db.session.execute(
        StripeEvent.__table__.update().where(StripeEvent.status == EventStatus.FAILED)
        .values(next_attempt_at=datetime.now(UTC))).rowcount
