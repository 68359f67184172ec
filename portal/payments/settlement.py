"""Stripe's balance transactions, kept: the one place that records what Stripe settled and says
which payments' money is available to remit (lenders' statements read it; reconciliation fills
and checks it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from portal.extensions import db
from portal.payments.models import BalanceTransaction


def _when(value) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def _source(txn: dict) -> str | None:
    source = txn.get("source")
    return source.get("id") if isinstance(source, dict) else source


def record(txn: dict, payment_id: int | None = None) -> None:
    """Keep a balance transaction as Stripe documents its object (amounts in minor units,
    times as Unix seconds), in the caller's transaction; a later report of the same id updates
    its status, payout and payment (never its amounts: Stripe never changes them)."""
    values = {
        "id": txn["id"], "reporting_category": txn.get("reporting_category") or txn["type"],
        "type": txn["type"], "source_id": _source(txn), "payment_id": payment_id,
        "amount_minor": int(txn["amount"]), "fee_minor": int(txn.get("fee") or 0),
        "net_minor": int(txn["net"]), "currency": str(txn["currency"]).upper(),
        "status": txn.get("status") or "pending", "created_at": _when(txn["created"]),
        "available_on": _when(txn["available_on"]), "payout_id": txn.get("payout"),
    }
    stmt = insert(BalanceTransaction).values(**values)
    changed = {"status": stmt.excluded.status,
               "payout_id": db.func.coalesce(stmt.excluded.payout_id,
                                             BalanceTransaction.payout_id),
               "payment_id": db.func.coalesce(stmt.excluded.payment_id,
                                              BalanceTransaction.payment_id)}
    db.session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=changed))


def available(payment_ids: Iterable[int], on: datetime) -> set[int]:
    """The payments among these whose charge Stripe reports available by `on` (remittable)."""
    ids = list(payment_ids)
    if not ids:
        return set()
    return set(db.session.scalars(
        select(BalanceTransaction.payment_id).where(
            BalanceTransaction.payment_id.in_(ids),
            BalanceTransaction.reporting_category == "charge",
            BalanceTransaction.available_on <= on)))
