"""Background jobs on procrastinate, kept in the same PostgreSQL as everything else.

`portal.jobs.queue` is the job queue: `job_app(flask_app)`, the procrastinate App of one Flask app,
and the helpers that defer a task by name inside the caller's transaction. It imports nothing of
the domain: each capability defines its tasks in its own `tasks.py`, and `portal.worker` lists
them and runs a worker (`flask --app portal worker`). Any number of workers, on any number of
machines, share the one database.
"""
