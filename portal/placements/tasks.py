"""Placements' job: place staged imports chunk by chunk, on demand and every minute.

`start` defers `placements.run` in its own transaction; the minute's tick picks up an import whose
worker was killed (its cursor says where to go on: the chunk that was cut short rolled back whole).
Each run is bounded in time, then hands over to a fresh job, so a stopping worker is never held.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from portal.jobs.queue import defer_unless_waiting
from portal.placements.service import RUN_TASK, run_chunk

if TYPE_CHECKING:
    import procrastinate
    from flask import Flask
    from procrastinate import JobContext

QUEUE = "placements"
#: Every minute: an import left half done by a killed worker goes on within a minute.
RUN_CRON = "* * * * *"
#: About this many seconds of chunks per job run.
RUN_SECONDS = 30.0


def register(jobs: procrastinate.App, flask_app: Flask) -> None:
    """Define placements' tasks on this procrastinate App, bound to this Flask app."""

    @jobs.periodic(cron=RUN_CRON, periodic_id="placements")
    @jobs.task(name=RUN_TASK, queue=QUEUE, queueing_lock=RUN_TASK, pass_context=True)
    def run(context: JobContext, timestamp: int | None = None) -> int:
        """Place staged chunks, oldest import first, until none is left or time is up."""
        placed = 0
        deadline = time.monotonic() + RUN_SECONDS
        with flask_app.app_context():
            while True:
                if time.monotonic() >= deadline or context.should_abort():
                    defer_unless_waiting(jobs, RUN_TASK, queueing_lock=RUN_TASK)
                    return placed
                if run_chunk() is None:
                    return placed
                placed += 1
