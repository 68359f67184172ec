"""The hash chain of case events: pure functions, so the verifier and the writer agree exactly."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64


def canonical(fields: dict) -> bytes:
    """One byte string per event content: sorted keys, no spaces, UTF-8."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(
    *,
    stream: str,
    seq: int,
    kind: str,
    actor_type: str,
    actor_id: str | None,
    occurred_at: datetime,
    source: str | None,
    data: dict,
    prev_hash: str,
) -> str:
    """SHA-256 over the event's content and its predecessor's hash."""
    body = canonical(
        {
            "stream": stream,
            "seq": seq,
            "kind": kind,
            "actor_type": actor_type,
            "actor_id": actor_id,
            "occurred_at": occurred_at.astimezone(UTC).isoformat(),
            "source": source,
            "data": data,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """Where a chain stops being trustworthy, and why."""

    stream: str
    seq: int
    problem: str


def verify(stream: str, events) -> ChainBreak | None:
    """Check one stream's events (ordered by seq): numbering, links and hashes."""
    prev = GENESIS
    expected_seq = 1
    for e in events:
        if e.seq != expected_seq:
            return ChainBreak(stream, expected_seq, "event missing or out of order")
        if e.prev_hash != prev:
            return ChainBreak(stream, e.seq, "link to the previous event does not match")
        recomputed = event_hash(
            stream=e.stream,
            seq=e.seq,
            kind=e.kind,
            actor_type=e.actor_type,
            actor_id=e.actor_id,
            occurred_at=e.occurred_at,
            source=e.source,
            data=e.data,
            prev_hash=e.prev_hash,
        )
        if recomputed != e.hash:
            return ChainBreak(stream, e.seq, "content changed after it was recorded")
        prev = e.hash
        expected_seq += 1
    return None
