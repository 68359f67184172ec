"""The job queue: the procrastinate App of a Flask app (jobs kept in the app's own PostgreSQL
database) and the helpers that defer a task by its name.

This module knows no task and imports nothing of the domain: each capability defines its own
tasks in its `tasks.py` (a `register(jobs, flask_app)` function), and the app factory hands the
worker's list of those functions to `init_app`. The job engine's tables are its own business: we
defer and ask through procrastinate's own API, on the caller's connection, never naming them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, LiteralString

import procrastinate
import psycopg
from flask import Flask, current_app
from procrastinate import exceptions
from procrastinate.jobs import Job, JobDeferrer
from procrastinate.manager import JobManager
from procrastinate.sync_psycopg_connector import SyncPsycopgConnector
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from portal.extensions import db
from portal.jobs.observe import META, log_job
from portal.logs import current_request_id

#: The keyword argument every job we defer carries besides its task's own (`META`): the request
#: that queued it and when; the worker's middleware (`portal.jobs.observe`) takes it off again.

EXTENSION = "portal.jobs"
REGISTRARS = "portal.jobs.registrars"
_lock = threading.Lock()

#: A capability's `tasks.register`: defines its tasks on the App, bound to the Flask app.
Registrar = Callable[[procrastinate.App, Flask], None]

#: Worker settings unless the command line says otherwise. Finished jobs are deleted (a periodic
#: task every few seconds would otherwise grow the table forever); failed ones stay to be looked at.
WORKER_DEFAULTS = {
    "name": "portal",
    "delete_jobs": "successful",
    "worker_middleware": [log_job],
}


def conninfo(database_url: str) -> str:
    """A libpq connection string from a SQLAlchemy or libpq URL.

    SQLAlchemy's `postgresql+psycopg://` scheme means nothing to libpq, and the embedded server's
    socket URLs (`postgresql://postgres:@/portal?host=/path/to/socket`) carry the host as a query
    parameter: every part, query parameters included, becomes a `key=value` of the result.
    """
    url = make_url(database_url)
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError("the job queue needs a PostgreSQL database")
    params = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    for key, value in url.query.items():
        # Repeated parameters (several hosts) are comma lists in libpq.
        params[key] = ",".join(value) if isinstance(value, tuple) else value
    return make_conninfo(**{k: v for k, v in params.items() if v not in (None, "")})


def init_app(flask_app: Flask, registrars: Iterable[Registrar]) -> None:
    """Say which capabilities' tasks this Flask app's job queue has (the app factory's call)."""
    flask_app.extensions[REGISTRARS] = tuple(registrars)


def job_app(flask_app: Flask | None = None) -> procrastinate.App:
    """The procrastinate App bound to this Flask app's database (made once per Flask app)."""
    app = flask_app or current_app._get_current_object()
    jobs = app.extensions.get(EXTENSION)
    if jobs is not None:
        return jobs
    with _lock:
        jobs = app.extensions.get(EXTENSION)
        if jobs is None:
            jobs = _make(app)
            app.extensions[EXTENSION] = jobs
    return jobs


def _make(app: Flask) -> procrastinate.App:
    """An App with every registered capability's tasks; refused before `init_app`, since a task
    deferred by name on an App that does not know it would wait on the wrong queue forever."""
    if REGISTRARS not in app.extensions:
        raise RuntimeError("the job queue has no tasks: call portal.jobs.queue.init_app first")
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(app.config["SQLALCHEMY_DATABASE_URI"]),
        min_size=1,
        max_size=int(app.config.get("JOBS_POOL_SIZE", 4)),
        kwargs={"application_name": "portal-jobs"},
    )
    jobs = procrastinate.App(connector=connector, worker_defaults=dict(WORKER_DEFAULTS))
    for register in app.extensions[REGISTRARS]:
        register(jobs, app)
    return jobs


# A connector that is never opened: it only ever runs on a connection it is handed.
_on_callers_connection = JobManager(connector=SyncPsycopgConnector())


class _CallersConnection(SyncPsycopgConnector):
    """procrastinate's own queries, run on the connection it is handed (never opened either)."""

    def __init__(self, connection: psycopg.Connection):
        super().__init__()
        self._connection = connection

    def execute_query_all(self, query: LiteralString, **arguments: Any) -> list[dict[str, Any]]:
        return self.execute_query_all_with_connection(self._connection, query, **arguments)


def _driver_connection() -> psycopg.Connection:
    """The current session's own connection (asked for here, so inside a savepoint it is the
    connection that has the SAVEPOINT)."""
    return db.session.connection().connection.driver_connection


def waiting(queueing_lock: str) -> bool:
    """Whether a job with this queueing lock waits for a worker, as the current transaction sees
    it: procrastinate's own `list_jobs`, on the caller's connection."""
    manager = JobManager(connector=_CallersConnection(_driver_connection()))
    return bool(manager.list_jobs(queueing_lock=queueing_lock, status="todo"))


def defer_in_transaction(name: str, *, queueing_lock: str | None = None) -> int | None:
    """Defer the task `name` inside the current database transaction: committed with the caller's
    writes (visible to the workers at that moment), or rolled back with them. Returns the job's id.

    With a queueing lock (given here, or the task's own), at most one such job waits: when one
    already does, nothing is added and None is returned. Asking first (`waiting`) is cheaper than
    a refused insert; one deferred meanwhile by another transaction still refuses ours, in a
    savepoint, so the caller's transaction goes on."""
    job = job_app().configure_task(name, queueing_lock=queueing_lock).job
    if job.queueing_lock is None:
        return _defer(job)
    if waiting(job.queueing_lock):
        return None
    try:
        with db.session.begin_nested():
            return _defer(job)
    except exceptions.AlreadyEnqueued:
        return None  # one is already waiting for a free worker


def _defer(job: Job) -> int:
    """Insert the job on the caller's connection, in whatever transaction or savepoint it is in."""
    return JobDeferrer(_on_callers_connection, job, connection=_driver_connection()).defer(
        **meta())


def meta() -> dict:
    """The job's `META` argument: the current request's id and the time it was queued."""
    return {META: {"request_id": current_request_id(), "queued_at": round(time.time(), 3)}}


def defer_unless_waiting(jobs: procrastinate.App, name: str, *,
                         queueing_lock: str | None = None) -> int | None:
    """Defer the task `name` now, on the job queue's own connections (from inside a task, to call
    in more workers); None when a job with the same queueing lock is already waiting."""
    try:
        return jobs.configure_task(name, queueing_lock=queueing_lock).defer(**meta())
    except exceptions.AlreadyEnqueued:
        return None  # one is already waiting for a free worker


def queue_stats() -> dict[str, dict[str, float]]:
    """Per queue: jobs waiting, running and failed, and how long the oldest job due has waited
    (seconds; from when it was queued: our `META`, a periodic job's tick, or its schedule).
    procrastinate's own `list_queues`/`list_jobs`, on the current session's connection."""
    manager = JobManager(connector=_CallersConnection(_driver_connection()))
    stats = {q["name"]: {"todo": q["todo"], "doing": q["doing"], "failed": q["failed"],
                         "oldest_seconds": 0.0} for q in manager.list_queues()}
    now = time.time()
    for job in manager.list_jobs(status="todo"):
        if job.scheduled_at is not None and job.scheduled_at.timestamp() > now:
            continue  # a retry or a job for later: not waiting yet
        since = _queued_at(job)
        if since is not None and job.queue in stats:
            entry = stats[job.queue]
            entry["oldest_seconds"] = max(entry["oldest_seconds"], round(now - since, 3))
    return stats


def _queued_at(job: Job) -> float | None:
    mine = job.task_kwargs.get(META)
    if isinstance(mine, dict) and isinstance(mine.get("queued_at"), int | float):
        return float(mine["queued_at"])
    if isinstance(job.task_kwargs.get("timestamp"), int):  # a periodic task's tick
        return float(job.task_kwargs["timestamp"])
    return job.scheduled_at.timestamp() if job.scheduled_at else None
