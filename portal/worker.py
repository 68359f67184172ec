"""The worker: which capabilities' tasks it runs, and `flask --app portal worker` to run it (start
as many as you like, anywhere; they share the one database).

Each capability defines its own tasks in its `tasks.py`; the app factory hands `REGISTRARS` to the
job queue (`portal.jobs.queue.init_app`), which imports none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import click
import procrastinate
from flask import Blueprint, current_app

from portal.cases import tasks as cases_tasks
from portal.contact import tasks as contact_tasks
from portal.jobs import heartbeat
from portal.jobs.queue import job_app
from portal.logs import configure as configure_logs
from portal.messaging import tasks as messaging_tasks
from portal.outbox import tasks as outbox_tasks
from portal.outbox.delivery import TIMEOUT
from portal.payments import tasks as payments_tasks
from portal.placements import tasks as placements_tasks
from portal.plans import tasks as plans_tasks
from portal.reconcile import tasks as reconcile_tasks

#: Every capability's tasks, as the worker (and whoever defers them) knows them.
REGISTRARS = (
    outbox_tasks.register,
    contact_tasks.register,
    payments_tasks.register,
    plans_tasks.register,
    cases_tasks.register,
    messaging_tasks.register,
    placements_tasks.register,
    reconcile_tasks.register,
)

bp = Blueprint("jobs_cli", __name__, cli_group=None)

#: How long a stopping worker lets running jobs go on before stopping them between two deliveries.
GRACE = TIMEOUT + 5


@bp.cli.command("worker")
@click.option("--concurrency", default=1, show_default=True, help="Jobs run at once.")
@click.option("--queue", "queues", multiple=True, help="Only these queues (default: all).")
@click.option("--once", is_flag=True, help="Run what is queued now, then stop.")
@click.option("--verbose", is_flag=True, help="Log every job, not only deliveries and problems.")
def worker_command(concurrency: int, queues: tuple[str, ...], once: bool, verbose: bool) -> None:
    """Run background jobs (webhook delivery every few seconds) until stopped.

    SIGINT (Ctrl-C) or SIGTERM stops it gracefully: running jobs may finish, for a few seconds more
    than one webhook's timeout. Further signals while it stops change nothing."""
    configure_logs(current_app.config["LOG_FORMAT"])
    logging.getLogger("procrastinate").setLevel(logging.INFO if verbose else logging.WARNING)
    jobs = job_app(current_app._get_current_object())
    click.echo(f"worker: {'draining the queue once' if once else 'running until stopped'}"
               f" (queues: {', '.join(queues) or 'all'}, concurrency {concurrency})", err=True)
    asyncio.run(_run(jobs, concurrency=concurrency, queues=list(queues) or None, wait=not once,
                     shutdown_graceful_timeout=GRACE,
                     flask_app=current_app._get_current_object()))


def _beat(flask_app, worker: str, stopping: bool = False) -> None:
    """Write (or, stopping, remove) this worker's heartbeat; a database that is down is logged,
    not fatal: the jobs themselves will say more."""
    with flask_app.app_context():
        try:
            (heartbeat.stop if stopping else heartbeat.beat)(worker)
        except Exception:  # noqa: BLE001 - any failure to write it is only a missed beat
            logging.getLogger("portal.jobs").warning("worker heartbeat not written",
                                                     exc_info=True)


async def _heartbeats(flask_app, worker: str) -> None:
    """This worker's heartbeat every `heartbeat.INTERVAL`, for /readyz, until cancelled."""
    while True:
        await asyncio.to_thread(_beat, flask_app, worker)
        await asyncio.sleep(heartbeat.INTERVAL.total_seconds())


async def _run(jobs: procrastinate.App, flask_app=None, **options) -> None:
    """procrastinate's worker, stopped by cancelling it (its documented graceful path) on the first
    signal only: a second one (Ctrl-C reaches every process of `make run`, whose trap then sends
    SIGTERM too) must not cut the shutdown short."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()

    def request_stop() -> None:
        stop_requested.set()

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig in signals:
        loop.add_signal_handler(sig, request_stop)
    try:
        async with jobs.open_async():
            work = asyncio.create_task(jobs.run_worker_async(install_signal_handlers=False,
                                                             **options))
            stopper = asyncio.create_task(stop_requested.wait())
            name = heartbeat.this_worker()
            beats = asyncio.create_task(_heartbeats(flask_app, name)) if flask_app else None
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                click.echo("worker: stopping", err=True)
                work.cancel()
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            if beats is not None:
                beats.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beats
                await asyncio.to_thread(_beat, flask_app, name, True)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous[sig])
