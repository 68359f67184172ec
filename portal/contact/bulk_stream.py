"""Batches of asks through the bulk path: one batch at a time, or a stream of any length with
the server reading the next batch while Python decides this one."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from itertools import count, islice

from portal.contact import bulk_sql, rules
from portal.contact.bulk_looks import detail, first_look, second_look, service_decide
from portal.contact.bulk_sql import Detail, Pair
from portal.contact.canonical import Ask, Memo
from portal.contact.snapshot import CHANNELS

#: Objects allocated between collections of the youngest generation while a stream runs (700 by
#: default): a scrub allocates millions of short-lived tuples, freed by reference counting, and
#: at the default, every few thousand allocations started a collection that walked the memo
#: and the batches again (a third of a million-account scrub's time). Cycles are still collected.
STREAM_GC_THRESHOLD = 100_000
_streams = {"running": 0, "before": None}
_streams_lock = threading.Lock()


class Batch:
    """Asks checked and paired: each distinct (account, instant) is read once."""

    def __init__(self, asks: Sequence[Ask]):
        for ask in asks:
            if ask.channel not in CHANNELS:  # what rules.decide refuses, refused before reading
                raise ValueError(f"unknown channel {ask.channel!r}")
            if ask.at.tzinfo is None:
                raise ValueError("the instant must carry a time zone")
        self.asks = asks
        self.index: dict[tuple[int, datetime], int] = {}
        self.pair_of = [self.index.setdefault((ask.account_id, ask.at), len(self.index))
                        for ask in asks]
        self.keys = list(self.index)
        #: The asks about each pair, where some pair is asked about more than once (else the
        #: i-th pair is the i-th ask's alone).
        self.asks_of: list[list[int]] | None = None
        if len(self.keys) < len(asks):
            self.asks_of = [[] for _ in self.keys]
            for i, k in enumerate(self.pair_of):
                self.asks_of[k].append(i)

    @cached_property
    def args(self) -> dict:
        """The whole batch's parameters, worked out once (ahead of sending, in a stream)."""
        return bulk_sql.params(self.keys)


def decide_many(asks: Sequence[Ask], memo: Memo | None = None, *,
                full_read: bool = False) -> list[rules.Decision | rules.NoRulePack]:
    """The decision for each ask, in order: what `service.decide` answers for each (or the
    NoRulePack it raises, as the answer), read with a
    few set-based queries for all of them. Pass one Memo to every batch of a long stream.
    `full_read` reads every account in full, as if each had something of its own (the property
    test checks the decisions both ways). An account id that does not exist is a LookupError."""
    memo = Memo() if memo is None else memo
    batch = Batch(asks)
    if not batch.keys:
        return []
    conn = bulk_sql.connection()
    with bulk_sql.reading_settings(conn, len(batch.keys)):
        rows = bulk_sql.receive(bulk_sql.send(conn, batch.args), batch.keys)
    return _answer(memo, batch, rows, conn, full_read)


def decide_stream(asks: Iterable[Ask], memo: Memo | None = None, size: int = 100_000, *,
                  full_read: bool = False) -> Iterator[rules.Decision]:
    """decide_many over a stream of any length, `size` asks at a time, in order. While one batch
    is decided here, the server already reads the next: one connection (the session's, so the
    same transaction), in pipeline mode. The batch after that is read from the stream and made
    ready meanwhile, so the server starts on it the moment it is done with one. Memory stays
    flat: one memo, three batches at most."""
    memo = Memo() if memo is None else memo
    asks = iter(asks)

    def take() -> Batch | None:
        batch = Batch(list(islice(asks, size)))
        if not batch.keys:
            return None
        batch.args  # noqa: B018 - worked out now, while the server reads another batch
        return batch

    with fewer_collections():
        batch = take()
        if batch is None:
            return
        conn = bulk_sql.connection()
        tables = (f"bulk_pairs_{id(batch)}_{n}" for n in count())
        with bulk_sql.reading_settings(conn, size, alone=False), conn.pipeline():
            table = next(tables)
            pending = bulk_sql.send(conn, batch.args, table)
            following = take()
            while batch is not None:
                rows = bulk_sql.receive(pending, batch.keys, table)
                if following is not None:
                    table = next(tables)
                    pending = bulk_sql.send(conn, following.args, table)
                yield from _answer(memo, batch, rows, conn, full_read)
                batch = following
                following = take() if batch is not None else None


def _answer(memo: Memo, batch: Batch, rows: list[Pair], conn,
            full_read: bool) -> list[rules.Decision]:
    """Each ask's decision: the first look decides a group of pairs that look the same to it at
    once (each kind of ask about them once); a pair with something of its own, or read in full
    by PAIRS_SQL, is decided from everything about it (the second look)."""
    asks, asks_of = batch.asks, batch.asks_of
    answers: list = [None] * len(asks)
    second: list[tuple[int, Pair]] = []  # (ask, its pair's row)
    for row in rows:
        ns = row.ns
        if row.shape is None or row.points is not None or full_read:  # no shape, or read in full
            for n in ns:
                second.extend((i, row) for i in ((n - 1,) if asks_of is None else asks_of[n - 1]))
            continue
        kinds: dict[tuple, rules.Decision | None] = {}
        for n in ns:
            for i in ((n - 1,) if asks_of is None else asks_of[n - 1]):
                ask = asks[i]
                if ask.purpose is not None:  # the second look hands it to the service
                    second.append((i, row))
                    continue
                destination = ask.destination
                kind = (ask.channel, destination is None, destination == "", ask.at.tzinfo)
                decision = kinds.get(kind, ask)
                if decision is ask:
                    decision = kinds[kind] = _or_refusal(first_look, memo, ask, row)
                if decision is None:
                    second.append((i, row))
                else:
                    answers[i] = decision
    if not second:
        return answers

    pair_of = batch.pair_of
    details: dict[int, Detail] = {}
    unread: list[int] = []
    for i, row in second:
        k = pair_of[i]
        if k not in details:
            details[k] = detail(memo, row)
            if row.points is None:  # PAIRS_SQL did not guess: read it now
                unread.append(k)
    if unread:
        bulk_sql.read_details(conn, [batch.keys[k] for k in unread],
                              [details[k] for k in unread])
    for i, _ in second:
        ask = asks[i]
        answers[i] = (_or_refusal(second_look, memo, ask, details[pair_of[i]])
                      or _or_refusal(service_decide, ask))
    return answers


def _or_refusal(look, *args):
    """A look's decision, or the NoRulePack refusal as the answer (one ask refused, not the
    batch: as the single decision refuses it)."""
    try:
        return look(*args)
    except rules.NoRulePack as refusal:
        return refusal


@contextmanager
def fewer_collections():
    """Collect cyclic garbage less often while any stream runs in this process (the setting is
    the process's: the first stream in raises it, the last one out puts it back)."""
    with _streams_lock:
        if _streams["running"] == 0:
            _streams["before"] = gc.get_threshold()
            gc.set_threshold(max(STREAM_GC_THRESHOLD, _streams["before"][0]),
                             *_streams["before"][1:])
        _streams["running"] += 1
    try:
        yield
    finally:
        with _streams_lock:
            _streams["running"] -= 1
            if _streams["running"] == 0:
                gc.set_threshold(*_streams["before"])
