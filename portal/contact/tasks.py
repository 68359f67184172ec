"""Contact's job: recording the end of holds that lapse by themselves (a UK breathing space ends
on day 61 without anyone acting), so the record, the dialers and the CRM learn of it within a
minute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.contact.operations import end_lapsed_holds
from portal.outbox.tasks import QUEUE

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask

END_HOLDS = "contact.end_lapsed_holds"
#: Every minute: a lapsed hold's end is recorded (and announced) within a minute of it.
HOLDS_CRON = "* * * * *"


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define contact's tasks on this procrastinate App, bound to this Flask app."""

    # On the outbox's queue: the hold's end is announced through the outbox.
    @jobs.periodic(cron=HOLDS_CRON, periodic_id="holds")
    @jobs.task(name=END_HOLDS, queue=QUEUE, queueing_lock=END_HOLDS)
    def end_lapsed_holds_task(timestamp: int) -> int:
        """Record the end of holds that lapsed by themselves (breathing space day 61)."""
        with flask_app.app_context():
            return end_lapsed_holds()
