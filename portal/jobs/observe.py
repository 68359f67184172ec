"""One log line per job (task, id, outcome, duration, the request that queued it), written by a
procrastinate worker middleware that also takes our `META` argument off before the task runs."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from portal.logs import bind_request_id, unbind_request_id

if TYPE_CHECKING:
    from procrastinate import JobContext
    from procrastinate.middleware import AsyncCallNext
    from procrastinate.worker import Worker

#: The keyword argument of ours on every job we defer (`portal.jobs.queue.meta`).
META = "_portal"
logger = logging.getLogger("portal.jobs")


def take_meta(kwargs: dict) -> dict:
    """Remove and return the job's META argument (empty for jobs deferred without one)."""
    found = kwargs.pop(META, None)
    return found if isinstance(found, dict) else {}


async def log_job(call_next: AsyncCallNext, context: JobContext, worker: Worker) -> Any:
    """Run the job with its request id bound, then log how it went."""
    job = context.job
    meta = take_meta(job.task_kwargs)
    request_id = meta.get("request_id") if isinstance(meta.get("request_id"), str) else None
    token = bind_request_id(request_id)
    started = time.monotonic()
    outcome = "failed"
    try:
        result = await call_next()
        outcome = "succeeded"
        return result
    except BaseException as error:
        outcome = "aborted" if type(error).__name__ in ("JobAborted", "CancelledError") \
            else "failed"
        raise
    finally:
        logger.info("job %s", outcome, extra={
            "event": "job", "task": job.task_name, "job_id": job.id, "queue": job.queue,
            "outcome": outcome, "attempts": job.attempts, "request_id": request_id,
            "duration_ms": round((time.monotonic() - started) * 1000, 1)})
        unbind_request_id(token)
