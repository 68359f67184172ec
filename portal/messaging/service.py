"""Sending messages to borrowers: one entry point, so demo capture and real delivery swap."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.messaging.models import CapturedMessage


class DeliveryUnavailable(RuntimeError):
    """No delivery channel is configured for real (non-demo) sending."""


def send(*, channel: str, destination: str, subject: str, body: str, kind: str) -> None:
    """Queue a message in the caller's transaction; demo mode captures it for /dev/messages."""
    if not current_app.config["PORTAL_DEMO"]:
        # Real SMTP/SMS delivery goes through the outbox worker (a later issue); refuse loudly
        # rather than silently dropping a borrower's sign-in code.
        raise DeliveryUnavailable("no message delivery configured outside demo mode")
    db.session.add(
        CapturedMessage(
            channel=channel,
            destination=destination,
            subject=subject,
            body=body,
            kind=kind,
            created_at=datetime.now(UTC),
        )
    )


def recent(limit: int = 50) -> list[CapturedMessage]:
    return list(
        db.session.scalars(
            select(CapturedMessage)
            .order_by(CapturedMessage.created_at.desc(), CapturedMessage.id.desc())
            .limit(limit)
        )
    )
