"""The keyed hash chain of case events and the signed exports of its heads: pure functions, so the
writer, the verifier and the migration agree exactly.

Each event's hash is an HMAC-SHA256, under a key kept outside the database (`CASE_CHAIN_KEYS`),
of every column that carries meaning and of its predecessor's hash: someone who can write to the
database but does not hold the key can neither edit, move nor append an event unseen. Deleting the
newest events and rewinding the stream's head together is seen against the latest signed export
of the heads, kept where the database cannot rewrite it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64
#: The hash formula of case events (1: the plain SHA-256 before migration 0013).
EVENT_FORMAT = 2
#: The layout of an export of the heads.
EXPORT_FORMAT = 1
MIN_KEY_BYTES = 32
#: Where the app keeps its ChainKeys (`app.extensions`).
EXTENSION = "portal.chain_keys"


class ChainKeys:
    """The chain's HMAC keys by id: the highest id signs new events and exports, every one
    verifies what it signed (rotation)."""

    def __init__(self, spec: str):
        self._keys: dict[int, bytes] = {}
        for part in (spec or "").split(","):
            kid, _, material = part.strip().partition(":")
            try:
                key_id, raw = int(kid), base64.b64decode(material, validate=True)
            except ValueError:
                raise ValueError("CASE_CHAIN_KEYS must be 'id:base64key,...'") from None
            if not 0 < key_id < 256 or len(raw) < MIN_KEY_BYTES:
                raise ValueError("CASE_CHAIN_KEYS ids must be 1-255 and each key at least "
                                 f"{MIN_KEY_BYTES} bytes (base64)")
            self._keys[key_id] = raw
        self.current = max(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def mac(self, key_id: int, purpose: str, body: bytes) -> str:
        """HMAC-SHA256 of `body` for one purpose (events and exports never share a MAC)."""
        return hmac.new(self._keys[key_id], purpose.encode() + b"\x00" + body,
                        hashlib.sha256).hexdigest()


def canonical(fields: dict) -> bytes:
    """One byte string per content: sorted keys, no spaces, UTF-8."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def event_hash(
    keys: ChainKeys,
    *,
    id: int,
    stream: str,
    seq: int,
    borrower_id: int,
    account_id: int | None,
    kind: str,
    actor_type: str,
    actor_id: str | None,
    occurred_at: datetime,
    source: str | None,
    data: dict,
    key_id: int,
    prev_hash: str,
) -> str:
    """HMAC-SHA256 under key `key_id` of every column of the event and its predecessor's hash."""
    body = canonical({
        "format": EVENT_FORMAT, "id": id, "stream": stream, "seq": seq,
        "borrower_id": borrower_id, "account_id": account_id, "kind": kind,
        "actor_type": actor_type, "actor_id": actor_id, "occurred_at": _utc(occurred_at),
        "source": source, "data": data, "key_id": key_id, "prev_hash": prev_hash,
    })
    return keys.mac(key_id, "case-event", body)


def hash_of(keys: ChainKeys, event, key_id: int | None = None, prev_hash: str | None = None) -> str:
    """`event_hash` of an object with the event's attributes (a row, a CaseEvent)."""
    return event_hash(
        keys, id=event.id, stream=event.stream, seq=event.seq, borrower_id=event.borrower_id,
        account_id=event.account_id, kind=event.kind, actor_type=event.actor_type,
        actor_id=event.actor_id, occurred_at=event.occurred_at, source=event.source,
        data=event.data, key_id=event.key_id if key_id is None else key_id,
        prev_hash=event.prev_hash if prev_hash is None else prev_hash,
    )


def legacy_event_hash(event) -> str:
    """The unkeyed SHA-256 of format 1: only migration 0013 uses it, to check a stream before
    re-keying it (anyone could recompute it, which is why it was replaced)."""
    return hashlib.sha256(canonical({
        "stream": event.stream, "seq": event.seq, "kind": event.kind,
        "actor_type": event.actor_type, "actor_id": event.actor_id,
        "occurred_at": _utc(event.occurred_at), "source": event.source, "data": event.data,
        "prev_hash": event.prev_hash,
    })).hexdigest()


def legacy_intact(events: list, head: tuple[int, str] | None) -> bool:
    """Whether a stream verifies under the format-1 formula and matches its stored head."""
    prev = GENESIS
    for expected_seq, e in enumerate(events, start=1):
        if e.seq != expected_seq or e.prev_hash != prev or legacy_event_hash(e) != e.hash:
            return False
        prev = e.hash
    last = (events[-1].seq, events[-1].hash) if events else (0, GENESIS)
    return head == last


@dataclass(frozen=True)
class ChainBreak:
    """Where a chain stops being trustworthy, and why."""

    stream: str
    seq: int
    problem: str


def verify(stream: str, events: Iterable, keys: ChainKeys) -> ChainBreak | None:
    """Check one stream's events (ordered by seq): numbering, links, keys and hashes."""
    prev = GENESIS
    expected_seq = 1
    for e in events:
        if e.seq != expected_seq:
            return ChainBreak(stream, expected_seq, "event missing or out of order")
        if e.stream != stream:
            return ChainBreak(stream, e.seq, "event filed under another stream")
        if e.prev_hash != prev:
            return ChainBreak(stream, e.seq, "link to the previous event does not match")
        if e.key_id is None:
            return ChainBreak(stream, e.seq, "never keyed: the stream was already broken when "
                                             "the chain was keyed (migration 0013)")
        if e.key_id not in keys:
            return ChainBreak(stream, e.seq, f"signed with chain key {e.key_id}, which is not "
                                             "configured (CASE_CHAIN_KEYS)")
        if not hmac.compare_digest(hash_of(keys, e), e.hash):
            return ChainBreak(stream, e.seq, "content changed after it was recorded, or the "
                                             "event was not written with the chain key")
        prev = e.hash
        expected_seq += 1
    return None


def sign_heads(keys: ChainKeys, exported_at: datetime,
               heads: Mapping[str, tuple[int, str]]) -> dict:
    """An export of every stream's head (seq and hash), signed with the current key."""
    doc = {
        "format": EXPORT_FORMAT,
        "exported_at": _utc(exported_at),
        "key_id": keys.current,
        "streams": {stream: [seq, h] for stream, (seq, h) in sorted(heads.items())},
    }
    return {**doc, "signature": keys.mac(keys.current, "case-heads", canonical(doc))}


def heads_signed(keys: ChainKeys, doc: object) -> bool:
    """Whether an export (parsed JSON) is whole and carries a valid signature of ours."""
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        return False
    key_id, signature = doc.get("key_id"), doc.get("signature")
    if not isinstance(signature, str) or key_id not in keys:
        return False
    body = {k: v for k, v in doc.items() if k != "signature"}
    return hmac.compare_digest(keys.mac(key_id, "case-heads", canonical(body)), signature)


def against_export(stream: str, events: list, exported: tuple[int, str] | None,
                   exported_at: str = "the export") -> tuple[ChainBreak | None, int]:
    """Compare one stream (events ordered by seq) with its head in a signed export: a break when
    events were deleted or rewritten since, and how many events came after it (not yet exported)."""
    last = events[-1].seq if events else 0
    if exported is None:
        return None, last
    seq, expected = exported
    if last < seq:
        return ChainBreak(stream, last + 1, f"events deleted: the record ends at event {last}, "
                                            f"the export of {exported_at} has {seq}"), 0
    at = next((e for e in events if e.seq == seq), None)
    if at is None or not hmac.compare_digest(at.hash, expected):
        return ChainBreak(stream, seq, f"rewritten since the export of {exported_at}: event "
                                       f"{seq} no longer has the exported hash"), 0
    return None, last - seq
