"""Appending to and reading the case record; every service operation calls `record`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert

from portal.cases import chain
from portal.cases.kinds import ACTOR_TYPES, EventKind
from portal.cases.models import CaseEvent, CaseStream
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
    # The head row is locked for the rest of the transaction, so two writers of one stream
    # queue up instead of both claiming the next number.
    db.session.execute(
        insert(CaseStream)
        .values(stream=stream, last_seq=0, last_hash=chain.GENESIS)
        .on_conflict_do_nothing(index_elements=["stream"])
    )
    head = db.session.scalar(
        select(CaseStream).where(CaseStream.stream == stream).with_for_update()
    )
    seq, prev_hash = head.last_seq + 1, head.last_hash
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
    head.last_seq, head.last_hash = seq, event.hash
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
    heads = {h.stream: h for h in db.session.scalars(select(CaseStream))}
    streams = sorted(
        set(heads) | set(db.session.scalars(select(CaseEvent.stream).distinct()))
    )
    breaks = []
    for stream in streams:
        events = list(
            db.session.scalars(
                select(CaseEvent).where(CaseEvent.stream == stream).order_by(CaseEvent.seq)
            )
        )
        problem = chain.verify(stream, events)
        head = heads.get(stream)
        last = (events[-1].seq, events[-1].hash) if events else (0, chain.GENESIS)
        if problem is None and (head is None or (head.last_seq, head.last_hash) != last):
            problem = chain.ChainBreak(stream, last[0] + 1, "newest events missing")
        if problem:
            breaks.append(problem)
    return len(streams), breaks
