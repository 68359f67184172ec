"""The plans' job: autopay. `plans.charge_due`, every 5 minutes, charges the plan installments due
by autopay (each row locked, one charge per installment attempt), marks installments paid once
their payments succeeded, breaks plans past their grace days and sends the reminders due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.payments.tasks import QUEUE
from portal.plans.charging import charge_due

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask

CHARGE_PLANS = "plans.charge_due"
#: Every 5 minutes: installments due today are charged early in the day, reminders go when the
#: contact rules first allow them.
PLANS_CRON = "*/5 * * * *"


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define the plans' tasks on this procrastinate App, bound to this Flask app."""

    # On the payments' queue: it charges cards, as reconciling does.
    @jobs.periodic(cron=PLANS_CRON, periodic_id="plans")
    @jobs.task(name=CHARGE_PLANS, queue=QUEUE, queueing_lock=CHARGE_PLANS)
    def charge_plans(timestamp: int) -> int:
        """Charge the plan installments due (autopay), settle, break overdue plans, remind."""
        with flask_app.app_context():
            return sum(charge_due().values())
