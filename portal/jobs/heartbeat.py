"""Each running worker's heartbeat, one row per worker process, so `/readyz` can tell a load
balancer whether anything is working the queue (procrastinate's own table is its business)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import DateTime, String, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db

#: How often a worker writes its heartbeat, and how old the newest may be for /readyz.
INTERVAL = timedelta(seconds=15)
FRESH = timedelta(minutes=1)
#: Rows of workers gone this long (killed, their machine gone) are removed by the next beat.
FORGOTTEN = timedelta(days=1)


class WorkerHeartbeat(db.Model):
    """The last time a worker process said it was alive."""

    __tablename__ = "worker_heartbeat"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def this_worker() -> str:
    """The name of this worker process: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def beat(worker: str) -> None:
    """Write `worker`'s heartbeat (its own short transaction: the caller holds none)."""
    now = func.now()
    db.session.execute(insert(WorkerHeartbeat).values(worker=worker, started_at=now, seen_at=now)
                       .on_conflict_do_update(index_elements=[WorkerHeartbeat.worker],
                                              set_={"seen_at": now}))
    db.session.execute(delete(WorkerHeartbeat).where(
        WorkerHeartbeat.seen_at < func.now() - FORGOTTEN))
    db.session.commit()


def stop(worker: str) -> None:
    """Remove `worker`'s heartbeat as it stops cleanly."""
    db.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker))
    db.session.commit()


def latest_age() -> timedelta | None:
    """How long ago the most recent heartbeat of any worker was written (None: never)."""
    seen = db.session.scalar(select(func.now() - func.max(WorkerHeartbeat.seen_at)))
    return seen
