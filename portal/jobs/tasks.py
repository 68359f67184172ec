"""The job engine's tasks: delivering the outbox, ending holds that lapse by themselves, applying
the Stripe events the webhook received, and reconciling card payments with Stripe.

- `outbox.sweep` is deferred by the workers every few seconds (a procrastinate periodic task; the
  database lets only one worker defer each tick, and its queueing lock keeps at most one waiting).
  It is what guarantees delivery: whatever is due is sent by the next sweep.
- `outbox.deliver` does the same work on demand: `request_delivery()` defers it on the caller's own
  connection, so it becomes visible to the workers exactly when the transaction that wrote the
  outbox messages commits (and vanishes if it rolls back) — delivery within moments instead of
  within a sweep interval. A batch that finds more due than it may take defers one more
  `outbox.deliver`, so idle workers on other machines join in on a backlog.

- `plans.charge_due`, every 5 minutes, charges the plan installments due by autopay (each row
  locked, one charge per installment attempt), marks installments paid once their payments
  succeeded, breaks plans past their grace days and sends the reminders due.

- `payments.apply_events` applies the Stripe events the webhook endpoint kept: the endpoint defers
  it on its own connection with a queueing lock (`request_stripe_events()`), so a burst of events
  finds one job waiting and adds none; `payments.sweep_events`, every 2 seconds, is the guarantee
  (for an event committed just after a job had looked, or a failed one whose retry falls due).

Each run is bounded in count and time, so a stopping worker is never held for long.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from procrastinate import exceptions
from procrastinate.jobs import JobDeferrer
from procrastinate.manager import JobManager
from procrastinate.sync_psycopg_connector import SyncPsycopgConnector

from portal.extensions import db
from portal.outbox.delivery import deliver_one, due_count

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask
    from procrastinate import JobContext

log = logging.getLogger("portal.jobs")

QUEUE = "outbox"
DELIVER = "outbox.deliver"
SWEEP = "outbox.sweep"
#: Every 5 seconds (procrastinate's cron takes seconds as a sixth field).
SWEEP_CRON = "*/5 * * * * *"
#: At most this many deliveries, and about this many seconds, per job run.
BATCH = 50
BATCH_SECONDS = 5.0
FAN_OUT_LOCK = "outbox.fan-out"
END_HOLDS = "contact.end_lapsed_holds"
#: Every minute: a lapsed hold's end is recorded (and announced) within a minute of it.
HOLDS_CRON = "* * * * *"
RECONCILE_PAYMENTS = "payments.reconcile"
#: Every minute: a payment stuck between our row and Stripe is resolved within minutes.
RECONCILE_CRON = "* * * * *"
APPLY_EVENTS = "payments.apply_events"
SWEEP_EVENTS = "payments.sweep_events"
#: Every 2 seconds: what the on-demand job missed is applied within a few seconds.
EVENTS_CRON = "*/2 * * * * *"
EVENTS_QUEUE = "stripe-events"
#: At most this many events, and about this many seconds, per job run.
EVENTS_BATCH = 200
EVENTS_SECONDS = 5.0
CHARGE_PLANS = "plans.charge_due"
#: Every 5 minutes: installments due today are charged early in the day, reminders go when the
#: contact rules first allow them.
PLANS_CRON = "*/5 * * * *"


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define the tasks on this procrastinate App, bound to this Flask app."""

    def run_batch(context: JobContext) -> int:
        with flask_app.app_context():
            if due_count(at_most=BATCH + 1) > BATCH:
                _fan_out(jobs)
            db.session.rollback()
            sent = 0
            deadline = time.monotonic() + BATCH_SECONDS
            while sent < BATCH and time.monotonic() < deadline and not context.should_abort():
                if deliver_one() is None:
                    break
                sent += 1
            return sent

    @jobs.periodic(cron=SWEEP_CRON, periodic_id="outbox")
    @jobs.task(name=SWEEP, queue=QUEUE, queueing_lock=SWEEP, pass_context=True)
    def sweep(context: JobContext, timestamp: int) -> int:
        """Deliver what is due (every few seconds)."""
        return run_batch(context)

    @jobs.task(name=DELIVER, queue=QUEUE, pass_context=True)
    def deliver_outbox(context: JobContext) -> int:
        """Deliver what is due (now)."""
        return run_batch(context)


    @jobs.periodic(cron=HOLDS_CRON, periodic_id="holds")
    @jobs.task(name=END_HOLDS, queue=QUEUE, queueing_lock=END_HOLDS)
    def end_lapsed_holds(timestamp: int) -> int:
        """Record the end of holds that lapsed by themselves (breathing space day 61)."""
        from portal.contact.operations import end_lapsed_holds as end

        with flask_app.app_context():
            return end()

    @jobs.periodic(cron=RECONCILE_CRON, periodic_id="payments")
    @jobs.task(name=RECONCILE_PAYMENTS, queue="payments", queueing_lock=RECONCILE_PAYMENTS)
    def reconcile_payments(timestamp: int) -> int:
        """Ask Stripe about payments stuck after a crash, a timeout or a lost webhook."""
        from portal.payments.service import reconcile

        with flask_app.app_context():
            return sum(reconcile().values())

    @jobs.periodic(cron=PLANS_CRON, periodic_id="plans")
    @jobs.task(name=CHARGE_PLANS, queue="payments", queueing_lock=CHARGE_PLANS)
    def charge_plans(timestamp: int) -> int:
        """Charge the plan installments due (autopay), settle, break overdue plans, remind."""
        from portal.plans.charging import charge_due

        with flask_app.app_context():
            return sum(charge_due().values())

    def apply_events(context: JobContext) -> int:
        from portal.payments.service import apply_received

        with flask_app.app_context():
            counts = apply_received(EVENTS_BATCH, seconds=EVENTS_SECONDS,
                                    should_stop=context.should_abort)
            if counts.get("more"):  # a backlog: one more job, for this or another worker
                _defer_once(jobs, APPLY_EVENTS)
            return counts.get("applied", 0)

    @jobs.periodic(cron=EVENTS_CRON, periodic_id="stripe-events")
    @jobs.task(name=SWEEP_EVENTS, queue=EVENTS_QUEUE, queueing_lock=SWEEP_EVENTS,
               pass_context=True)
    def sweep_events(context: JobContext, timestamp: int) -> int:
        """Apply the Stripe events still waiting, and the failed ones due again (every 2 s)."""
        return apply_events(context)

    @jobs.task(name=APPLY_EVENTS, queue=EVENTS_QUEUE, queueing_lock=APPLY_EVENTS,
               pass_context=True)
    def apply_stripe_events(context: JobContext) -> int:
        """Apply the Stripe events the webhook just received (now)."""
        return apply_events(context)


def _defer_once(jobs: procrastinate.App, name: str) -> None:
    try:
        jobs.configure_task(name).defer()
    except exceptions.AlreadyEnqueued:
        pass  # one is already waiting for a free worker


def _fan_out(jobs: procrastinate.App) -> None:
    try:
        jobs.configure_task(DELIVER, queueing_lock=FAN_OUT_LOCK).defer()
    except exceptions.AlreadyEnqueued:
        pass  # one is already waiting for a free worker


# A connector that is never opened: it only ever runs on a connection it is handed.
_on_callers_connection = JobManager(connector=SyncPsycopgConnector())


def request_delivery() -> int:
    """Defer `outbox.deliver` inside the current database transaction (after `publish`): it is
    committed, or rolled back, with the messages. Returns the job's id."""
    from portal.jobs.app import job_app

    driver_connection = db.session.connection().connection.driver_connection
    job = job_app().configure_task(DELIVER).job
    return JobDeferrer(_on_callers_connection, job, connection=driver_connection).defer()


def request_stripe_events() -> None:
    """Defer `payments.apply_events` inside the current database transaction (after the webhook
    kept an event): visible to the workers when it commits. Its queueing lock allows one waiting
    job: when there is one, it will find this event too (or the next sweep will), so nothing is
    added. A savepoint keeps the refused insert from aborting the caller's transaction."""
    from portal.jobs.app import job_app

    job = job_app().configure_task(APPLY_EVENTS).job
    try:
        with db.session.begin_nested():
            # Asked for inside the nested transaction, the connection has its SAVEPOINT.
            driver_connection = db.session.connection().connection.driver_connection
            JobDeferrer(_on_callers_connection, job, connection=driver_connection).defer()
    except exceptions.AlreadyEnqueued:
        pass
