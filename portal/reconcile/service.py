"""A reconciliation run: Stripe's month read first (no transaction open while Stripe is asked),
then kept in one transaction — every balance transaction through `settlement.record_many`,
linked to its payment, and the agency's items written as the difference from the last run, so
running twice changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import String, any_, bindparam, cast, delete, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from portal.accounts.models import Account, Creditor
from portal.agency.models import Agency
from portal.bulk import insert_rows
from portal.extensions import db
from portal.operations import operation, reading
from portal.payments import settlement
from portal.payments.models import BalanceTransaction, Payment
from portal.reconcile import matching
from portal.reconcile.matching import Item, Ours, Recorded
from portal.reconcile.models import ReconciliationItem, ReconciliationRun
from portal.reconcile.period import Period
from portal.reconcile.stripe_lists import StripeLists

log = logging.getLogger("portal.reconcile")

#: The item's columns a run compares (anything else about a row is its identity).
FIELDS = ("category", "outcome", "currency", "stripe_minor", "ours_minor", "fee_minor",
          "net_minor", "payment_id", "creditor_id", "balance_transaction_id", "source_id",
          "payout_id", "occurred_at")


@dataclass(frozen=True)
class RunResult:
    """What a run did: its id, how many items it found, and how many rows it changed."""

    run_id: int
    items: int
    added: int
    changed: int
    removed: int


def run(agency_id: int, period: Period, lists: StripeLists | None = None,
        now: datetime | None = None) -> RunResult:
    """Reconcile one agency's month with Stripe (GatewayError if Stripe cannot be read)."""
    found = (lists or StripeLists.of_gateway()).read(period)
    return store(agency_id, period, found, now or datetime.now(UTC))


def run_all(period: Period, lists: StripeLists | None = None) -> dict[int, RunResult]:
    """Every agency's month, Stripe read once."""
    found = (lists or StripeLists.of_gateway()).read(period)
    with reading("reconcile.agencies"):
        agencies = list(db.session.scalars(select(Agency.id).order_by(Agency.id)))
    now = datetime.now(UTC)
    return {agency_id: store(agency_id, period, found, now) for agency_id in agencies}


def _texts(values) -> object:
    return any_(cast(bindparam(None, sorted(v for v in values if v), type_=ARRAY(String)),
                     ARRAY(String)))


def _payments(found: matching.Stripe, agency_id: int, period: Period) -> list[Ours]:
    """Every payment Stripe's month names (any agency: a transaction is linked whoever's it
    is), and the agency's payments that succeeded in the month (to find what Stripe lacks).
    The month's own payments are read first by when they succeeded; only the charges and
    PaymentIntents they do not account for (an earlier month's refunded charge, another
    agency's) are then looked up by id, so a month of 200,000 charges is not sent as a list."""
    charges = {matching.source_of(t) for t in found.balance_transactions}
    charges |= set(found.charges)
    intents = {matching.id_of(c.get("payment_intent")) for c in found.charges.values()}
    for reversal in [*found.refunds.values(), *found.disputes.values()]:
        charges.add(matching.id_of(reversal.get("charge")))
        intents.add(matching.id_of(reversal.get("payment_intent")))
    for _payout, txns in found.payouts:
        charges |= {matching.source_of(t) for t in txns}
    columns = select(
        Payment.id, Payment.charge_id, Payment.payment_intent_id, Payment.amount_minor,
        Payment.currency, Payment.status, Payment.refunded_minor, Payment.charged_back_minor,
        Payment.succeeded_at, Account.creditor_id, Creditor.agency_id) \
        .join(Account, Account.id == Payment.account_id) \
        .join(Creditor, Creditor.id == Account.creditor_id)
    ours = [Ours(*row) for row in db.session.execute(columns.where(
        Creditor.agency_id == agency_id, Payment.succeeded_at >= period.start,
        Payment.succeeded_at < period.end))]
    charges -= {p.charge_id for p in ours}
    intents -= {p.intent_id for p in ours}
    charges.discard(None)
    intents.discard(None)
    if charges or intents:
        known = {p.id for p in ours}
        ours += [Ours(*row) for row in db.session.execute(columns.where(or_(
            Payment.charge_id == _texts(charges), Payment.payment_intent_id == _texts(intents))))
            if row.id not in known]
    return ours


def _recorded(payment_ids: list[int]) -> list[Recorded]:
    if not payment_ids:
        return []
    return [Recorded(*row) for row in db.session.execute(
        select(BalanceTransaction.id, BalanceTransaction.reporting_category,
               BalanceTransaction.amount_minor, BalanceTransaction.payment_id)
        .where(BalanceTransaction.payment_id == any_(cast(
            bindparam(None, payment_ids, type_=ARRAY(db.BigInteger)), ARRAY(db.BigInteger)))))]


@operation
def store(agency_id: int, period: Period, found: matching.Stripe, now: datetime) -> RunResult:
    """Keep what Stripe said and this agency's items for the month, in one transaction."""
    return store_in_transaction(agency_id, period, found, now)


def store_in_transaction(agency_id: int, period: Period, found: matching.Stripe,
                         now: datetime) -> RunResult:
    """`store` inside the caller's transaction (the demo seed's)."""
    payments = _payments(found, agency_id, period)
    linked = matching.link(found, payments)
    settlement.record_many([(t, linked[t["id"]]) for t in _each_once(found)])
    recorded = _recorded(sorted({p.id for p in payments}))
    items = matching.match(found, payments, recorded, agency_id, period.start, period.end)
    return _keep(agency_id, period, items, now)


def _each_once(found: matching.Stripe) -> list[dict]:
    """Each balance transaction once, as `settlement.record_many` would keep the month's list
    and then the payouts' lists (most transactions are in both): the later report, with the
    payout that paid it out."""
    once = {t["id"]: t for t in found.balance_transactions}
    for payout, txns in found.payouts:
        for t in txns:
            once[t["id"]] = {**t, "payout": t.get("payout") or payout["id"]}
    return list(once.values())


def _keep(agency_id: int, period: Period, items: list[Item], now: datetime) -> RunResult:
    """Write the items as the difference from what the last run kept."""
    run_row = db.session.scalar(select(ReconciliationRun).where(
        ReconciliationRun.agency_id == agency_id,
        ReconciliationRun.period == period.first_day).with_for_update())
    if run_row is None:
        run_row = ReconciliationRun(agency_id=agency_id, period=period.first_day,
                                    checked_at=now, changed_at=now)
        db.session.add(run_row)
        db.session.flush()
    kept = {row.key: row for row in db.session.execute(
        select(ReconciliationItem.id, ReconciliationItem.key,
               *(getattr(ReconciliationItem, f) for f in FIELDS))
        .where(ReconciliationItem.run_id == run_row.id))}
    wanted = {item.key: item for item in items}
    added = [dict(run_id=run_row.id, key=k, **{f: getattr(i, f) for f in FIELDS})
             for k, i in wanted.items() if k not in kept]
    changed = [dict(item_id=kept[k].id, **{f: getattr(i, f) for f in FIELDS})
               for k, i in wanted.items()
               if k in kept and tuple(getattr(kept[k], f) for f in FIELDS)
               != tuple(getattr(i, f) for f in FIELDS)]
    gone = [row.id for k, row in kept.items() if k not in wanted]
    insert_rows(ReconciliationItem.__table__, added)
    if changed:
        table = ReconciliationItem.__table__
        db.session.execute(update(table).where(table.c.id == bindparam("item_id"))
                           .values({f: bindparam(f) for f in FIELDS}), changed)
    if gone:
        db.session.execute(delete(ReconciliationItem).where(ReconciliationItem.id.in_(gone)))
    run_row.checked_at = now
    if added or changed or gone:
        run_row.changed_at = now
    log.info("reconciliation %s of agency %s: %d items (%d new, %d changed, %d gone)",
             period, agency_id, len(items), len(added), len(changed), len(gone))
    return RunResult(run_row.id, len(items), len(added), len(changed), len(gone))
