"""The payments' jobs: applying the Stripe events the webhook kept, and reconciling card payments
with Stripe.

- `payments.apply_events` applies the Stripe events the webhook endpoint kept: the endpoint defers
  it on its own connection with a queueing lock (`service.receive_event`), so a burst of events
  finds one job waiting and adds none; `payments.sweep_events`, every 2 seconds, is the guarantee
  (for an event committed just after a job had looked, or a failed one whose retry falls due).
- `payments.reconcile`, every minute, asks Stripe about payments stuck between our row and Stripe.

Each run is bounded in count and time, so a stopping worker is never held for long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.jobs.queue import defer_unless_waiting
from portal.payments.inbox import apply_received
from portal.payments.reconcile import reconcile
from portal.payments.task_names import APPLY_EVENTS, EVENTS_QUEUE

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask
    from procrastinate import JobContext

#: The queue of the payments' slower jobs (reconciling here, charging plans in `plans.tasks`).
QUEUE = "payments"
RECONCILE_PAYMENTS = "payments.reconcile"
#: Every minute: a payment stuck between our row and Stripe is resolved within minutes.
RECONCILE_CRON = "* * * * *"
SWEEP_EVENTS = "payments.sweep_events"
#: Every 2 seconds: what the on-demand job missed is applied within a few seconds.
EVENTS_CRON = "* * * * * */2"
#: At most this many events, and about this many seconds, per job run.
EVENTS_BATCH = 200
EVENTS_SECONDS = 5.0


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define the payments' tasks on this procrastinate App, bound to this Flask app."""

    @jobs.periodic(cron=RECONCILE_CRON, periodic_id="payments")
    @jobs.task(name=RECONCILE_PAYMENTS, queue=QUEUE, queueing_lock=RECONCILE_PAYMENTS)
    def reconcile_payments(timestamp: int) -> int:
        """Ask Stripe about payments stuck after a crash, a timeout or a lost webhook."""
        with flask_app.app_context():
            return sum(reconcile().values())

    def apply_events(context: JobContext) -> int:
        with flask_app.app_context():
            counts = apply_received(EVENTS_BATCH, seconds=EVENTS_SECONDS,
                                    should_stop=context.should_abort)
            if counts.get("more"):  # a backlog: one more job, for this or another worker
                defer_unless_waiting(jobs, APPLY_EVENTS)
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
