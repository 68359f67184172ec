"""The outbox's jobs: delivering what is due, every few seconds and on demand.

- `outbox.sweep` is deferred by the workers every few seconds (a procrastinate periodic task; the
  database lets only one worker defer each tick, and its queueing lock keeps at most one waiting).
  It is what guarantees delivery: whatever is due is sent by the next sweep.
- `outbox.deliver` does the same work on demand: `request_delivery()` defers it on the caller's own
  connection, so it becomes visible to the workers exactly when the transaction that wrote the
  outbox messages commits (and vanishes if it rolls back) — delivery within moments instead of
  within a sweep interval. A batch that finds more due than it may take defers one more
  `outbox.deliver`, so idle workers on other machines join in on a backlog.

Each run is bounded in count and time, so a stopping worker is never held for long.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from portal.jobs.queue import defer_in_transaction, defer_unless_waiting
from portal.operations import reading
from portal.outbox.delivery import deliver_one, due_count

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask
    from procrastinate import JobContext

QUEUE = "outbox"
DELIVER = "outbox.deliver"
SWEEP = "outbox.sweep"
#: Every 5 seconds (procrastinate's cron, croniter, takes seconds as a sixth field, last:
#: "*/5 * * * * *" would be every second of every fifth minute).
SWEEP_CRON = "* * * * * */5"
#: At most this many deliveries, and about this many seconds, per job run.
BATCH = 50
BATCH_SECONDS = 5.0
FAN_OUT_LOCK = "outbox.fan-out"


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define the outbox's tasks on this procrastinate App, bound to this Flask app."""

    def run_batch(context: JobContext) -> int:
        with flask_app.app_context():
            with reading("the outbox's backlog"):
                backlog = due_count(at_most=BATCH + 1) > BATCH
            if backlog:  # more than one batch: call in another worker
                defer_unless_waiting(jobs, DELIVER, queueing_lock=FAN_OUT_LOCK)
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


def request_delivery() -> int:
    """Defer `outbox.deliver` inside the current database transaction (after `publish`): it is
    committed, or rolled back, with the messages. Returns the job's id."""
    return defer_in_transaction(DELIVER)
