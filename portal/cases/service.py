"""Appending to and reading the case record; every service operation calls `record`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select

from portal.cases import chain
from portal.cases.kinds import ACTOR_TYPES, EventKind
from portal.cases.models import CaseEvent
from portal.extensions import db


@dataclass(frozen=True)
class Actor:
    """Who did something, and from where (a client address, a job name, a partner key id)."""

    type: str
    id: str | None
    source: str | None = None

    def __post_init__(self):
        if self.type not in ACTOR_TYPES:
            raise ValueError(f"unknown actor type {self.type!r}")

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls("system", name, None)


def stream_of(borrower_id: int, account_id: int | None) -> str:
    return f"account:{account_id}" if account_id is not None else f"borrower:{borrower_id}"


def record(
    actor: Actor,
    kind: EventKind,
    *,
    borrower_id: int,
    account_id: int | None = None,
    data: dict | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    """Append one event to its stream's chain inside the caller's transaction."""
    stream = stream_of(borrower_id, account_id)
    # Serialise writers of one stream so two requests cannot both claim the next number.
    db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(stream))))
    last = db.session.execute(
        select(CaseEvent.seq, CaseEvent.hash)
        .where(CaseEvent.stream == stream)
        .order_by(CaseEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, chain.GENESIS)
    occurred_at = (at or datetime.now(UTC)).astimezone(UTC)
    payload = data or {}
    event = CaseEvent(
        stream=stream,
        seq=seq,
        borrower_id=borrower_id,
        account_id=account_id,
        kind=str(kind),
        actor_type=actor.type,
        actor_id=actor.id,
        occurred_at=occurred_at,
        source=actor.source,
        data=payload,
        prev_hash=prev_hash,
        hash=chain.event_hash(
            stream=stream,
            seq=seq,
            kind=str(kind),
            actor_type=actor.type,
            actor_id=actor.id,
            occurred_at=occurred_at,
            source=actor.source,
            data=payload,
            prev_hash=prev_hash,
        ),
    )
    db.session.add(event)
    db.session.flush()
    return event


def history(borrower_id: int, account_id: int | None = None, limit: int = 200) -> list[CaseEvent]:
    """An account's events with the borrower's own (sign-ins), newest first."""
    streams = [stream_of(borrower_id, None)]
    if account_id is not None:
        streams.append(stream_of(borrower_id, account_id))
    query = (
        select(CaseEvent)
        .where(or_(*(CaseEvent.stream == s for s in streams)))
        .order_by(CaseEvent.occurred_at.desc(), CaseEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def verify_all() -> tuple[int, list[chain.ChainBreak]]:
    """Check every stream: how many were checked, and each break found."""
    streams = list(
        db.session.scalars(select(CaseEvent.stream).distinct().order_by(CaseEvent.stream))
    )
    breaks = []
    for stream in streams:
        events = db.session.scalars(
            select(CaseEvent).where(CaseEvent.stream == stream).order_by(CaseEvent.seq)
        )
        problem = chain.verify(stream, events)
        if problem:
            breaks.append(problem)
    return len(streams), breaks
