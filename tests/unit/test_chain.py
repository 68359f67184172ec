"""The case-event hash chain: any edit, deletion or reordering is detected."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from portal.cases.chain import GENESIS, event_hash, verify


@dataclass(frozen=True)
class Event:
    stream: str
    seq: int
    kind: str
    actor_type: str
    actor_id: str | None
    occurred_at: datetime
    source: str | None
    data: dict
    prev_hash: str
    hash: str


def build(n: int) -> list[Event]:
    events, prev = [], GENESIS
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for i in range(1, n + 1):
        fields = dict(stream="account:1", seq=i, kind="ledger.posted", actor_type="system",
                      actor_id="seed", occurred_at=start + timedelta(minutes=i), source=None,
                      data={"amount_minor": i * 100, "currency": "USD"}, prev_hash=prev)
        h = event_hash(**fields)
        events.append(Event(**fields, hash=h))
        prev = h
    return events


def test_an_untouched_chain_verifies():
    assert verify("account:1", build(5)) is None


def test_the_hash_does_not_depend_on_the_time_zone_of_the_timestamp():
    e = build(1)[0]
    shifted = e.occurred_at.astimezone(datetime.now().astimezone().tzinfo)
    fields = {k: v for k, v in e.__dict__.items() if k != "hash"}
    assert event_hash(**{**fields, "occurred_at": shifted}) == e.hash


@pytest.mark.parametrize(
    ("tamper", "seq", "problem"),
    [
        (lambda ev: ev[:2] + ev[3:], 3, "event missing or out of order"),
        (lambda ev: ev[:2] + [replace(ev[2], data={"amount_minor": 1, "currency": "USD"})]
         + ev[3:], 3, "content changed after it was recorded"),
        (lambda ev: ev[:4], None, None),  # dropping the newest event cannot be seen by links
        (lambda ev: [ev[1], ev[0]] + ev[2:], 1, "event missing or out of order"),
        (lambda ev: ev[:1] + [replace(ev[1], prev_hash=GENESIS)] + ev[2:], 2,
         "link to the previous event does not match"),
    ],
)
def test_tampering_is_detected(tamper, seq, problem):
    result = verify("account:1", tamper(build(5)))
    if problem is None:
        assert result is None
    else:
        assert (result.seq, result.problem) == (seq, problem)
