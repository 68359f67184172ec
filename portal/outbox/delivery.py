"""Delivering outbox messages to the agencies' webhook endpoints.

One due `WebhookDelivery` at a time, in its own transaction:

1. claim it with `SELECT ... FOR UPDATE SKIP LOCKED` (the row stays locked until the commit, so any
   number of workers on any number of machines never send the same delivery at the same time; one
   that dies mid-send releases its lock with its connection and the delivery is simply due again);
2. POST the signed JSON body (CONTRACT.md) with a short timeout, following no redirects;
3. record a `DeliveryAttempt` for the try, whatever happened;
4. on a 2xx mark it delivered; otherwise schedule the next try with exponential backoff and jitter
   (30 s doubling, at most 1 h per wait), and give up (status `failed`) only when a try fails more
   than 24 hours after the first one — so a receiver that is down for an hour loses nothing.

Delivery is at least once: a receiver that answers 2xx but whose answer is lost (or a worker that
dies between the answer and the commit) gets the same body again later, with the same `id` to
deduplicate on.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select

from portal.extensions import db
from portal.outbox.models import DeliveryAttempt, OutboxMessage, WebhookDelivery, WebhookEndpoint
from portal.outbox.signing import HEADER, sign

log = logging.getLogger("portal.outbox")

#: Seconds to wait for the receiver to connect and then for each read of its answer.
TIMEOUT = 10.0
FIRST_WAIT = timedelta(seconds=30)
MAX_WAIT = timedelta(hours=1)
#: A delivery still failing this long after its first try is given up.
GIVE_UP_AFTER = timedelta(hours=24)
#: How much of a failing answer's body is kept in the attempt's record.
ERROR_SNIPPET = 300
USER_AGENT = "borrower-portal-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    """What one try of one delivery came to."""

    delivery_id: int
    message_id: uuid.UUID
    endpoint_id: int
    status: str  # delivered | pending | failed
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None


def body_for(message: OutboxMessage) -> bytes:
    """The webhook's JSON body: the same bytes on every try, so a receiver can compare them."""
    document = {
        "id": str(message.id),
        "type": message.topic,
        "created_at": message.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": message.payload,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False,
                      sort_keys=True).encode("utf-8")


def backoff(attempts: int, rand: float) -> timedelta:
    """The wait after the `attempts`-th failed try: 30 s doubling, capped at 1 h, then jittered
    by a factor in [0.5, 1) (`rand` in [0, 1)) so endpoints that failed together do not all come
    back at once. Below the cap each wait is longer than any possible previous one."""
    doublings = min(max(attempts, 1) - 1, 30)
    wait = min(FIRST_WAIT * (2 ** doublings), MAX_WAIT)
    return wait * (0.5 + rand / 2)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer that is not 2xx: it is recorded and retried, never followed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# urllib's defaults otherwise: http(s)_proxy / no_proxy are honoured, for operators whose
# outgoing traffic goes through a proxy.
_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict[str, str],
         timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
    """POST once. Returns (HTTP status or None, error text or None); never raises for anything
    the network or the receiver can do."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None, "refused: only http and https endpoints are allowed"
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(ERROR_SNIPPET)
            return response.status, None
    except urllib.error.HTTPError as answer:
        try:
            snippet = answer.read(ERROR_SNIPPET).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            snippet = ""
        finally:
            answer.close()
        return answer.code, f"HTTP {answer.code}" + (f": {snippet}" if snippet else "")
    except urllib.error.URLError as failure:
        reason = failure.reason
        return None, f"{type(reason).__name__}: {reason}"[:ERROR_SNIPPET]
    except (OSError, http.client.HTTPException, ValueError) as failure:
        return None, f"{type(failure).__name__}: {failure}"[:ERROR_SNIPPET]


def _claim(now: datetime):
    """The earliest due delivery to an active endpoint that no other worker holds, locked."""
    return db.session.execute(
        select(WebhookDelivery, OutboxMessage, WebhookEndpoint)
        .join(OutboxMessage, OutboxMessage.id == WebhookDelivery.message_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == "pending",
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
            WebhookEndpoint.active,
        )
        .order_by(WebhookDelivery.next_attempt_at.asc().nulls_first(), WebhookDelivery.id)
        .limit(1)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
        .execution_options(populate_existing=True)
    ).first()


def deliver_one(*, now: datetime | None = None, timeout: float = TIMEOUT,
                rand: Callable[[], float] = random.random) -> Outcome | None:
    """Try the earliest due delivery once and commit what happened; None when nothing is due.

    Commits the session: call it outside any other unit of work. `now` is the time the try is
    recorded at and judged by (a test's simulated clock); the signature always carries the real
    time, since that is what the receiver checks it against.
    """
    now = now or datetime.now(UTC)
    session = db.session
    row = _claim(now)
    if row is None:
        session.rollback()
        return None
    delivery, message, endpoint = row
    body = body_for(message)
    status_code, error = post(
        endpoint.url, body, {HEADER: sign(endpoint.secret, int(time.time()), body)}, timeout)

    session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, status_code=status_code,
                                error=error))
    delivery.attempts += 1
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = "delivered"
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    else:
        first = session.scalar(
            select(func.min(DeliveryAttempt.at)).where(DeliveryAttempt.delivery_id == delivery.id)
        )
        first = min(first, now) if first else now
        if now - first > GIVE_UP_AFTER:
            delivery.status = "failed"
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts, rand())
    outcome = Outcome(delivery.id, message.id, endpoint.id, delivery.status, status_code, error,
                      delivery.next_attempt_at)
    tries = delivery.attempts
    session.commit()
    level = logging.INFO if outcome.status == "delivered" else logging.WARNING
    log.log(level, "webhook delivery %s (message %s, endpoint %s) try %s: %s %s",
            outcome.delivery_id, outcome.message_id, outcome.endpoint_id, tries,
            outcome.status, status_code if status_code is not None else (error or ""))
    return outcome


def deliver_due(*, limit: int = 100, now: datetime | None = None,
                timeout: float = TIMEOUT) -> list[Outcome]:
    """Try up to `limit` due deliveries, one transaction each; returns what happened."""
    outcomes = []
    while len(outcomes) < limit:
        outcome = deliver_one(now=now, timeout=timeout)
        if outcome is None:
            break
        outcomes.append(outcome)
    return outcomes


def due_count(*, at_most: int, now: datetime | None = None) -> int:
    """How many deliveries are due, counting no further than `at_most` (cheap with a backlog)."""
    now = now or datetime.now(UTC)
    due = (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == "pending",
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
            WebhookEndpoint.active,
        )
        .limit(at_most)
        .subquery()
    )
    return db.session.scalar(select(func.count()).select_from(due))
