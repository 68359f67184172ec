"""What became of a message: a provider's delivery report (`settle`), and the one way a message
fails for good (`fail_for_good`), which the worker uses too.

A permanent failure marks the contact point undeliverable (staff see it on the case page) and
records a case event; the contact attempt sent with the message takes the outcome. Idempotent: a
report for a message already settled changes nothing.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.models import ContactPoint
from portal.cases.kinds import EventKind
from portal.cases.service import Actor, record
from portal.contact.models import ContactAttempt
from portal.extensions import db
from portal.messaging.models import OutgoingMessage, OutgoingStatus
from portal.operations import Refused, operation
from portal.outbox.delivery import backoff

#: What a delivery report can say.
OUTCOMES = ("delivered", "failed_permanent", "failed_transient")
#: Tries (sends, and resends after a transient report) before a message is given up.
MAX_TRIES = 8
ACTOR = Actor.system("messaging")
_ADDRESS = re.compile(r"[^\s<>\"'@]+@[^\s<>\"'@]+")
#: Seven digits or more, single separators allowed: a phone number, never an SMTP code (550 5.1.1).
_NUMBER = re.compile(r"\+?\d(?:[\s().-]?\d){6,}")


def scrubbed(reason: str | None) -> str | None:
    """A provider's words without the address or number they often quote (they are kept, shown
    to staff and logged: no personal data in them)."""
    if reason is None:
        return None
    return _NUMBER.sub("[number]", _ADDRESS.sub("[address]", reason))[:300]


def fail_for_good(message: OutgoingMessage, code: str | None, reason: str | None,
                  at: datetime) -> None:
    """Give the message up, in the caller's transaction: its attempt failed, its contact point
    marked undeliverable, a case event recorded."""
    reason = scrubbed(reason)
    message.status = OutgoingStatus.FAILED
    message.error_code = code[:40] if code else None
    message.error = reason
    message.settled_at = at
    if message.attempt_id is not None:
        db.session.get(ContactAttempt, message.attempt_id).outcome = "failed"
    point = (db.session.get(ContactPoint, message.contact_point_id)
             if message.contact_point_id is not None else None)
    if point is not None:
        point.undeliverable_at = at
        point.undeliverable_reason = reason or code or _("no reason given")
    if message.borrower_id is None:
        return  # a staff member's email: no borrower's record to write it in
    record(ACTOR, EventKind.CONTACT_POINT_UNDELIVERABLE, borrower_id=message.borrower_id,
           account_id=message.account_id,
           data={"point": message.contact_point_id, "channel": message.channel,
                 "message": message.id, "code": message.error_code})


def retry_or_fail(message: OutgoingMessage, reason: str, at: datetime) -> None:
    """A transient failure: due again after the webhooks' wait (30 s doubling, at most an hour,
    jittered), or given up once out of tries."""
    if message.tries >= MAX_TRIES:
        fail_for_good(message, "tries", f"gave up after {message.tries} tries: {reason}", at)
        return
    message.status = OutgoingStatus.QUEUED
    message.error = scrubbed(reason)
    message.next_try_at = at + backoff(message.tries, random.random())


@operation
def settle(provider: str, provider_ref: str, outcome: str, error_code: str | None = None,
           reason: str | None = None) -> OutgoingMessage | None:
    """A delivery report about the message the provider knows as `provider_ref`: None when no
    message is known by it (not ours, or since resent under another reference)."""
    if outcome not in OUTCOMES:
        raise Refused(f"unknown delivery outcome {outcome!r}", status=400)
    message = db.session.scalar(
        select(OutgoingMessage)
        .where(OutgoingMessage.provider == provider, OutgoingMessage.provider_ref == provider_ref)
        .with_for_update())
    if message is None or message.status != OutgoingStatus.SENT:
        return message  # unknown, or settled already (or queued again): nothing changes
    now = datetime.now(UTC)
    if outcome == "delivered":
        message.status = OutgoingStatus.DELIVERED
        message.settled_at = now
        if message.attempt_id is not None:
            db.session.get(ContactAttempt, message.attempt_id).outcome = "delivered"
    elif outcome == "failed_permanent":
        fail_for_good(message, error_code, reason, now)
    else:
        message.error_code = error_code[:40] if error_code else None
        retry_or_fail(message, reason or error_code or "transient failure", now)
    return message
