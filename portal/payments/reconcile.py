"""Reconciliation: payments stuck between our row and Stripe (a crash, a timeout, a lost webhook)
are asked of Stripe and resolved, or abandoned when Stripe never charged them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from portal.cases.service import Actor
from portal.extensions import db
from portal.operations import operation, reading
from portal.payments import charges, rules
from portal.payments.applying import apply_intent
from portal.payments.gateway import (
    GatewayError,
    IntentResult,
    gateway,
)
from portal.payments.models import Payment
from portal.payments.rules import PaymentStatus as S

log = logging.getLogger("portal.payments")


# --- reconciliation ------------------------------------------------------------------------------

#: How long each state may last before the job asks Stripe what happened.
STALE = {S.CREATED: timedelta(hours=1), S.SUBMITTING: timedelta(minutes=2),
         S.PENDING: timedelta(minutes=5), S.REQUIRES_ACTION: timedelta(hours=1)}
RECONCILER = Actor.system("payments-reconcile")


def stale_payments(now: datetime) -> list[int]:
    ids = []
    with reading("stale_payments"):
        for status, age in STALE.items():
            ids.extend(db.session.scalars(select(Payment.id).where(
                Payment.status == str(status), Payment.updated_at < now - age)))
    return ids


def reconcile(now: datetime | None = None) -> dict[str, int]:
    """Resolve payments stuck between our row and Stripe (a crash, a timeout, a lost webhook)."""
    now = now or datetime.now(UTC)
    counts: dict[str, int] = {}
    for payment_id in stale_payments(now):
        try:
            outcome = _reconcile_one(payment_id, now)
        except GatewayError as exc:
            log.warning("payment %s: reconciliation postponed: %s", payment_id, exc)
            outcome = "postponed"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _reconcile_one(payment_id: int, now: datetime) -> str:
    with reading("_reconcile_one"):
        payment = db.session.get(Payment, payment_id)
        status, key, intent_id = payment.status, str(payment.public_id), payment.payment_intent_id
        created_at = payment.created_at
    if status == S.CREATED:
        return _abandon(payment_id, S.CREATED)
    if status == S.REQUIRES_ACTION:
        # The bank's check was left unfinished for an hour: stop counting it against the
        # balance. Stripe never charged it; if the borrower finishes it after all, the
        # webhook posts it (canceled may still become succeeded).
        result = gateway().retrieve_intent(intent_id) if intent_id else None
        if result is not None and result.status not in ("requires_action",
                                                         "requires_confirmation"):
            _apply_found(result, now)
            return "resolved"
        return _abandon(payment_id, S.REQUIRES_ACTION)
    # Ask Stripe before touching anything (a network call never holds a row lock).
    result = gateway().retrieve_intent(intent_id) if intent_id else \
        charges.find_charge(key, created_at)
    if result is None:
        return _abandon(payment_id, S.SUBMITTING)
    _apply_found(result, now)
    return "resolved"


@operation
def _apply_found(result: IntentResult, now: datetime) -> None:
    apply_intent(result, RECONCILER, now)


@operation
def _abandon(payment_id: int, expected: S) -> str:
    """Stripe has no charge for it: the payment never happened (nothing to post or refund)."""
    payment = db.session.get(Payment, payment_id, with_for_update=True)
    if payment.status != expected:
        return "changed"
    rules.PAYMENT.move(payment, S.CANCELED)
    payment.failure_message = _("This payment was not completed. Nothing was charged.")
    payment.updated_at = datetime.now(UTC)
    charges.record_canceled(payment, RECONCILER, f"stale_{expected}")
    return "canceled"
