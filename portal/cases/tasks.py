"""The case record's job: `cases.export_heads`, every hour, writes a signed export of every
stream's head to CHAIN_EXPORT_DIR, so deleting the newest events is seen by `cases verify`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.cases.service import export_heads

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask

QUEUE = "cases"
EXPORT_HEADS = "cases.export_heads"
#: Every hour, on the hour: what a writer could delete unseen is at most an hour of events.
EXPORT_CRON = "0 * * * *"


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define the case record's tasks on this procrastinate App, bound to this Flask app."""

    @jobs.periodic(cron=EXPORT_CRON, periodic_id="chain-heads")
    @jobs.task(name=EXPORT_HEADS, queue=QUEUE, queueing_lock=EXPORT_HEADS)
    def export_heads_task(timestamp: int) -> int:
        """Write a signed export of every stream's head; return how many streams it holds."""
        with flask_app.app_context():
            return len(export_heads().streams)
