"""Writing outbox messages inside the caller's transaction; delivery happens later, in a worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import any_, select

from portal.agency.scope import agency_of_account
from portal.bulk import insert_rows
from portal.extensions import db
from portal.outbox.models import TOPICS, OutboxMessage, WebhookDelivery, WebhookEndpoint
from portal.outbox.tasks import request_delivery


def publish(topic: str, payload: dict, *, account_ref: str | None = None,
            agency_id: int | None = None, case_event_id: int | None = None) -> OutboxMessage:
    """Queue one message and a delivery for each endpoint that wants its topic, among the
    endpoints of the message's agency only (the account's, unless `agency_id` names it)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    if account_ref is None and agency_id is None:
        raise ValueError("a message names its account or its agency")
    if agency_id is None:
        agency_id = agency_of_account(account_ref)
    now = datetime.now(UTC)
    message = OutboxMessage(topic=topic, payload=payload, account_ref=account_ref,
                            agency_id=agency_id, created_at=now, case_event_id=case_event_id)
    db.session.add(message)
    db.session.flush()
    endpoints = [] if agency_id is None else db.session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.agency_id == agency_id,
            WebhookEndpoint.active, any_(WebhookEndpoint.topics) == topic,
        )
    )
    deliveries = [WebhookDelivery(message_id=message.id, endpoint_id=endpoint.id,
                                  next_attempt_at=now) for endpoint in endpoints]
    if deliveries:
        db.session.add_all(deliveries)
        _wake_a_worker()
    return message


def publish_many(topic: str, messages: list[tuple[dict, str, int | None]],
                 agency_id: int | None) -> list[int]:
    """Many messages of one topic and one agency at once (payload, account ref, case event id),
    each with a delivery for every endpoint of the agency that wants the topic: what `publish`
    writes one by one, in a few statements. Returns the messages' ids, in order."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    if not messages:
        return []
    now = datetime.now(UTC)
    # The ids are made here, as the column's default would make them, so one COPY writes the
    # rows (an INSERT ... RETURNING of a chunk's messages cost a second per thousand).
    ids = [uuid.uuid4() for _ in messages]
    insert_rows(OutboxMessage.__table__, [
        {"id": message_id, "topic": topic, "payload": payload, "account_ref": ref,
         "agency_id": agency_id, "created_at": now, "case_event_id": event_id}
        for message_id, (payload, ref, event_id) in zip(ids, messages, strict=True)])
    endpoints = [] if agency_id is None else db.session.scalars(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.agency_id == agency_id,
            WebhookEndpoint.active, any_(WebhookEndpoint.topics) == topic)).all()
    if endpoints:
        insert_rows(WebhookDelivery.__table__, [
            {"message_id": m, "endpoint_id": e, "next_attempt_at": now}
            for m in ids for e in endpoints])
        _wake_a_worker()
    return ids


def _wake_a_worker() -> None:
    """One delivery job per transaction, visible to workers the moment it commits."""
    transaction = db.session().get_transaction()
    if db.session.info.get("delivery_requested_in") is not transaction:
        request_delivery()
        db.session.info["delivery_requested_in"] = transaction
