"""Stripe's balance transactions, kept: the one place that records what Stripe settled and says
which payments' money is available to remit (lenders' statements read it; reconciliation fills
and checks it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, or_, text
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


#: Up to this many, one INSERT; more (a reconciliation's month) go through COPY.
SMALL = 200
COLUMNS = ("id", "reporting_category", "type", "source_id", "payment_id", "amount_minor",
           "fee_minor", "net_minor", "currency", "status", "created_at", "available_on",
           "payout_id")
#: A later report moves only status, payout and payment, and writes only when one of them moves.
_UPSERT = f"""
    INSERT INTO balance_transaction ({", ".join(COLUMNS)})
    {{source}}
    ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,
        payout_id = COALESCE(EXCLUDED.payout_id, balance_transaction.payout_id),
        payment_id = COALESCE(EXCLUDED.payment_id, balance_transaction.payment_id)
    WHERE balance_transaction.status IS DISTINCT FROM EXCLUDED.status
       OR (EXCLUDED.payout_id IS NOT NULL
           AND balance_transaction.payout_id IS DISTINCT FROM EXCLUDED.payout_id)
       OR (EXCLUDED.payment_id IS NOT NULL
           AND balance_transaction.payment_id IS DISTINCT FROM EXCLUDED.payment_id)"""


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
    if len(listed) > SMALL:
        _copy_in(listed)
        return
    table = BalanceTransaction
    if not listed:
        return
    stmt = insert(table).values(listed)
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


def _copy_in(rows: list[dict]) -> None:
    """Many rows: COPY into a scratch table of this transaction, then one upsert from it."""
    cursor = db.session.connection().connection.driver_connection.cursor()
    cursor.execute("CREATE TEMP TABLE IF NOT EXISTS incoming_balance_transaction "
                   "(LIKE balance_transaction INCLUDING DEFAULTS) ON COMMIT DROP")
    cursor.execute("TRUNCATE incoming_balance_transaction")
    with cursor.copy(f"COPY incoming_balance_transaction ({', '.join(COLUMNS)}) "
                     "FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in COLUMNS])
    record_from(f"SELECT {', '.join(COLUMNS)} FROM incoming_balance_transaction")


def record_from(source: str) -> None:
    """Keep the balance transactions a query gives (`COLUMNS`, in order; each id once), as
    `record_many` keeps them: the month a reconciliation copied in (reconcile/keeping.py)."""
    db.session.connection().exec_driver_sql(_UPSERT.format(source=source))


def available(payment_ids: Iterable[int], on: datetime) -> set[int]:
    """The payments among these whose charge Stripe reports available by `on` (remittable)."""
    ids = list(payment_ids)
    if not ids:
        return set()
    return set(db.session.scalars(text(available_sql(
        "unnest(CAST(:ids AS bigint[])) AS t (id)", "on")), {"ids": ids, "on": on}))


def available_sql(payments: str, on: str) -> str:
    """`available` as SQL, for a query of a month's payments (a statement's): the ids among
    `payments` (a relation with an `id`) whose charge is available by the parameter `on`."""
    return f"""
        SELECT DISTINCT b.payment_id FROM balance_transaction b JOIN {payments}
            ON t.id = b.payment_id
        WHERE b.reporting_category = 'charge' AND b.available_on <= :{on}"""
