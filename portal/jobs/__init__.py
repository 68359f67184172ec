"""Background jobs on procrastinate, kept in the same PostgreSQL as everything else.

`portal.jobs.app.job_app(flask_app)` is the procrastinate App of one Flask app; the tasks are in
`portal.jobs.tasks`; `flask --app portal worker` (portal.jobs.cli) runs a worker. Any number of
workers, on any number of machines, share the one database.
"""

from portal.jobs.tasks import request_delivery

__all__ = ["request_delivery"]
