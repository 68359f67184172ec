"""The outgoing queue's jobs: sending what is due, on demand and every few seconds.

- `messaging.send` is deferred by `service.send` in the transaction that wrote the message (one
  waiting per urgency, by its queueing lock): a sign-in code goes the moment its click commits.
- `messaging.sweep` runs every 5 seconds and sends whatever is due (retries, and anything a
  missed job left): it is what guarantees delivery.
A run that finds more due than one batch defers one more `messaging.send`, so idle workers on other
machines join in on a backlog. Each run is bounded in count and time.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from portal.jobs.queue import defer_unless_waiting
from portal.messaging.outgoing import due_count, send_due
from portal.messaging.service import LOCKS, QUEUE, SEND_TASK
from portal.operations import reading

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask
    from procrastinate import JobContext

SWEEP = "messaging.sweep"
SWEEP_CRON = "* * * * * */5"
#: At most this many messages, and about this many seconds, per job run.
BATCH = 500
BATCH_SECONDS = 10.0


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define the messaging tasks on this procrastinate App, bound to this Flask app."""

    def run_batch(context: JobContext) -> int:
        with flask_app.app_context():
            with reading("the outgoing backlog"):
                backlog = due_count(at_most=BATCH + 1) > BATCH
            if backlog:
                defer_unless_waiting(jobs, SEND_TASK, queueing_lock=LOCKS[False])
            deadline = time.monotonic() + BATCH_SECONDS
            return len(send_due(limit=BATCH, should_stop=lambda: (
                time.monotonic() > deadline or context.should_abort())))

    @jobs.periodic(cron=SWEEP_CRON, periodic_id="messaging")
    @jobs.task(name=SWEEP, queue=QUEUE, queueing_lock=SWEEP, pass_context=True)
    def sweep(context: JobContext, timestamp: int) -> int:
        """Send what is due (every few seconds)."""
        return run_batch(context)

    @jobs.task(name=SEND_TASK, queue=QUEUE, pass_context=True)
    def send(context: JobContext) -> int:
        """Send what is due (now)."""
        return run_batch(context)
