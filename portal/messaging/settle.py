"""A provider's delivery report, applied once: the message's status and its contact attempt's
outcome follow what the provider says (the minimal form of this branch; the delivery core's own
`settle` supersedes it with the same signature)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from portal.contact.models import ContactAttempt
from portal.extensions import db
from portal.messaging.models import OutgoingMessage, OutgoingStatus
from portal.operations import operation

OUTCOMES = ("delivered", "failed_permanent", "failed_transient")
#: Statuses a report no longer changes.
FINAL = (OutgoingStatus.DELIVERED, OutgoingStatus.FAILED)


class UnknownMessage(LookupError):
    """No message of ours has that provider's id."""


@operation
def settle(provider: str, provider_ref: str, outcome: str, error_code: str | None = None,
           reason: str | None = None) -> bool:
    """Apply one delivery report; True when it changed something (a repeat changes nothing)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    message = db.session.scalar(
        select(OutgoingMessage).where(OutgoingMessage.provider == provider,
                                      OutgoingMessage.provider_ref == provider_ref)
        .with_for_update())
    if message is None:
        raise UnknownMessage(provider_ref)
    if message.status in FINAL or outcome == "failed_transient":
        # A transient failure is the sender's to retry, not a report's to settle.
        return False
    now = datetime.now(UTC)
    message.status = (OutgoingStatus.DELIVERED if outcome == "delivered"
                      else OutgoingStatus.FAILED)
    message.settled_at = now
    if outcome == "failed_permanent":
        message.error_code = (error_code or None) and str(error_code)[:40]
        message.error = (reason or "")[:300] or None
    if message.attempt_id is not None:
        attempt = db.session.get(ContactAttempt, message.attempt_id)
        attempt.outcome = "delivered" if outcome == "delivered" else "bounced"
    return True
