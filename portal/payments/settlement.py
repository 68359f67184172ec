"""Stripe's balance transactions, kept: the one place that records what Stripe settled and says
which payments' money is available to remit (lenders' statements read it; reconciliation fills
and checks it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert

from portal.extensions import db
from portal.payments.models import BalanceTransaction


def _when(value) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def _source(txn: dict) -> str | None:
    source = txn.get("source")
    return source.get("id") if isinstance(source, dict) else source


def _values(txn: dict, payment_id: int | None) -> dict:
    return {
        "id": txn["id"], "reporting_category": txn.get("reporting_category") or txn["type"],
        "type": txn["type"], "source_id": _source(txn), "payment_id": payment_id,
        "amount_minor": int(txn["amount"]), "fee_minor": int(txn.get("fee") or 0),
        "net_minor": int(txn["net"]), "currency": str(txn["currency"]).upper(),
        "status": txn.get("status") or "pending", "created_at": _when(txn["created"]),
        "available_on": _when(txn["available_on"]), "payout_id": txn.get("payout"),
    }


#: Rows per INSERT (PostgreSQL takes at most 65,535 parameters in one statement).
BATCH = 4000


def record(txn: dict, payment_id: int | None = None) -> None:
    """Keep a balance transaction as Stripe documents its object (amounts in minor units,
    times as Unix seconds), in the caller's transaction; a later report of the same id updates
    its status, payout and payment (never its amounts: Stripe never changes them)."""
    record_many([(txn, payment_id)])


def record_many(txns: Iterable[tuple[dict, int | None]]) -> None:
    """`record` for many at once (a reconciliation's month). A transaction reported twice (in
    the month's list and in its payout's) is kept once, with what each report adds; a report
    that changes nothing writes nothing, so reading the same month again leaves every row as
    it was."""
    rows: dict[str, dict] = {}
    for txn, payment_id in txns:
        values = _values(txn, payment_id)
        kept = rows.get(values["id"])
        if kept is not None:
            for name in ("payout_id", "payment_id"):
                values[name] = values[name] if values[name] is not None else kept[name]
        rows[values["id"]] = values
    listed = list(rows.values())
    table = BalanceTransaction
    for start in range(0, len(listed), BATCH):
        stmt = insert(table).values(listed[start:start + BATCH])
        new = stmt.excluded
        changed = {"status": new.status,
                   "payout_id": db.func.coalesce(new.payout_id, table.payout_id),
                   "payment_id": db.func.coalesce(new.payment_id, table.payment_id)}
        moved = or_(table.status.is_distinct_from(new.status),
                    and_(new.payout_id.is_not(None),
                         table.payout_id.is_distinct_from(new.payout_id)),
                    and_(new.payment_id.is_not(None),
                         table.payment_id.is_distinct_from(new.payment_id)))
        db.session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=changed,
                                                      where=moved))


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
