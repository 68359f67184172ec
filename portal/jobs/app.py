"""The procrastinate App of a Flask app: jobs kept in the app's own PostgreSQL database."""

from __future__ import annotations

import threading

import procrastinate
from flask import Flask, current_app
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

EXTENSION = "portal.jobs"
_lock = threading.Lock()

#: Worker settings unless the command line says otherwise. Finished jobs are deleted (a periodic
#: task every few seconds would otherwise grow the table forever); failed ones stay to be looked at.
WORKER_DEFAULTS = {
    "name": "portal",
    "delete_jobs": "successful",
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
    from portal.jobs.tasks import register

    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(app.config["SQLALCHEMY_DATABASE_URI"]),
        min_size=1,
        max_size=int(app.config.get("JOBS_POOL_SIZE", 4)),
        kwargs={"application_name": "portal-jobs"},
    )
    jobs = procrastinate.App(connector=connector, worker_defaults=dict(WORKER_DEFAULTS))
    register(jobs, app)
    return jobs
