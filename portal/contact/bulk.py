"""Many contact decisions at once, answering exactly what `service.decide` answers one at a time.

`service.snapshot` reads one account with two queries and decrypts every contact point. Here a
batch of (account, channel, destination, at) is read with one set-based query (PAIRS_SQL): a row
per (account, instant) with what the rules need of an account that has nothing of its own (its
jurisdiction and time zones, whether `at` is in its validation period) and what it does have
(holds, preferences, opt-outs, recent attempts). Decisions come from `rules.decide` itself, run
on a *canonical* snapshot and memoised: every account that looks the same to the rules shares
one call. Most accounts are decided from that row alone (the first look); the others are read in
full (the second look), by the same query where it guessed they would be, else by three more.
`decide_stream` does this for a stream of any length, the server reading the next batch while
Python decides this one.

Why a canonical snapshot decides exactly what the account's own snapshot decides (the property
test in tests/test_contact_bulk.py checks it against `service.decide` on random accounts):

* Contact point values are compared by the rules only for equality with the destination asked
  about or with an attempt's destination. Values are replaced by tokens with the same equalities,
  found by the keyed digests (`value_digest`, `destination_digest`), so nothing is decrypted
  except, for the Massachusetts overlay only, the destinations of telephone attempts; and only
  the point asked about is kept, where no rule looks up another.
* The snapshot holds attempts at or before `at` and holds started at or before `at`; every
  re-decision for `next_allowed_at` happens later still. So a hold's start never matters, a hold
  not in force at `at` never is again, and with a hold without end in force the answer is the
  holds' reasons then the packs' (`_with_holds`); an attempt matters only through its local day
  in the home zone (its time becomes noon of that day, or `at` if earlier), attempts the packs
  never count are dropped, and under the US rules alone with fewer than seven calls only the last
  conversation counts (see `_Readers`, `_attempts`).
* The validation period only ever limits (it never blocks), so what matters is whether `at`
  falls inside it.

The shortcuts rely on what the pack checks read; a pack with a check not listed in `_Readers`
sends its accounts to `service.decide` itself, so a new rule is never answered wrongly here.
"""

from __future__ import annotations

import gc
import json
import select
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from itertools import count, islice
from typing import NamedTuple

from portal.accounts.validation import PERIOD_DAYS, RECEIPT_BUSINESS_DAYS, period_end
from portal.contact import localtime as lt
from portal.contact import rules
from portal.contact.snapshot import (
    CHANNELS,
    TELEPHONE,
    Attempt,
    ContactPointInfo,
    Hold,
    Preferences,
    Snapshot,
    stored_preferences,
)
from portal.crypto import cipher, lookup_digest
from portal.extensions import db

#: service.ATTEMPT_LOOKBACK, repeated so this module does not import the service at load time.
LOOKBACK = timedelta(days=31)
#: Attempts older than this are never counted by the US and CN call rules (7 local days, plus
#: room for a daylight-saving shift): see `_Readers`.
RECENT = timedelta(hours=192)
US_CALLS = frozenset({rules.us_call_frequency, rules.us_call_after_conversation})
CN_CALLS = frozenset({rules.cn_effective_calls, rules.cn_unanswered_attempts})
MA_CALLS = frozenset({rules.ma_call_frequency})
#: Checks that read neither attempts nor contact point values beyond what the tokens keep.
NO_ATTEMPTS = frozenset({
    rules.us_inconvenient_hours, rules.uk_reasonable_hours, rules.cn_quiet_hours,
    rules.named_times, rules.workplace, rules.opt_out, rules.validation_period,
    rules.time_barred, rules.cn_third_party, rules.cn_private_channels,
})
#: A hold's start, once it is known to be at or before `at` (the rules only ask "started later?").
LONG_AGO = datetime(1, 1, 1, tzinfo=UTC)
NOON = time(12)
#: The token of a destination that equals no contact point and is not the one asked about.
ELSEWHERE = "~"
#: From this many (account, instant) pairs on, a batch's query gets more memory for its joins.
LARGE = 5000
#: Read every account in full, as if each had something of its own (the property test checks
#: the decisions both ways).
FULL_READ = False
DEFAULT_PREFERENCES = Preferences()
NO_POLICY: frozenset[str] = frozenset()


class Ask(NamedTuple):
    """One decision wanted: may we contact this account's borrower so, then?"""

    account_id: int
    channel: str
    destination: str | None
    at: datetime


@dataclass
class Memo:
    """Decisions and look-ups shared across the batches of one bulk request (or one scrub)."""

    decisions: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    digests: dict = field(default_factory=dict)
    days: dict = field(default_factory=dict)
    period_ends: dict = field(default_factory=dict)
    readers: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    preferences: dict = field(default_factory=dict)
    holds: dict = field(default_factory=dict)
    in_force: dict = field(default_factory=dict)
    combined: dict = field(default_factory=dict)
    policies: dict = field(default_factory=dict)

    def size(self) -> int:
        """How much it holds: a caller may start afresh past some size."""
        return sum(len(v) for v in vars(self).values())

    def digest(self, value: str, purpose: str) -> bytes:
        key = (value, purpose)
        found = self.digests.get(key)
        if found is None:
            if len(self.digests) > 100_000:  # destinations are mostly seen once
                self.digests.clear()
            found = self.digests[key] = lookup_digest(value, purpose)
        return found

    def local_day(self, at: datetime, zone: str) -> date:
        key = (at, zone)
        found = self.days.get(key)
        if found is None:
            found = self.days[key] = lt.local(at, zone).date()
        return found

    def period_end(self, sent_on: date) -> date:
        found = self.period_ends.get(sent_on)
        if found is None:
            found = self.period_ends[sent_on] = period_end(sent_on)
        return found


@dataclass(frozen=True)
class _Readers:
    """Which attempts the packs of a jurisdiction may ever count (every version, not just today's).

    us: call attempts of the last RECENT, for a call (US call frequency and conversation);
    cn: call attempts of the local day, for a call; ma: telephone attempts of the whole
    lookback, for a call or a text; unknown: a check this module does not know: ask the service.
    """

    us: bool
    cn: bool
    ma: bool
    unknown: bool


def _readers(memo: Memo, jurisdiction: str, region: str | None) -> _Readers:
    key = (jurisdiction, region)
    found = memo.readers.get(key)
    if found is None:
        keys = [jurisdiction] + ([f"{jurisdiction}-{region}"] if region else [])
        checks = {check for k in keys for pack in rules.PACKS.get(k, [])
                  for _, check in pack.checks}
        found = memo.readers[key] = _Readers(
            us=bool(checks & US_CALLS), cn=bool(checks & CN_CALLS), ma=bool(checks & MA_CALLS),
            unknown=bool(checks - US_CALLS - CN_CALLS - MA_CALLS - NO_ATTEMPTS),
        )
    return found


# --- reading ------------------------------------------------------------------------------------

#: Bits of PAIRS_SQL's `flags`: what an account has of its own, at that instant.
OPTED_OUT, PREFERENCES, HELD = 1, 2, 4
ATTEMPTED, TELEPHONED, CALLED_RECENTLY, CALLED_OFTEN, TALKED_RECENTLY = 8, 16, 32, 64, 128
#: Separate the parts of PAIRS_SQL's `shape` and `holds` (characters no rule, channel, zone,
#: country or state contains).
SEP, RS = "\x1f", "\x1e"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: A notice sent longer ago than this before `at` has a validation period over by then, in any
#: zone: 5 business days fall within 14 calendar days (10 weekdays, at most 2 holidays), then 30
#: days, then a day either way for the local date (tests/test_contact_bulk.py checks it).
SENT_SPAN = timedelta(days=PERIOD_DAYS + 3 * RECEIPT_BUSINESS_DAYS + 2)

#: The (account, instant) pairs asked about, numbered n = 1, 2, ... in the order asked.
ASKED = """
    SELECT q.n, (%(ats)s::timestamptz[])[q.k] AS at, a.id, a.borrower_id, a.creditor_id,
           a.validation_notice_sent_at
    FROM unnest(%(ids)s::int[], %(at_index)s::int[]) WITH ORDINALITY AS q(account_id, k, n)
    JOIN account a ON a.id = q.account_id AND a.id BETWEEN %(lo)s AND %(hi)s
"""
#: The borrowers of the pairs lie in this range (`bounds`, worked out once per batch): a batch
#: read in the order of the accounts (a whole book, say) then reads its own slice of each table,
#: not all of it.
BORROWERS = "{0}.borrower_id BETWEEN (SELECT lo FROM bounds) AND (SELECT hi FROM bounds)"
#: A row per group of pairs that look the same to the first look (`ns`, the pairs' numbers), a
#: row of its own for a pair read in full. What is read: the validation notice's date, where the
#: period may not be over (`SENT_SPAN`); the `shape` (country, state, home zone and
#: every zone, when the borrower has exactly one mailing address with a zone, else NULL: from
#: contact_point_summary, which the database keeps, not from every contact point); the
#: `flags`; the holds (rule, channels, end in microseconds since 1970); the last conversation of
#: the last days; the preferences and the agency's policy switches (JSON). Where the first look
#: will not do (`look`, a guess that errs on the side of reading more), the contact points and
#: attempts too, as JSON. Hash joins for a large batch, index look-ups for a small one.
PAIRS_SQL = f"""
WITH r AS MATERIALIZED ({ASKED}),
bounds AS MATERIALIZED (SELECT min(borrower_id) AS lo, max(borrower_id) AS hi FROM r),
x AS (
    SELECT r.n, r.id, r.borrower_id, r.at,
           CASE WHEN r.validation_notice_sent_at >= r.at - %(sent_span)s
                THEN (r.validation_notice_sent_at AT TIME ZONE 'UTC')::date END AS sent_on,
           CASE WHEN pt.addresses = 1 AND pt.home_zone IS NOT NULL
                THEN concat_ws(%(sep)s, pt.country, coalesce(pt.region, ''), pt.home_zone,
                               array_to_string(pt.zones, ' ')) END AS shape,
           CASE WHEN pt.opted_out THEN 1 ELSE 0 END
           + CASE WHEN pf.borrower_id IS NOT NULL AND NOT (
                 jsonb_typeof(pf.data) = 'object'
                 AND coalesce(pf.data -> 'opted_out_channels', '[]') = '[]'
                 AND coalesce(pf.data -> 'opted_out_points', '[]') = '[]'
                 AND coalesce(pf.data -> 'inconvenient', '[]') = '[]'
                 AND coalesce(pf.data -> 'workplace_prohibited', 'false') IN ('false', 'null'))
             THEN 2 ELSE 0 END
           + CASE WHEN held.holds IS NOT NULL THEN 4 ELSE 0 END
           + CASE WHEN att.any > 0 THEN 8 ELSE 0 END
           + CASE WHEN att.telephone > 0 THEN 16 ELSE 0 END
           + CASE WHEN att.recent_calls > 0 THEN 32 ELSE 0 END
           + CASE WHEN att.recent_calls >= %(often)s THEN 64 ELSE 0 END
           + CASE WHEN att.last_talk IS NOT NULL THEN 128 ELSE 0 END AS flags,
           held.holds, att.last_talk,
           CASE WHEN pf.data <> '{{}}' THEN pf.data::text END AS preferences,
           CASE WHEN ag.contact_policy <> '{{}}' THEN ag.contact_policy::text END AS policy,
           pt.addresses IS DISTINCT FROM 1 OR pt.home_zone IS NULL OR pt.opted_out OR held.ending
           OR (pf.data IS NOT NULL AND (
               jsonb_typeof(pf.data) <> 'object'
               OR coalesce(pf.data -> 'opted_out_points', '[]') <> '[]'
               OR coalesce(pf.data -> 'workplace_prohibited', 'false') NOT IN ('false', 'null')))
           OR att.recent_calls >= %(often)s
           OR (pt.country = 'CN' AND att.recent_calls > 0)
           OR (pt.country = 'US' AND pt.region = 'MA' AND att.telephone > 0)
           AS look
    FROM r
    LEFT JOIN contact_point_summary pt ON pt.borrower_id = r.borrower_id
         AND {BORROWERS.format('pt')}
    LEFT JOIN contact_preferences pf ON pf.borrower_id = r.borrower_id
         AND {BORROWERS.format('pf')}
    LEFT JOIN creditor cr ON cr.id = r.creditor_id
    LEFT JOIN agency ag ON ag.id = cr.agency_id
    LEFT JOIN (
        SELECT r.n, string_agg(
                   concat_ws(%(sep)s, h.rule, coalesce(array_to_string(h.channels, ','), ''),
                             coalesce((extract(epoch FROM coalesce(h.ended_at, h.until))
                                       * 1000000)::bigint::text, '')),
                   %(rs)s ORDER BY h.id) AS holds,
               bool_or(coalesce(h.ended_at, h.until) IS NOT NULL) AS ending
        FROM r JOIN contact_hold h ON h.borrower_id = r.borrower_id
             AND {BORROWERS.format('h')}
             AND (h.account_id IS NULL OR h.account_id = r.id)
             AND h.started_at <= r.at AND (h.ended_at IS NULL OR h.ended_at > r.at)
        GROUP BY r.n
    ) held ON held.n = r.n
    LEFT JOIN (
        SELECT r.n,
               count(*) FILTER (WHERE c.channel = 'call' AND c.at > r.at - %(recent)s)
                   AS recent_calls,
               max(c.at) FILTER (WHERE c.channel = 'call' AND c.outcome = 'conversation'
                                   AND c.at > r.at - %(recent)s) AS last_talk,
               count(*) FILTER (WHERE c.channel IN ('call', 'sms')) AS telephone,
               count(*) AS any
        FROM r JOIN contact_attempt c ON c.account_id = r.id
             AND c.account_id BETWEEN %(lo)s AND %(hi)s
             AND c.at > r.at - %(lookback)s AND c.at <= r.at
        GROUP BY r.n
    ) att ON att.n = r.n
)
SELECT array_agg(x.n) AS ns, x.sent_on, x.shape, x.flags, x.holds, x.last_talk, x.preferences,
       x.policy,
       CASE WHEN x.look THEN (
           SELECT coalesce(json_agg(json_build_array(
                      p.id, p.kind, p.label, encode(p.value_digest, 'hex'), p.time_zones,
                      p.opted_out_at IS NOT NULL, p.country, p.region) ORDER BY p.id), '[]')
           FROM contact_point p WHERE p.borrower_id = min(x.borrower_id))::text END AS points,
       CASE WHEN x.look THEN (
           SELECT coalesce(json_agg(json_build_array(
                      c.channel, c.outcome, (extract(epoch FROM c.at) * 1000000)::bigint,
                      encode(c.destination_digest, 'hex'), encode(c.destination, 'hex'))), '[]')
           FROM contact_attempt c WHERE c.account_id = min(x.id)
                AND c.at > x.at - %(lookback)s AND c.at <= x.at)::text END AS attempts
FROM x
GROUP BY x.at, x.sent_on, x.shape, x.flags, x.holds, x.last_talk, x.preferences, x.policy, x.look,
         CASE WHEN x.look THEN x.n END
"""

#: A second look where PAIRS_SQL did not guess it would be wanted: the same, by query.
POINTS_SQL = f"""
SELECT q.n, p.id, p.kind, p.label, p.value_digest, p.time_zones, p.opted_out_at IS NOT NULL,
       p.country, p.region
FROM ({ASKED}) q JOIN contact_point p ON p.borrower_id = q.borrower_id
ORDER BY q.n, p.id
"""
PREFERENCES_SQL = f"""
SELECT q.n, pf.data FROM ({ASKED}) q JOIN contact_preferences pf ON pf.borrower_id = q.borrower_id
"""
ATTEMPTS_SQL = f"""
SELECT q.n, c.channel, c.outcome, c.at, c.destination_digest, c.destination
FROM ({ASKED}) q JOIN contact_attempt c ON c.account_id = q.id
     AND c.at > q.at - %(lookback)s AND c.at <= q.at
"""


@dataclass(frozen=True)
class _Shape:
    """What PAIRS_SQL's `shape` says: all the rules read of an account with nothing of its own."""

    jurisdiction: str
    region: str | None
    home: str
    zones: tuple[str, ...]  # distinct, the home zone first
    unknown: bool  # its packs have a check this module does not know


def _shape(memo: Memo, text: str) -> _Shape:
    found = memo.shapes.get(text)
    if found is None:
        country, region, home, zones = text.split(SEP)
        # service.jurisdiction_of: the state counts only in the US (and '' is no state).
        region = (region or None) if country == "US" else None
        found = memo.shapes[text] = _Shape(country, region, home, _zones(home, zones.split()),
                                           _readers(memo, country, region).unknown)
    return found


@dataclass
class _Detail:
    """An account at an instant, read in full for a second look. Points are (id, kind, label,
    value digest, zones, opted out, country, region); attempts (channel, outcome, at, destination
    digest, sealed destination); digests and seals as bytes, or hex when read as JSON."""

    sent_on: date | None
    flags: int
    holds: tuple
    preferences: dict
    policy: frozenset[str]
    points: list = field(default_factory=list)
    attempts: list = field(default_factory=list)


def _connection():
    db.session.flush()  # rows written in this transaction through the ORM must be seen
    return db.session.connection().connection.driver_connection


class _Batch:
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
        return self.params()

    def params(self, keys: list[tuple[int, datetime]] | None = None) -> dict:
        """The pairs as query parameters: the ids, and each one's index into the distinct
        instants, as array literals (the fastest way to send a million numbers)."""
        keys = self.keys if keys is None else keys
        instants: dict[datetime, int] = {}
        for _, at in keys:
            instants.setdefault(at, len(instants) + 1)
        if len(instants) == 1:
            at_index = "{" + ",".join(["1"] * len(keys)) + "}"
        else:
            at_index = "{" + ",".join([str(instants[k[1]]) for k in keys]) + "}"
        ids = [k[0] for k in keys]
        return {"ids": "{" + ",".join(map(str, ids)) + "}", "at_index": at_index,
                "lo": min(ids), "hi": max(ids),
                "ats": list(instants), "lookback": LOOKBACK, "sep": SEP, "rs": RS,
                "recent": RECENT, "often": rules.US_CALLS_PER_WEEK, "sent_span": SENT_SPAN}


def _send(connection, batch: _Batch, table: str | None = None):
    """Start PAIRS_SQL for the batch. Into a temporary table, in pipeline mode: the server then
    reads the whole batch while we do something else (a result it streams would stall it)."""
    cursor = connection.cursor(binary=True)
    if table is None:
        cursor.execute(PAIRS_SQL, batch.args)
    else:
        cursor.execute(f"CREATE TEMPORARY TABLE {table} ON COMMIT DROP AS {PAIRS_SQL}",
                       batch.args)
        # The query (a long list of ids) must reach the server whole before it can start.
        while connection.pgconn.flush():
            select.select([], [connection.pgconn.socket], [])
    return cursor


def _receive(cursor, batch: _Batch, table: str | None = None) -> list[tuple]:
    """PAIRS_SQL's rows: every pair of the batch in one of them."""
    if table is not None:
        cursor.execute(f"SELECT * FROM {table}")
    rows = cursor.fetchall()
    if table is not None:
        cursor.execute(f"DROP TABLE {table}")
    cursor.close()
    if sum(len(row[0]) for row in rows) < len(batch.keys):
        found = {n for row in rows for n in row[0]}
        missing = next(k for n, k in enumerate(batch.keys, 1) if n not in found)
        raise LookupError(f"no account with id {missing[0]}")
    return rows


@contextmanager
def _settings(connection, pairs: int, alone: bool = True):
    """More memory for the hash joins of a large batch, for as long as it is read, and hashing
    rather than sorting to group its rows (the planner, blind to how many pairs an array holds,
    sometimes sorts a hundred thousand wide rows to group them, a quarter slower); no JIT (it
    overestimates the query a thousandfold and would compile it for longer than it runs); and,
    when Python works beside the server (`alone` False), one server process, not a parallel plan
    that would take every core."""
    wanted = {"jit": "off"}
    if pairs >= LARGE:
        wanted["work_mem"] = "256MB"
        wanted["enable_sort"] = "off"
    if not alone:
        wanted["max_parallel_workers_per_gather"] = "0"
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["current_setting(%s), set_config(%s, %s, true)"]
                                             * len(wanted)),
                       [v for name, value in wanted.items() for v in (name, name, value)])
        row = cursor.fetchone()
    before = dict(zip(wanted, row[::2], strict=True))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(before)),
                           [v for item in before.items() for v in item])
            cursor.fetchone()


#: Objects allocated between collections of the youngest generation while a stream runs (700 by
#: default): a scrub allocates millions of short-lived tuples, freed by reference counting, and
#: at the default, every few thousand allocations started a collection that walked the memo
#: and the batches again (a third of a million-account scrub's time). Cycles are still collected.
STREAM_GC_THRESHOLD = 100_000
_streams = {"running": 0, "before": None}
_streams_lock = threading.Lock()


@contextmanager
def _fewer_collections():
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


def _preferences_of(memo: Memo, text: str) -> Preferences | None:
    """PAIRS_SQL's preferences, when they can be read without knowing which contact point is
    which (no opted-out points, no workplace): None if they cannot."""
    found = memo.preferences.get(text, False)
    if found is False:
        data = json.loads(text)
        found = None
        if isinstance(data, dict) and not data.get("opted_out_points") \
                and not data.get("workplace_prohibited"):
            found = stored_preferences(data, {})
        memo.preferences[text] = found
    return found


def _holds(memo: Memo, text: str) -> tuple[Hold, ...]:
    """PAIRS_SQL's holds as the service's snapshot has them (its start does not matter)."""
    found = memo.holds.get(text)
    if found is None:
        found = []
        for part in text.split(RS):
            rule, channels, until = part.split(SEP)
            found.append(Hold(rule, LONG_AGO,
                              until=EPOCH + timedelta(microseconds=int(until)) if until else None,
                              channels=frozenset(channels.split(",")) if channels else None))
        found = memo.holds[text] = tuple(found)
    return found


def _policy(memo: Memo, text: str | None) -> frozenset[str]:
    """The agency's policy as the rules read it (`policy.get(rule, True)`): the rules it
    switched off."""
    if text is None:
        return NO_POLICY
    found = memo.policies.get(text)
    if found is None:
        found = memo.policies[text] = frozenset(
            rule for rule, on in json.loads(text).items() if not on)
    return found


def _detail(memo: Memo, row: tuple) -> _Detail:
    """A second look at one pair, from what PAIRS_SQL read of it (points, attempts maybe)."""
    _, sent_on, _, bits, holds, _, preferences, policy, points, attempts = row
    detail = _Detail(sent_on, bits, _holds(memo, holds) if holds else (),
                     json.loads(preferences) if preferences else {}, _policy(memo, policy))
    if points is not None:
        detail.points = json.loads(points)
    if attempts is not None:
        detail.attempts = [(channel, outcome, EPOCH + timedelta(microseconds=at), digest, sealed)
                           for channel, outcome, at, digest, sealed in json.loads(attempts)]
    return detail


def _read_details(connection, batch: _Batch, keys: list, details: list[_Detail]) -> None:
    """Points, preferences and attempts of pairs PAIRS_SQL did not read in full."""
    args = batch.params(keys)
    for detail in details:
        detail.points, detail.attempts = [], []
    with connection.cursor() as cursor:
        cursor.execute(POINTS_SQL, args)
        for n, *point in cursor.fetchall():
            details[n - 1].points.append(point)
        cursor.execute(PREFERENCES_SQL, args)
        for n, data in cursor.fetchall():
            details[n - 1].preferences = data
        if any(d.flags & ATTEMPTED for d in details):
            cursor.execute(ATTEMPTS_SQL, args)
            for n, *attempt in cursor.fetchall():
                details[n - 1].attempts.append(attempt)


# --- deciding -----------------------------------------------------------------------------------


def _token(destination: str | None) -> str | None:
    """The destination asked about, as canonical snapshots name it."""
    if destination is None or destination == "":
        return destination
    return "D"


def _attempts_may_count(readers: _Readers, flags: int, channel: str) -> bool:
    """Could the rules count any of the attempts (see `_Readers`)? From PAIRS_SQL's flags."""
    if not flags & ATTEMPTED:
        return False
    if readers.unknown:
        return True
    if channel == "call" and readers.us and flags & (CALLED_OFTEN | TALKED_RECENTLY):
        return True
    if channel == "call" and readers.cn and flags & CALLED_RECENTLY:
        return True
    return bool(readers.ma and channel in TELEPHONE and flags & TELEPHONED)


def _only_talk_counts(readers: _Readers, flags: int, channel: str) -> bool:
    """US rules only, fewer than seven calls: of the attempts only the last conversation
    matters (its day starts seven days without calls), and PAIRS_SQL has it."""
    return (channel == "call" and readers.us and not (readers.cn or readers.ma or readers.unknown)
            and not flags & CALLED_OFTEN)


def _in_validation(memo: Memo, jurisdiction: str, sent_on: date | None, at: datetime,
                   home: str) -> bool:
    if jurisdiction != "US" or sent_on is None:
        return False
    return memo.local_day(at, home) <= memo.period_end(sent_on)


def _canonical_time(real: datetime, at: datetime, zone: str) -> datetime:
    """An instant on the same local day as `real`, at or before `at`: noon, or `at` if earlier."""
    day = lt.local(real, zone).date()
    noon = lt.at_local(day, NOON, zone)
    if lt.local(noon, zone).date() != day:  # no noon that day: keep the real instant
        return real
    return min(noon, at)


def _zones(home: str, zones) -> tuple[str, ...]:
    """Every zone, the home zone first: what a canonical snapshot's one address carries."""
    return (home, *sorted(set(zones) - {home}))


def _decide(memo: Memo, ask: Ask, jurisdiction: str, region: str | None,
            points: tuple[ContactPointInfo, ...], holds: tuple[Hold, ...] = (),
            preferences: Preferences = DEFAULT_PREFERENCES, attempts: tuple[Attempt, ...] = (),
            in_validation: bool = False, policy: frozenset[str] = NO_POLICY) -> rules.Decision:
    """rules.decide on a canonical snapshot, once per distinct one."""
    asked = _token(ask.destination)
    key = (ask.channel, asked, ask.at, ask.at.utcoffset(), jurisdiction, region, points, holds,
           preferences, attempts, in_validation, policy)
    found = memo.decisions.get(key)
    if found is None:
        snapshot = Snapshot(
            jurisdiction=jurisdiction, region=region, contact_points=points, holds=holds,
            preferences=preferences, attempts=attempts,
            validation_ends=date.max if in_validation else None,
            policy={rule: False for rule in policy},
        )
        found = memo.decisions[key] = rules.decide(snapshot, ask.channel, asked, ask.at)
    return found


def _in_force(memo: Memo, holds: tuple[Hold, ...], ask: Ask) -> tuple[tuple[str, rules.Block], ...]:
    """rules.holds_in_force for these holds (destination-wide: the service never narrows one)."""
    key = (holds, ask.channel, ask.at)
    found = memo.in_force.get(key)
    if found is None:
        found = memo.in_force[key] = tuple(rules.holds_in_force(
            Snapshot("", None, (), holds=holds), rules.Request(ask.channel, None, ask.at)))
    return found


def _with_holds(memo: Memo, in_force: tuple, base: rules.Decision) -> rules.Decision:
    """The decision when a hold without end is in force: blocked, nothing to wait for, the holds'
    reasons first and then what the packs said without them (less what a hold already blocks)."""
    key = (in_force, base)
    found = memo.combined.get(key)
    if found is None:
        held = tuple(rules._reason(rule, block) for rule, block in in_force)
        ruled = {reason.rule for reason in held}
        found = memo.combined[key] = rules.Decision(
            False, held + tuple(r for r in base.reasons if r.rule not in ruled), None)
    return found


def _holds_apart(memo: Memo, ask: Ask, holds: tuple[Hold, ...],
                 policy: frozenset[str]) -> tuple[tuple | None, bool]:
    """(holds in force, or None; whether the canonical snapshot must carry the holds).

    A hold not in force at `at` never is later (it started before `at`, and lifts for good), nor
    is one whose rule the agency switched off; with a hold without end in force,
    `next_allowed_at` is None whatever else blocks. Only holds in force that all end need the
    rules to re-decide with them."""
    if not holds:
        return None, False
    in_force = _in_force(memo, holds, ask)
    if policy:
        in_force = tuple((rule, block) for rule, block in in_force if rule not in policy)
    if not in_force:
        return None, False
    if any(block.until is None for _, block in in_force):
        return in_force, False
    return None, True


def decide_many(asks: Sequence[Ask], memo: Memo | None = None) -> list[rules.Decision]:
    """The decision for each ask, in order: what `service.decide` answers for each, read with a
    few set-based queries for all of them. Pass one Memo to every batch of a long stream.
    An account id that does not exist is a LookupError."""
    memo = Memo() if memo is None else memo
    batch = _Batch(asks)
    if not batch.keys:
        return []
    connection = _connection()
    with _settings(connection, len(batch.keys)):
        rows = _receive(_send(connection, batch), batch)
    return _answer(memo, batch, rows, connection)


def decide_stream(asks: Iterable[Ask], memo: Memo | None = None,
                  size: int = 100_000) -> Iterator[rules.Decision]:
    """decide_many over a stream of any length, `size` asks at a time, in order. While one batch
    is decided here, the server already reads the next: one connection (the session's, so the
    same transaction), in pipeline mode. The batch after that is read from the stream and made
    ready meanwhile, so the server starts on it the moment it is done with one. Memory stays
    flat: one memo, three batches at most."""
    memo = Memo() if memo is None else memo
    asks = iter(asks)

    def take() -> _Batch | None:
        batch = _Batch(list(islice(asks, size)))
        if not batch.keys:
            return None
        batch.args  # noqa: B018 - worked out now, while the server reads another batch
        return batch

    with _fewer_collections():
        batch = take()
        if batch is None:
            return
        connection = _connection()
        tables = (f"bulk_pairs_{id(batch)}_{n}" for n in count())
        with _settings(connection, size, alone=False), connection.pipeline():
            table = next(tables)
            pending = _send(connection, batch, table)
            following = take()
            while batch is not None:
                rows = _receive(pending, batch, table)
                if following is not None:
                    table = next(tables)
                    pending = _send(connection, following, table)
                yield from _answer(memo, batch, rows, connection)
                batch = following
                following = take() if batch is not None else None


def _answer(memo: Memo, batch: _Batch, rows: list[tuple], connection) -> list[rules.Decision]:
    """Each ask's decision: the first look decides a group of pairs that look the same to it at
    once (each kind of ask about them once); a pair with something of its own, or read in full
    by PAIRS_SQL, is decided from everything about it (the second look)."""
    asks, asks_of = batch.asks, batch.asks_of
    answers: list = [None] * len(asks)
    second: list[tuple[int, tuple]] = []  # (ask, its pair's row)
    for row in rows:
        ns = row[0]
        if row[2] is None or row[8] is not None or FULL_READ:  # no shape, or read in full
            for n in ns:
                second.extend((i, row) for i in ((n - 1,) if asks_of is None else asks_of[n - 1]))
            continue
        kinds: dict[tuple, rules.Decision | None] = {}
        for n in ns:
            for i in ((n - 1,) if asks_of is None else asks_of[n - 1]):
                ask = asks[i]
                destination = ask.destination
                kind = (ask.channel, destination is None, destination == "", ask.at.tzinfo)
                decision = kinds.get(kind, ask)
                if decision is ask:
                    decision = kinds[kind] = _first_look(memo, ask, row)
                if decision is None:
                    second.append((i, row))
                else:
                    answers[i] = decision
    if not second:
        return answers

    pair_of = batch.pair_of
    details: dict[int, _Detail] = {}
    unread: list[int] = []
    for i, row in second:
        k = pair_of[i]
        if k not in details:
            details[k] = _detail(memo, row)
            if row[8] is None:  # PAIRS_SQL did not guess: read it now
                unread.append(k)
    if unread:
        _read_details(connection, batch, [batch.keys[k] for k in unread],
                      [details[k] for k in unread])
    for i, _ in second:
        ask = asks[i]
        answers[i] = _own(memo, ask, details[pair_of[i]]) or _service_decide(ask)
    return answers


def _first_look(memo: Memo, ask: Ask, row: tuple) -> rules.Decision | None:
    """The decision for an ask about a pair with nothing of its own that the first look cannot
    read (its row: the shape, flags and what they point to); None: read it in full."""
    _, sent_on, text, bits, holds, last_talk, preferences, policy, _, _ = row
    shape = memo.shapes.get(text) or _shape(memo, text)
    channel, at = ask.channel, ask.at
    attempts, in_force, wanted = (), None, DEFAULT_PREFERENCES
    off = NO_POLICY if policy is None else _policy(memo, policy)
    if bits:
        readers = memo.readers.get((shape.jurisdiction, shape.region)) \
            or _readers(memo, shape.jurisdiction, shape.region)
        if readers.unknown or bits & OPTED_OUT:
            return None
        if bits & PREFERENCES:
            wanted = _preferences_of(memo, preferences)
            if wanted is None:
                return None
        if bits & ATTEMPTED and _attempts_may_count(readers, bits, channel):
            if not _only_talk_counts(readers, bits, channel):
                return None
            attempts = (Attempt("call", ELSEWHERE,
                                _canonical_time(last_talk, at, shape.home), "conversation"),)
        if bits & HELD:
            in_force, carry = _holds_apart(memo, ask, _holds(memo, holds), off)
            if carry:
                return None
    elif shape.unknown:
        return None
    in_validation = False
    if sent_on is not None and shape.jurisdiction == "US":
        vkey = (sent_on, at, shape.home)
        in_validation = memo.validation.get(vkey)
        if in_validation is None:
            in_validation = memo.validation[vkey] = _in_validation(memo, "US", sent_on, at,
                                                                   shape.home)
    destination = ask.destination
    key = (channel, destination is None, destination == "", at, at.utcoffset(), text,
           attempts, wanted is DEFAULT_PREFERENCES or preferences, in_validation, off)
    base = memo.decisions.get(key)
    if base is None:
        base = memo.decisions[key] = _decide(
            memo, ask, shape.jurisdiction, shape.region,
            (ContactPointInfo("address", "", "home", shape.zones),),
            preferences=wanted, attempts=attempts, in_validation=in_validation, policy=off)
    return _with_holds(memo, in_force, base) if in_force else base


def _own(memo: Memo, ask: Ask, detail: _Detail) -> rules.Decision | None:
    """The decision for an account read in full (preferences, opt-outs, attempts that count,
    holds that end, unusual addresses), on its canonical snapshot. None: ask the service."""
    destination, asked = ask.destination, _token(ask.destination)
    # service.jurisdiction_of: the first mailing address decides; none means US.
    address = next((p for p in detail.points if p[1] == "address"), None)
    jurisdiction = address[6] if address else "US"
    region = address[7] if address and jurisdiction == "US" else None
    readers = _readers(memo, jurisdiction, region)
    if readers.unknown:
        return None

    data = detail.preferences
    # Which point the destination asked about is matters only to these rules: a workplace, an
    # opt-out, Massachusetts' count per kind of number. Otherwise no digest is worked out.
    identity = bool(destination) and bool(
        readers.ma or any(p[5] for p in detail.points) or not isinstance(data, dict)
        or data.get("workplace_prohibited") or data.get("opted_out_points"))

    def same(value_digest: bytes, kind: str) -> bool:
        return identity and memo.digest(destination, f"contact_point.{kind}") == value_digest

    points, by_id, tokens = [], {}, []
    for index, (point_id, kind, label, value_digest, zones, opted_out, _, _) in \
            enumerate(detail.points):
        value_digest = _bytes(value_digest)
        token = asked if same(value_digest, kind) else f"v{index}"
        by_id[point_id] = token  # stored_preferences maps opted-out ids to values, any kind
        value = "" if kind == "address" else token
        tokens.append((kind, value_digest, value))
        points.append(ContactPointInfo(kind, value, label, tuple(zones), opted_out))
    real = Snapshot(jurisdiction, region, tuple(points))
    home = rules._home_zone(real)  # where days and the validation period are counted

    attempts = ()
    if detail.attempts and _attempts_may_count(readers, detail.flags, ask.channel):
        attempts = _attempts(ask, detail.attempts, readers, tokens, home, memo)
    preferences = stored_preferences(data, by_id)
    # Only the destination asked about is ever looked up in the opted-out destinations.
    preferences = replace(preferences, opted_out_destinations=frozenset(
        {asked} & preferences.opted_out_destinations))
    if readers.ma and any(a.channel in TELEPHONE for a in attempts):
        canonical = real.contact_points  # attempts are matched with the points' labels
    else:
        # Only the point asked about is ever looked up (for its label and opt-out); the zones
        # count all together, the home zone first.
        matched = real.point(asked)
        canonical = (ContactPointInfo("address", "", "home", _zones(home, real.zones())),) + (
            (ContactPointInfo("phone", asked, matched.label, (), matched.opted_out),)
            if matched else ())
    in_force, carry = _holds_apart(memo, ask, detail.holds, detail.policy)
    in_validation = _in_validation(memo, jurisdiction, detail.sent_on, ask.at, home)
    base = _decide(memo, ask, jurisdiction, region, canonical, detail.holds if carry else (),
                   preferences, attempts, in_validation, detail.policy)
    return _with_holds(memo, in_force, base) if in_force else base


def _attempts(ask: Ask, rows: list, readers: _Readers, tokens: list, zone: str,
              memo: Memo) -> tuple[Attempt, ...]:
    """The attempts the rules may count, with canonical destinations and times, in order.

    Massachusetts counts telephone attempts of the whole lookback (for a call or a text); the US
    rules count call attempts of the last seven local days, the CN rules those of the local day
    (for a call). An attempt none of them can count, at `at` or later, is left out."""
    at, destination, asked = ask.at, ask.destination, _token(ask.destination)
    today = lt.local(at, zone).date()
    telephone = readers.ma and ask.channel in TELEPHONE
    kept = []
    for channel, outcome, when, digest, sealed in rows:
        if not (telephone and channel in TELEPHONE) and not (
                ask.channel == "call" and channel == "call" and when > at - RECENT
                and (readers.us or (readers.cn and lt.local(when, zone).date() == today))):
            continue
        if sealed is None:
            target = None
        elif readers.ma or digest is None or not destination:
            # Compared with contact points too (Massachusetts), or no digest to go by: read it.
            plain = cipher().decrypt(_bytes(sealed), "contact_attempt.destination")
            if destination is not None and plain == destination:
                target = asked
            else:
                target = next((value for kind, point_digest, value in tokens
                               if kind != "address" and plain
                               and memo.digest(plain, f"contact_point.{kind}") == point_digest),
                              ELSEWHERE)
        elif memo.digest(destination, "contact_attempt.destination") == _bytes(digest):
            target = asked
        else:
            target = ELSEWHERE
        kept.append(Attempt(channel, target, _canonical_time(when, at, zone), outcome))
    if readers.us and not (readers.cn or readers.ma):
        calls = [a for a in kept if a.channel == "call"]
        if len(calls) < rules.US_CALLS_PER_WEEK:
            # Fewer than seven calls never reach the weekly limit: only the last conversation
            # still matters, and not where it was held (no US rule asks).
            talks = [a for a in calls if a.outcome == "conversation"]
            kept = [replace(max(talks, key=lambda a: a.at), destination=ELSEWHERE)] \
                if talks else []
    return tuple(sorted(kept, key=lambda a: (a.channel, a.outcome, a.at, a.destination or "",
                                             a.destination is None)))


def _bytes(value) -> bytes:
    """Bytes read as bytea, or as hex in JSON."""
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


def _service_decide(ask: Ask) -> rules.Decision:
    """A pack with a check this module does not know: decide the slow, sure way."""
    from portal.accounts.models import Account
    from portal.contact import service

    return service.decide(db.session.get(Account, ask.account_id), ask.channel,
                          ask.destination, ask.at)
