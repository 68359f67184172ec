"""Appending to and reading the case record; every service operation calls `record`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from portal.bulk import insert_rows
from portal.cases import chain, heads
from portal.cases.kinds import ACTOR_TYPES, EventKind
from portal.cases.models import CaseEvent, CaseStream
from portal.extensions import db
from portal.operations import reading


def chain_keys() -> chain.ChainKeys:
    """The app's chain keys (built from CASE_CHAIN_KEYS by the app factory)."""
    return current_app.extensions[chain.EXTENSION]


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
    # queue up instead of both claiming the next number; read afresh, as it is when locked.
    # The event's id is part of what the hash binds, so it is drawn in the same statement,
    # once the lock is held (outside the locking CTE), as the stream's events are written.
    locked = aliased(CaseStream, select(CaseStream).where(CaseStream.stream == stream)
                     .with_for_update().cte("head"))
    lock = (select(locked, func.nextval("case_event_id_seq"))
            .execution_options(populate_existing=True))
    row = db.session.execute(lock).first()
    if row is None:  # the stream's first event
        db.session.execute(
            insert(CaseStream)
            .values(stream=stream, last_seq=0, last_hash=chain.GENESIS)
            .on_conflict_do_nothing(index_elements=["stream"])
        )
        row = db.session.execute(lock).first()
    head, event_id = row
    seq, prev_hash = head.last_seq + 1, head.last_hash
    occurred_at = (at or datetime.now(UTC)).astimezone(UTC)
    keys = chain_keys()
    event = CaseEvent(
        id=event_id,
        stream=stream,
        seq=seq,
        borrower_id=borrower_id,
        account_id=account_id,
        kind=str(kind),
        actor_type=actor.type,
        actor_id=actor.id,
        occurred_at=occurred_at,
        source=actor.source,
        data=data or {},
        key_id=keys.current,
        prev_hash=prev_hash,
    )
    event.hash = chain.hash_of(keys, event)
    db.session.add(event)
    head.last_seq, head.last_hash = seq, event.hash
    db.session.flush()
    return event


@dataclass(frozen=True)
class Pending:
    """One event for `record_many`: what `record` takes, but the actor and time."""

    kind: EventKind
    borrower_id: int
    account_id: int | None = None
    data: dict | None = None


_NEW_STREAMS = ("INSERT INTO case_stream (stream, last_seq, last_hash)"
                " SELECT s, 0, %(genesis)s FROM unnest(%(streams)s::text[]) AS s"
                " ON CONFLICT (stream) DO NOTHING")
_LOCK_STREAMS = ("SELECT stream, last_seq, last_hash FROM case_stream"
                 " WHERE stream = ANY(%(streams)s::text[]) ORDER BY stream FOR UPDATE")
_MOVE_HEADS = ("UPDATE case_stream c SET last_seq = u.seq, last_hash = u.hash"
               " FROM unnest(%(streams)s::text[], %(seqs)s::int[], %(hashes)s::text[])"
               " AS u(stream, seq, hash) WHERE c.stream = u.stream")


def record_many(actor: Actor, events: list[Pending], at: datetime | None = None) -> list[int]:
    """Append many events at once (a placement file's chunk), each to its stream's chain in the
    order given, inside the caller's transaction: the same rows `record` would write one by one,
    in a handful of statements. Returns the events' ids, in order."""
    if not events:
        return []
    occurred_at = (at or datetime.now(UTC)).astimezone(UTC)
    names = [stream_of(e.borrower_id, e.account_id) for e in events]
    streams = sorted(set(names))
    # Plain SQL over arrays: one statement whatever the number of streams (a VALUES list or an
    # executemany of a thousand streams cost more than the database's work).
    connection = db.session.connection()
    connection.exec_driver_sql(_NEW_STREAMS, {"streams": streams, "genesis": chain.GENESIS})
    # Locked in one order (by name), so two writers of overlapping streams never deadlock.
    heads_now = {stream: [seq, last] for stream, seq, last in connection.exec_driver_sql(
        _LOCK_STREAMS, {"streams": streams})}
    ids = db.session.scalars(select(func.nextval("case_event_id_seq"))
                             .select_from(func.generate_series(1, len(events)))).all()
    keys = chain_keys()
    rows = []
    for event_id, stream, e in zip(ids, names, events, strict=True):
        head = heads_now[stream]
        row = {"id": event_id, "stream": stream, "seq": head[0] + 1,
               "borrower_id": e.borrower_id, "account_id": e.account_id, "kind": str(e.kind),
               "actor_type": actor.type, "actor_id": actor.id, "occurred_at": occurred_at,
               "source": actor.source, "data": e.data or {}, "key_id": keys.current,
               "prev_hash": head[1]}
        row["hash"] = chain.event_hash(keys, **{k: v for k, v in row.items()})
        head[0], head[1] = row["seq"], row["hash"]
        rows.append(row)
    insert_rows(CaseEvent.__table__, rows)
    connection.exec_driver_sql(_MOVE_HEADS, {
        "streams": list(heads_now), "seqs": [v[0] for v in heads_now.values()],
        "hashes": [v[1] for v in heads_now.values()]})
    return list(ids)


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


@dataclass(frozen=True)
class Verification:
    """What `cases verify` found: chains checked, breaks, and the export compared with."""

    checked: int
    breaks: list[chain.ChainBreak]
    #: The export compared with (None: there is none yet), and exports whose signature failed.
    export: heads.Export | None
    bad_exports: list[str]
    #: Events recorded after that export: expected, not a failure.
    not_yet_exported: int


def verify_all() -> Verification:
    """Check every stream with the chain keys, and against the latest signed export of heads."""
    keys = chain_keys()
    export, bad_exports = heads.latest(keys)
    exported = export.streams if export else {}
    with reading("cases.verify_all"):
        stored = {h.stream: (h.last_seq, h.last_hash) for h in db.session.scalars(
            select(CaseStream))}
        streams = sorted(set(stored) | set(exported) | set(
            db.session.scalars(select(CaseEvent.stream).distinct())))
        breaks, pending = [], 0
        for stream in streams:
            events = list(db.session.scalars(
                select(CaseEvent).where(CaseEvent.stream == stream).order_by(CaseEvent.seq)))
            problem = chain.verify(stream, events, keys)
            last = (events[-1].seq, events[-1].hash) if events else (0, chain.GENESIS)
            if problem is None and stored.get(stream) != last:
                problem = chain.ChainBreak(stream, last[0] + 1, "newest events missing")
            if export is not None:
                behind, after = chain.against_export(stream, events, exported.get(stream),
                                                     export.exported_at)
                problem = problem or behind
                pending += after
            if problem:
                breaks.append(problem)
    return Verification(len(streams), breaks, export, bad_exports, pending)


def export_heads() -> heads.Export:
    """Write every stream's head, signed, to a new file of the export directory."""
    keys = chain_keys()
    with reading("cases.export_heads"):
        # One statement, so one snapshot of every head.
        rows = db.session.execute(select(CaseStream.stream, CaseStream.last_seq,
                                         CaseStream.last_hash)).all()
        now = db.session.scalar(select(func.now()))
    return heads.write(keys, now, {stream: (seq, h) for stream, seq, h in rows})
