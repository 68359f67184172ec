"""The case-event chain: keyed with HMAC over every column, so any edit, move, forgery, deletion or
reordering is detected, across a key rotation; signed exports of the heads (issue 12)."""

import base64
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from portal.cases.chain import (
    GENESIS,
    ChainBreak,
    ChainKeys,
    against_export,
    hash_of,
    heads_signed,
    legacy_event_hash,
    legacy_intact,
    sign_heads,
    verify,
)

KEY_1 = "1:" + base64.b64encode(b"1" * 32).decode()
KEY_2 = "2:" + base64.b64encode(b"2" * 32).decode()
KEYS = ChainKeys(KEY_1)
ROTATED = ChainKeys(f"{KEY_2},{KEY_1}")
OTHER = ChainKeys("1:" + base64.b64encode(b"x" * 32).decode())


@dataclass(frozen=True)
class Event:
    id: int
    stream: str
    seq: int
    borrower_id: int
    account_id: int | None
    kind: str
    actor_type: str
    actor_id: str | None
    occurred_at: datetime
    source: str | None
    data: dict
    key_id: int | None
    prev_hash: str
    hash: str = ""


def build(n: int, keys: ChainKeys = KEYS, start: list[Event] | None = None) -> list[Event]:
    """n events of account 1's stream (after `start`), each signed with keys' current key."""
    events = list(start or [])
    prev = events[-1].hash if events else GENESIS
    when = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for i in range(len(events) + 1, len(events) + n + 1):
        e = Event(id=100 + i, stream="account:1", seq=i, borrower_id=7, account_id=1,
                  kind="ledger.posted", actor_type="system", actor_id="seed",
                  occurred_at=when + timedelta(minutes=i), source=None,
                  data={"amount_minor": i * 100, "currency": "USD"}, key_id=keys.current,
                  prev_hash=prev)
        e = replace(e, hash=hash_of(keys, e))
        events.append(e)
        prev = e.hash
    return events


def resigned_legacy(events: list[Event]) -> list[Event]:
    """What a database writer can do without the key: recompute the plain SHA-256 chain."""
    out, prev = [], GENESIS
    for e in events:
        e = replace(e, prev_hash=prev)
        e = replace(e, hash=legacy_event_hash(e))
        out.append(e)
        prev = e.hash
    return out


def forged(last: Event) -> Event:
    """An event appended after `last` by a writer without the key (the old formula's hash)."""
    e = replace(last, id=last.id + 1, seq=last.seq + 1, data={"amount_minor": -10_000},
                prev_hash=last.hash)
    return replace(e, hash=legacy_event_hash(e))


def test_an_untouched_chain_verifies():
    assert verify("account:1", build(5), KEYS) is None


def test_the_hash_does_not_depend_on_the_time_zone_of_the_timestamp():
    e = build(1)[0]
    shifted = e.occurred_at.astimezone(datetime.now().astimezone().tzinfo)
    assert hash_of(KEYS, replace(e, occurred_at=shifted)) == e.hash


CHANGED = "content changed after it was recorded, or the event was not written with the chain key"


def _edit(i: int, **changes):
    return lambda ev: ev[:i] + [replace(ev[i], **changes)] + ev[i + 1:]


@pytest.mark.parametrize(
    ("tamper", "seq", "problem"),
    [
        (lambda ev: ev[:2] + ev[3:], 3, "event missing or out of order"),
        (_edit(2, data={"amount_minor": 1, "currency": "USD"}), 3, CHANGED),
        # Every column that carries meaning is bound, the ids first (an event moved elsewhere).
        (_edit(2, account_id=2), 3, CHANGED),
        (_edit(2, borrower_id=8), 3, CHANGED),
        (_edit(2, id=999), 3, CHANGED),
        (_edit(2, kind="ledger.reversed"), 3, CHANGED),
        (_edit(2, actor_type="staff"), 3, CHANGED),
        (_edit(2, actor_id="agent"), 3, CHANGED),
        (_edit(2, source="10.0.0.1"), 3, CHANGED),
        (_edit(2, occurred_at=datetime(2026, 1, 1, tzinfo=UTC)), 3, CHANGED),
        (_edit(2, stream="account:2"), 3, "event filed under another stream"),
        (_edit(2, key_id=None), 3, "never keyed: the stream was already broken when the chain "
                                   "was keyed (migration 0013)"),
        (_edit(2, key_id=9), 3, "signed with chain key 9, which is not configured "
                                "(CASE_CHAIN_KEYS)"),
        (lambda ev: ev[:4], None, None),  # dropping the newest event: seen by the head, export
        (lambda ev: [ev[1], ev[0]] + ev[2:], 1, "event missing or out of order"),
        (_edit(1, prev_hash=GENESIS), 2, "link to the previous event does not match"),
        # A writer without the key recomputes the whole chain with the old plain SHA-256.
        (lambda ev: resigned_legacy(ev[:2] + [replace(ev[2], data={"amount_minor": 1})] + ev[3:]),
         1, CHANGED),
        # ...or appends a forged event whose hash is the old formula's.
        (lambda ev: ev + [forged(ev[-1])], 6, CHANGED),
        # ...or signs with a key of their own.
        (lambda ev: build(5, OTHER), 1, CHANGED),
    ],
)
def test_tampering_is_detected(tamper, seq, problem):
    result = verify("account:1", tamper(build(5)), KEYS)
    if problem is None:
        assert result is None
    else:
        assert result == ChainBreak("account:1", seq, problem)


def test_a_chain_verifies_across_a_rotation_and_new_events_use_the_highest_key():
    events = build(3, KEYS)
    events = build(2, ROTATED, start=events)
    assert [e.key_id for e in events] == [1, 1, 1, 2, 2]
    assert verify("account:1", events, ROTATED) is None
    # Without the old key the old events cannot be checked: said, not passed.
    assert verify("account:1", events, ChainKeys(KEY_2)).problem.startswith(
        "signed with chain key 1")


@pytest.mark.parametrize(("spec", "ok"), [
    (KEY_1, True),
    (f"{KEY_2}, {KEY_1}", True),
    ("", False),
    ("1:" + base64.b64encode(b"short").decode(), False),
    ("0:" + base64.b64encode(b"k" * 32).decode(), False),
    ("256:" + base64.b64encode(b"k" * 32).decode(), False),
    ("one:" + base64.b64encode(b"k" * 32).decode(), False),
    ("1:not base64!", False),
])
def test_keys_are_parsed_or_refused(spec, ok):
    if ok:
        assert ChainKeys(spec).current in (1, 2)
    else:
        with pytest.raises(ValueError, match="CASE_CHAIN_KEYS"):
            ChainKeys(spec)


@pytest.mark.parametrize(("events", "head", "intact"), [
    (resigned_legacy(build(3)), "last", True),
    (resigned_legacy(build(3)), (2, "x"), False),
    ([], (0, GENESIS), True),
    (resigned_legacy(build(3))[:1] + [replace(resigned_legacy(build(3))[1], data={})], "last",
     False),
    (build(3), "last", False),  # keyed hashes are not the legacy formula
])
def test_the_migration_rekeys_only_streams_intact_under_the_legacy_formula(events, head, intact):
    head = (events[-1].seq, events[-1].hash) if head == "last" else head
    assert legacy_intact(events, head) is intact


AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def test_an_export_is_signed_and_any_change_to_it_is_seen():
    doc = sign_heads(KEYS, AT, {"account:1": (5, "a" * 64), "borrower:7": (2, "b" * 64)})
    assert heads_signed(KEYS, doc)
    assert heads_signed(ROTATED, doc)  # an old export still verifies after a rotation
    tampered = [
        {**doc, "streams": {**doc["streams"], "account:1": [4, "a" * 64]}},
        {**doc, "streams": {"borrower:7": [2, "b" * 64]}},
        {**doc, "exported_at": "2026-11-03T00:00:00+00:00"},
        {**doc, "key_id": 2},
        {**doc, "signature": "0" * 64},
        {k: v for k, v in doc.items() if k != "signature"},
        {**doc, "format": 2},
        [doc],
        None,
    ]
    assert [heads_signed(KEYS, t) for t in tampered] == [False] * len(tampered)
    assert not heads_signed(OTHER, doc)


EVENTS = build(5)


@pytest.mark.parametrize(("events", "exported", "problem", "seq", "pending"), [
    (EVENTS, (5, EVENTS[4].hash), None, None, 0),
    (EVENTS, (3, EVENTS[2].hash), None, None, 2),  # two events since: not yet exported
    (EVENTS, None, None, None, 5),  # a stream born after the export
    (EVENTS[:3], (5, EVENTS[4].hash), "events deleted: the record ends at event 3, the export "
                                      "of T has 5", 4, 0),
    ([], (5, EVENTS[4].hash), "events deleted: the record ends at event 0, the export of T "
                              "has 5", 1, 0),
    (build(5, OTHER), (3, EVENTS[2].hash), "rewritten since the export of T: event 3 no "
                                           "longer has the exported hash", 3, 0),
])
def test_a_stream_is_compared_with_its_exported_head(events, exported, problem, seq, pending):
    found, after = against_export("account:1", events, exported, "T")
    assert (found, after) == (ChainBreak("account:1", seq, problem) if problem else None, pending)
