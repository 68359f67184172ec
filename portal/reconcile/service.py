"""A reconciliation run: Stripe's month read first (no transaction open while Stripe is asked),
then kept in one transaction by the database (`keeping`): every balance transaction linked to
its payment and kept by `settlement`, and the agency's items written as the difference from the
last run, so running twice changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from portal.agency.models import Agency
from portal.extensions import db
from portal.operations import operation, reading
from portal.reconcile import keeping, matching
from portal.reconcile.models import ReconciliationRun
from portal.reconcile.period import Period
from portal.reconcile.stripe_lists import StripeLists

log = logging.getLogger("portal.reconcile")

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


@operation
def store(agency_id: int, period: Period, found: matching.Stripe, now: datetime) -> RunResult:
    """Keep what Stripe said and this agency's items for the month, in one transaction."""
    return store_in_transaction(agency_id, period, found, now)


def store_in_transaction(agency_id: int, period: Period, found: matching.Stripe,
                         now: datetime) -> RunResult:
    """`store` inside the caller's transaction (the demo seed's)."""
    keeping.copy_month(found)
    keeping.want(agency_id, period.start, period.end,
                 [matching.payout_item(payout, txns) for payout, txns in found.payouts])
    run_row = db.session.scalar(select(ReconciliationRun).where(
        ReconciliationRun.agency_id == agency_id,
        ReconciliationRun.period == period.first_day).with_for_update())
    if run_row is None:
        run_row = ReconciliationRun(agency_id=agency_id, period=period.first_day,
                                    checked_at=now, changed_at=now)
        db.session.add(run_row)
        db.session.flush()
    items, added, changed, removed = keeping.keep(run_row.id)
    run_row.checked_at = now
    if added or changed or removed:
        run_row.changed_at = now
    log.info("reconciliation %s of agency %s: %d items (%d new, %d changed, %d gone)",
             period, agency_id, items, added, changed, removed)
    return RunResult(run_row.id, items, added, changed, removed)
