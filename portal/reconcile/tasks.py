"""Reconciliation's job: `reconcile.run`, every hour at minute 17, reads this month and the last
from Stripe (the last month still moves: refunds, disputes, payouts arrive after it ends) and
keeps every agency's items. A run that finds nothing new writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from portal.reconcile.period import Period
from portal.reconcile.service import run_all

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask

QUEUE = "payments"
RUN = "reconcile.run"
#: Every hour, at minute 17 (away from the hour's other jobs).
RUN_CRON = "17 * * * *"


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define reconciliation's task on this procrastinate App, bound to this Flask app."""

    @jobs.periodic(cron=RUN_CRON, periodic_id="reconcile")
    @jobs.task(name=RUN, queue=QUEUE, queueing_lock=RUN)
    def reconcile_task(timestamp: int) -> int:
        """Reconcile this month and the last with Stripe, for every agency; return the lines."""
        this_month = Period.of(datetime.fromtimestamp(timestamp, UTC).date())
        with flask_app.app_context():
            return sum(result.items for period in (this_month.previous, this_month)
                       for result in run_all(period).values())
