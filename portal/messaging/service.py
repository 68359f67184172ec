"""Handing a message over for delivery: one entry point, so demo capture and the outgoing queue
swap by configuration.

A channel with an adapter (`channels.adapter_for`) gets an OutgoingMessage in the caller's
transaction and a send job deferred in it too (visible to the workers when it commits, gone if it
rolls back); without one, demo mode captures it for /dev/messages and anything else refuses it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from portal.bulk import draw_ids, insert_rows
from portal.contact.rulebook import Purpose
from portal.crypto import RowValue
from portal.extensions import db
from portal.jobs.queue import defer_in_transaction
from portal.messaging.channels import adapter_for
from portal.messaging.models import CapturedMessage, OutgoingMessage, OutgoingStatus

#: The worker's task that sends what is due (portal/messaging/tasks.py defines it).
SEND_TASK = "messaging.send"
QUEUE = "messaging"
#: At most one send job waits per urgency: an urgent one is never queued behind the rest.
LOCKS = {True: "messaging.send.urgent", False: "messaging.send"}


class DeliveryUnavailable(RuntimeError):
    """No delivery channel is configured for real (non-demo) sending."""


def send(*, channel: str, destination: str, subject: str, body: str, kind: str,
         html: str | None = None, language: str = "en", borrower_id: int | None = None,
         account_id: int | None = None, agency_id: int | None = None,
         contact_point_id: int | None = None, urgent: bool = False,
         unsubscribe: str | None = None,
         purpose: Purpose = Purpose.COLLECTION) -> OutgoingMessage | None:
    """Queue a message in the caller's transaction (returned, for the caller to link its contact
    attempt to), or capture it in demo mode when its channel has no adapter (None). Its `purpose`
    is what the rules judge again when the worker sends it."""
    now = datetime.now(UTC)
    if adapter_for(channel, current_app._get_current_object()) is None:
        if not current_app.config["PORTAL_DEMO"]:
            # Refuse loudly rather than silently drop a borrower's sign-in code.
            raise DeliveryUnavailable(f"no {channel} delivery configured outside demo mode")
        db.session.add(CapturedMessage(channel=channel, destination=destination, subject=subject,
                                       body=body, kind=kind, created_at=now))
        return None
    message = OutgoingMessage(
        channel=channel, destination=destination, subject=subject, text=body, html=html,
        language=language, kind=kind, borrower_id=borrower_id, account_id=account_id,
        agency_id=agency_id, contact_point_id=contact_point_id, urgent=urgent, purpose=purpose,
        status=OutgoingStatus.QUEUED, tries=0, next_try_at=now, unsubscribe=unsubscribe,
        created_at=now)
    db.session.add(message)
    db.session.flush()
    defer_in_transaction(SEND_TASK, queueing_lock=LOCKS[urgent])
    return message


def queues(channel: str) -> bool:
    """Whether a message on this channel is queued for a worker (True) or captured in demo mode
    (False); DeliveryUnavailable when neither (as `send` refuses it)."""
    if adapter_for(channel, current_app._get_current_object()) is not None:
        return True
    if not current_app.config["PORTAL_DEMO"]:
        raise DeliveryUnavailable(f"no {channel} delivery configured outside demo mode")
    return False


def send_many(channel: str, messages: list[dict]) -> None:
    """`send` for many messages on one channel at once (an import's first letters), in the
    caller's transaction and a few statements: each dict is `send`'s arguments and the
    `attempt_id` of the contact attempt it goes with. Queued with one send job, or captured."""
    if not messages:
        return
    now = datetime.now(UTC)
    if not queues(channel):
        ids = draw_ids("captured_message", len(messages))
        insert_rows(CapturedMessage.__table__, [{
            "id": mid, "channel": channel, "destination": RowValue(m["destination"], mid),
            "subject": m["subject"], "body": RowValue(m["body"], mid), "kind": m["kind"],
            "created_at": now} for mid, m in zip(ids, messages, strict=True)])
        return
    ids = draw_ids("outgoing_message", len(messages))
    insert_rows(OutgoingMessage.__table__, [{
        "id": mid, "channel": channel, "destination": RowValue(m["destination"], mid),
        "subject": m["subject"], "text": RowValue(m["body"], mid),
        "html": RowValue(m["html"], mid) if m.get("html") else None,
        "language": m.get("language", "en"), "kind": m["kind"],
        "borrower_id": m.get("borrower_id"), "account_id": m.get("account_id"),
        "agency_id": m.get("agency_id"), "contact_point_id": m.get("contact_point_id"),
        "attempt_id": m.get("attempt_id"), "urgent": m.get("urgent", False),
        "unsubscribe": m.get("unsubscribe"), "purpose": m.get("purpose", Purpose.COLLECTION),
        "status": OutgoingStatus.QUEUED, "tries": 0, "next_try_at": now, "created_at": now,
    } for mid, m in zip(ids, messages, strict=True)])
    for urgent in sorted({bool(m.get("urgent", False)) for m in messages}):
        defer_in_transaction(SEND_TASK, queueing_lock=LOCKS[urgent])


def recent(limit: int = 50) -> list[CapturedMessage]:
    return list(
        db.session.scalars(
            select(CapturedMessage)
            .order_by(CapturedMessage.created_at.desc(), CapturedMessage.id.desc())
            .limit(limit)
        )
    )
